"""The inter-region link emulator as the sandbox runs it: a real subprocess, real sockets, echo upstream."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.support import free_port

from nexus_platform.errors import NexusError
from nexus_platform.world.local.link import Endpoint, LinkConfig, LinkControl, Route

LINK = [sys.executable, "-m", "nexus_platform.world.local.link", "--config"]


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while data := sock.recv(65536):
                sock.sendall(data)
        except OSError:
            pass  # the link resets connections when it is cut


@pytest.fixture
def echo_port() -> Iterator[int]:
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Running:
    proc: subprocess.Popen[bytes]
    control: LinkControl
    port: int  # the (first) route's listen port
    stderr: Path

    def connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def wait_state(self, state: str) -> dict[str, Any]:
        deadline = time.monotonic() + 5
        while (current := self.control.state())["state"] != state:
            assert time.monotonic() < deadline, f"link stayed {current['state']}, expected {state}"
            time.sleep(0.02)
        return current


StartLink = Callable[..., Running]


@pytest.fixture
def start_link(tmp_path: Path) -> Iterator[StartLink]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(upstream: int, delay_ms: float = 0.0, jitter_ms: float = 0.0) -> Running:
        control, listen = free_port(), free_port()
        config = LinkConfig(
            control=Endpoint("127.0.0.1", control),
            routes=(Route("to-dr", Endpoint("127.0.0.1", listen), Endpoint("127.0.0.1", upstream)),),
            delay_ms=delay_ms,
            jitter_ms=jitter_ms,
        )
        path = tmp_path / f"link-{control}.json"
        path.write_text(json.dumps(config.to_dict()))
        stderr = tmp_path / f"link-{control}.log"
        with stderr.open("wb") as err:
            proc = subprocess.Popen(
                [*LINK, str(path)], stderr=err, env={**os.environ, "NEXUS_LOG_LEVEL": "INFO"}
            )
        procs.append(proc)
        running = Running(proc, LinkControl("127.0.0.1", control, timeout=2), listen, stderr)
        deadline = time.monotonic() + 15
        while True:
            assert proc.poll() is None, f"the link exited {proc.returncode}: {stderr.read_text()}"
            try:
                running.control.state()
                return running
            except NexusError:
                assert time.monotonic() < deadline, "the link's control API never answered"
                time.sleep(0.05)

    try:
        yield start
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
            proc.wait(timeout=10)


def round_trip(sock: socket.socket, payload: bytes = b"x" * 200) -> float:
    start = time.perf_counter()
    sock.sendall(payload)
    received = b""
    while len(received) < len(payload):
        chunk = sock.recv(65536)
        assert chunk, "the connection closed mid round trip"
        received += chunk
    assert received == payload
    return time.perf_counter() - start


def request(running: Running, method: str, path: str, body: bytes | None = None) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", running.control.port, timeout=5)
    try:
        conn.request(method, path, body=body)
        response = conn.getresponse()
        data = response.read()
        is_json = response.getheader("Content-Type", "").startswith("application/json")
        return response.status, json.loads(data) if is_json else data.decode()
    finally:
        conn.close()


def test_round_trip_costs_twice_the_one_way_delay(start_link: StartLink, echo_port: int) -> None:
    link = start_link(echo_port, delay_ms=50)
    with link.connect() as sock:
        round_trip(sock)  # the first one also opens the upstream connection
        for _ in range(3):
            assert 0.100 <= round_trip(sock) < 0.500


def test_delay_zero_passes_bytes_straight_through(start_link: StartLink, echo_port: int) -> None:
    link = start_link(echo_port, delay_ms=0)
    with link.connect() as sock:
        round_trip(sock)
        assert min(round_trip(sock) for _ in range(5)) < 0.050
        assert round_trip(sock, os.urandom(3 * 1024 * 1024)) < 5  # large payloads arrive intact


def test_put_delay_changes_new_traffic_and_rejects_bad_bodies(start_link: StartLink, echo_port: int) -> None:
    link = start_link(echo_port, delay_ms=0)
    with link.connect() as sock:
        round_trip(sock)
        assert link.control.set_delay(60, jitter_ms=1)["delay_ms"] == 60
        assert round_trip(sock) >= 0.118
        state = link.control.set_delay(0)
        assert (state["delay_ms"], state["jitter_ms"]) == (0, 0)
        assert min(round_trip(sock) for _ in range(3)) < 0.050
    for body in (b"{not json", b'{"delay_ms": -1}', b'{"jitter_ms": 1}', b'{"delay_ms": 1, "x": 2}', b"[]"):
        status, error = request(link, "PUT", "/delay", body)
        assert status == 400, body
        assert error["error"], body
    with pytest.raises(NexusError, match="delay_ms must be"):
        link.control.set_delay(float("nan"))
    assert request(link, "GET", "/nope")[0] == 404
    assert request(link, "GET", "/cut")[0] == 405
    assert link.control.state()["delay_ms"] == 0


def test_jitter_never_reorders_bytes(start_link: StartLink, echo_port: int) -> None:
    link = start_link(echo_port, delay_ms=5, jitter_ms=5)
    records = [b"%06d\n" % i for i in range(2000)]
    expected = b"".join(records)
    with link.connect() as sock:
        sock.settimeout(10)
        received = bytearray()

        def read() -> None:
            while len(received) < len(expected) and (chunk := sock.recv(65536)):
                received.extend(chunk)

        reader = threading.Thread(target=read)
        reader.start()
        for record in records:
            sock.send(record)  # one small write each: each gets its own jitter draw
        reader.join(timeout=15)
    assert bytes(received) == expected


def test_half_close_travels_through_the_link(start_link: StartLink, echo_port: int) -> None:
    link = start_link(echo_port, delay_ms=10)
    with link.connect() as sock:
        sock.sendall(b"last words")
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(100):
            received += chunk
    assert received == b"last words"  # then EOF: the echo server closed after ours arrived


def test_a_stalled_reader_holds_the_writer_back(start_link: StartLink) -> None:
    with socket.create_server(("127.0.0.1", 0)) as upstream:
        upstream.settimeout(5)
        link = start_link(upstream.getsockname()[1], delay_ms=5)
        with link.connect() as sock:
            conn, _ = upstream.accept()
            with conn:  # reads nothing until the writer has had its chance
                sock.setblocking(False)
                sent, chunk, deadline = 0, b"x" * 65536, time.monotonic() + 1.5
                while time.monotonic() < deadline:
                    try:
                        sent += sock.send(chunk)
                    except BlockingIOError:
                        time.sleep(0.01)
                assert sent < 64 * 1024 * 1024  # loopback would take gigabytes in 1.5 s without back-pressure
                sock.setblocking(True)
                sock.shutdown(socket.SHUT_WR)
                conn.settimeout(10)
                received = 0
                while data := conn.recv(1 << 20):
                    received += len(data)
    assert received == sent


def assert_cut(link: Running, open_sock: socket.socket) -> None:
    open_sock.settimeout(5)
    with pytest.raises(ConnectionResetError):
        assert open_sock.recv(100) == b""  # a clean EOF would fail here too: the cut must reset
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", link.port), timeout=2).close()
    state = link.control.state()
    assert state["state"] == "cut"
    assert state["routes"][0]["connections"] == 0


def test_cut_drops_connections_refuses_new_ones_and_restore_carries_again(
    start_link: StartLink, echo_port: int
) -> None:
    link = start_link(echo_port, delay_ms=1)
    with link.connect() as sock:
        round_trip(sock)
        assert link.control.state()["routes"][0]["connections"] == 1
        assert link.control.cut()["state"] == "cut"
        assert_cut(link, sock)
    assert link.control.cut()["state"] == "cut"  # idempotent
    assert link.control.state()["state"] == "cut"  # the control API keeps answering while cut
    assert link.control.restore()["state"] == "up"
    assert link.control.restore()["state"] == "up"
    with link.connect() as sock:
        round_trip(sock)
    assert link.control.state()["routes"][0]["bytes_forwarded"] == 4 * 200


def test_signals_cut_and_restore_and_sigterm_exits_cleanly(start_link: StartLink, echo_port: int) -> None:
    link = start_link(echo_port, delay_ms=1)
    with link.connect() as sock:
        round_trip(sock)
        link.proc.send_signal(signal.SIGUSR1)
        link.wait_state("cut")
        assert_cut(link, sock)
    # One at a time: signals pending together are not handled in the order they were sent.
    link.proc.send_signal(signal.SIGUSR1)
    time.sleep(0.2)
    assert link.control.state()["state"] == "cut"
    link.proc.send_signal(signal.SIGUSR2)
    link.wait_state("up")
    link.proc.send_signal(signal.SIGUSR2)
    time.sleep(0.2)
    with link.connect() as sock:
        round_trip(sock)
    assert link.proc.poll() is None
    link.proc.send_signal(signal.SIGTERM)
    assert link.proc.wait(timeout=10) == 0
    messages = [json.loads(line)["message"] for line in link.stderr.read_text().splitlines()]
    assert {"link started", "route listening", "link cut", "link restored"} <= set(messages)


def test_metrics_are_prometheus_text(start_link: StartLink, echo_port: int) -> None:
    link = start_link(echo_port, delay_ms=35, jitter_ms=2)
    with link.connect() as sock:
        round_trip(sock)
        text = link.control.metrics()
    sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-z_]+="[^"]*",?)*\})? (\S+)$')
    names: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            names[line.split()[2]] = line.split()[3]
        elif not line.startswith("#"):
            match = sample.match(line)
            assert match, line
            float(match.group(4))
    assert names == {
        "nexus_sandbox_link_up": "gauge",
        "nexus_sandbox_link_delay_seconds": "gauge",
        "nexus_sandbox_link_jitter_seconds": "gauge",
        "nexus_sandbox_link_connections": "gauge",
        "nexus_sandbox_link_bytes_total": "counter",
    }
    assert "nexus_sandbox_link_up 1\n" in text
    assert "nexus_sandbox_link_delay_seconds 0.035\n" in text
    assert 'nexus_sandbox_link_connections{route="to-dr"} 1\n' in text
    assert 'nexus_sandbox_link_bytes_total{route="to-dr",direction="to_upstream"} 200\n' in text
    assert 'nexus_sandbox_link_bytes_total{route="to-dr",direction="to_client"} 200\n' in text
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: `make setup` installs it (Debian's prometheus package)"
    check = subprocess.run(
        [promtool, "check", "metrics"], input=text.encode(), capture_output=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_an_unreachable_upstream_resets_the_client(start_link: StartLink) -> None:
    link = start_link(free_port(), delay_ms=0)
    # The link accepts, fails to reach the upstream and resets: on a loaded machine the reset can arrive while
    # connect() is still returning, else on the first send or read. Either way the client sees a reset.
    with pytest.raises(ConnectionResetError), link.connect() as sock:
        sock.settimeout(5)
        sock.sendall(b"hello")
        assert sock.recv(100) == b""
    assert link.proc.poll() is None


def good_config() -> dict[str, Any]:
    return {
        "control": {"host": "127.0.0.1", "port": 17000},
        "delay_ms": 35.0,
        "jitter_ms": 0.0,
        "routes": [
            {"name": "postgres-to-dr", "listen": {"host": "127.0.0.1", "port": 25431},
             "upstream": {"host": "127.0.0.1", "port": 15432}},
            {"name": "redis-to-dr", "listen": {"host": "127.0.0.1", "port": 26379},
             "upstream": {"host": "127.0.0.1", "port": 16379}},
        ],
    }  # fmt: skip


def test_config_round_trips_through_its_json_shape() -> None:
    config = LinkConfig.from_dict(good_config())
    assert config.routes[1].listen == Endpoint("127.0.0.1", 26379)
    assert config.to_dict() == good_config()
    assert LinkConfig.from_dict({k: v for k, v in good_config().items() if k != "delay_ms"}).delay_ms == 35.0


def _bad(change: Callable[[dict[str, Any]], object]) -> str:
    config = good_config()
    change(config)
    return json.dumps(config)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"control": ', "not valid JSON"),
        (_bad(lambda c: c.update(delay_ms=-5)), "delay_ms must be between 0"),
        (_bad(lambda c: c["routes"][1]["listen"].update(port=25431)), "port 25431 is listened on twice"),
        (_bad(lambda c: c["routes"][0].pop("upstream")), "routes[0].upstream is missing"),
        (_bad(lambda c: c["control"].update(port="17000")), "control.port must be a port number"),
        (_bad(lambda c: c.update(delay=3)), "unknown field(s) delay"),
        (_bad(lambda c: c.update(routes=[])), "at least one route"),
    ],
)
def test_a_bad_config_exits_2_with_one_line(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "link.json"
    path.write_text(text)
    result = subprocess.run([*LINK, str(path)], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert says in result.stderr
    assert "fix the link config" in result.stderr


def test_a_missing_config_file_exits_2_with_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [*LINK, str(tmp_path / "nope.json")], capture_output=True, text=True, timeout=30, check=False
    )
    assert (result.returncode, len(result.stderr.splitlines())) == (2, 1), result.stderr
    assert "cannot be read" in result.stderr


def test_the_client_without_a_link_raises_one_line() -> None:
    port = free_port()
    with pytest.raises(NexusError) as caught:
        LinkControl("127.0.0.1", port, timeout=1).state()
    message = str(caught.value)
    assert "\n" not in message
    assert f"127.0.0.1:{port}" in message
    assert "nexus status" in message
