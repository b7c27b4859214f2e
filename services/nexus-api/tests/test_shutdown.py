"""Graceful shutdown of the real server process: on SIGTERM it stops accepting connections, lets the request
in flight finish (here one held up by a table lock), then exits 0. Its stdout is JSON lines throughout."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest

from nexus_api.localservers import PostgresServer, RedisServer, free_port


@pytest.fixture
def server(
    tmp_path: Path, env_for: Callable[..., dict[str, str]], database: str, redis_server: RedisServer
) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEXUS_API_")}
    env.update(
        env_for(database, redis_server.url, host="127.0.0.1", port=str(port), shutdown_timeout_seconds="20")
    )
    log_path = tmp_path / "stdout.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "nexus_api"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, log_path.read_text()
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server not ready in 30 s:\n" + log_path.read_text()
            time.sleep(0.1)
        yield proc, base, log_path
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def refuses_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except OSError:
        return True


def test_sigterm_drains_the_request_in_flight(
    server: tuple[subprocess.Popen[bytes], str, Path], pg: PostgresServer, database: str,
    unique: Callable[[str], str],
) -> None:  # fmt: skip
    proc, base, log_path = server
    port = int(base.rsplit(":", 1)[1])
    record_id = unique("drain")
    # lock_timeout: should anything else hold the table, fail here rather than wait for ever.
    with psycopg.connect(database, options="-c lock_timeout=10s") as blocker, ThreadPoolExecutor(1) as pool:
        # Hold the table so the write blocks inside the server: a slow request, for real.
        blocker.execute("LOCK TABLE records IN ACCESS EXCLUSIVE MODE")
        pending = pool.submit(
            httpx.put,
            f"{base}/api/v1/records/{record_id}",
            json={"data": {"drained": True}},
            headers={"X-Request-ID": "drain-test-1"},
            timeout=30,
        )
        deadline = time.monotonic() + 10
        while not pg.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'nexus-api-us-east-1' "
            "AND wait_event_type = 'Lock'",
            "nexus",
        )[0][0]:
            assert time.monotonic() < deadline, "the write never reached the lock"
            time.sleep(0.05)

        proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while not refuses_connections(port):
            assert time.monotonic() < deadline, "still accepting connections 10 s after SIGTERM"
            time.sleep(0.05)
        time.sleep(0.5)
        assert not pending.done(), "the in-flight request ended before its lock was released"
        assert proc.poll() is None, "the server exited with a request in flight"

        blocker.rollback()  # release the lock: the request can finish
        response = pending.result(timeout=30)

    assert response.status_code == 201
    assert response.json()["id"] == record_id
    assert proc.wait(timeout=30) == 0
    assert pg.execute(f"SELECT count(*) FROM records WHERE id = '{record_id}'", "nexus") == [(1,)]

    entries = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    messages = [entry["msg"] for entry in entries]
    access = [e for e in entries if e.get("request_id") == "drain-test-1" and e["msg"] == "request"]
    assert len(access) == 1 and access[0]["status"] == 201
    assert messages.index("request", messages.index("Shutting down")) < messages.index(
        "shutting down: closing the database pool and the cache client"
    )
