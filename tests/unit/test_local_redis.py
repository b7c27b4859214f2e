"""The sandbox's Redis (world/local/redis.py) on a real server: clients of one server share a pooled TLS
connection (a new TLS session and AUTH per call cost a runbook's cache steps 35-70 ms each), and a pooled
connection the server closed is replaced, not reported as an error."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support import free_port

from nexus_platform.sandbox import tls
from nexus_platform.world.local.processes import ProcessManager
from nexus_platform.world.local.redis import LocalRedis, RedisTls

PASSWORD = "pool-test-token"


@pytest.fixture
def server() -> Iterator[LocalRedis]:
    root = Path(tempfile.mkdtemp(prefix="nexus-redis-"))
    certs = tls.ensure(root / "tls")
    processes = ProcessManager(root / "run", root / "logs")
    cache = LocalRedis(
        "pool.redis", root / "redis", free_port(), processes, RedisTls(certs.certificate, certs.key, certs.ca)
    )
    try:
        cache.start(PASSWORD)
        yield cache
    finally:
        cache.stop()
        shutil.rmtree(root, ignore_errors=True)


def connections_received(server: LocalRedis) -> int:
    with server.client(PASSWORD) as client:
        return int(client.info("stats")["total_connections_received"])


def test_clients_share_one_connection_and_a_restart_replaces_it(server: LocalRedis) -> None:
    before = connections_received(server)
    for n in range(5):
        with server.client(PASSWORD) as client:
            client.set("key", str(n))
    assert connections_received(server) == before  # every call above on the connection of the first
    assert server.client(PASSWORD).get("key") == "4"

    server.stop()
    assert not server.ping(PASSWORD)  # the pooled connection of a stopped server: down, not stale
    server.start(PASSWORD)
    with server.client(PASSWORD) as client:  # the closed connection is replaced on the way out of the pool
        assert client.get("key") is None  # a new server (no persistence): the answer is the new server's
    assert server.ping(PASSWORD)
