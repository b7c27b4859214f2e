"""The sandbox's HTTP client (world/local/traffic.py) against a real server that drops kept-alive
connections: a GET on a connection the server closed meanwhile is sent again on a new one; a PUT is not (its
outcome would be unknown: the caller decides)."""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator

import pytest

from nexus_platform.world.local.traffic import Client

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


@pytest.fixture
def one_answer_per_connection() -> Iterator[int]:
    """Answers the first request of each connection, then closes it (as a proxy's idle timeout does)."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                conn.sendall(ANSWER)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()


def test_a_get_on_a_stale_connection_is_sent_again(one_answer_per_connection: int) -> None:
    client = Client(f"http://127.0.0.1:{one_answer_per_connection}")
    assert client.request("GET", "/a")[0] == 200
    assert client.request("GET", "/b")[0] == 200  # the kept connection was closed: a new one answers


def test_a_put_on_a_stale_connection_is_not_repeated(one_answer_per_connection: int) -> None:
    client = Client(f"http://127.0.0.1:{one_answer_per_connection}")
    assert client.request("GET", "/a")[0] == 200
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)):
        client.request("PUT", "/records/x", {"data": {}})
