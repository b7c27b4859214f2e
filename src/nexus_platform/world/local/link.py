"""The sandbox's inter-region network: a TCP proxy that delays, cuts and restores cross-region traffic.

Why it exists: the sandbox runs both regions on 127.0.0.1, so PostgreSQL and Redis replication would see a
zero-latency, unbreakable network. The usual tools are out of reach here: no Toxiproxy binary is published
on the package registries we reach (PyPI, Debian, npm carry only its clients), and `tc netem` is not
available (the kernels here are built without sch_netem, and adding a qdisc takes privileges the sandbox
does not have). So the delay is emulated in user space, by this one asyncio process serving every route.

Each direction of each connection is held back by `delay_ms` (+- uniform `jitter_ms`), so a round trip costs
twice the delay; bytes of one direction never overtake each other. "cut" resets every connection and closes
the listening sockets (connects are refused); "restore" listens again. Control: HTTP on the control endpoint
(GET /state, POST /cut, POST /restore, PUT /delay, GET /metrics) and signals (SIGUSR1 cut, SIGUSR2 restore,
SIGTERM/SIGINT exit 0).

    python -m nexus_platform.world.local.link --config FILE
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import functools
import http.client
import json
import math
import os
import random
import re
import select
import selectors
import signal
import socket
import struct
import sys
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any, NoReturn

from nexus_platform import logs
from nexus_platform.errors import NexusError

log = logs.get("link")

CHUNK = 64 * 1024
# Bytes one direction may hold in its delay line before its source is no longer read: a window, as in TCP.
# 4 MiB over 35 ms still carries ~120 MB/s per connection, far above the sandbox's replication streams.
HIGH_WATER = 4 * 1024 * 1024
MAX_MS = 60_000.0
CONFIG_HINT = "fix the link config JSON (see nexus_platform.world.local.link.LinkConfig)"
CONTROL_HINT = "is the sandbox running? nexus status"
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")  # also a Prometheus label value, so nothing needs escaping


def _bad(message: str) -> NoReturn:
    raise NexusError(message, hint=CONFIG_HINT)


def _object(data: object, where: str, keys: set[str], required: set[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        _bad(f"{where} must be a JSON object, got {type(data).__name__}")
    if unknown := sorted(set(data) - keys):
        _bad(f"{where} has unknown field(s) {', '.join(unknown)} (allowed: {', '.join(sorted(keys))})")
    if missing := sorted(required - set(data)):
        _bad(f"{where}.{missing[0]} is missing")
    return data


def _port(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        _bad(f"{where} must be a port number 1-65535, got {value!r}")
    return value


def _ms(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        _bad(f"{where} must be a number of milliseconds, got {value!r}")
    if not 0 <= value <= MAX_MS:
        _bad(f"{where} must be between 0 and {MAX_MS:.0f} ms, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    @classmethod
    def from_dict(cls, data: object, where: str = "endpoint") -> Endpoint:
        obj = _object(data, where, {"host", "port"}, {"host", "port"})
        if not isinstance(obj["host"], str) or not obj["host"]:
            _bad(f"{where}.host must be a non-empty string, got {obj['host']!r}")
        return cls(obj["host"], _port(obj["port"], f"{where}.port"))

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "port": self.port}

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Route:
    name: str
    listen: Endpoint
    upstream: Endpoint

    @classmethod
    def from_dict(cls, data: object, where: str = "route") -> Route:
        keys = {"name", "listen", "upstream"}
        obj = _object(data, where, keys, keys)
        if not isinstance(obj["name"], str) or not _NAME.match(obj["name"]):
            _bad(f"{where}.name must be letters, digits, '_', '.' or '-', got {obj['name']!r}")
        listen = Endpoint.from_dict(obj["listen"], f"{where}.listen")
        return cls(obj["name"], listen, Endpoint.from_dict(obj["upstream"], f"{where}.upstream"))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "listen": self.listen.to_dict(), "upstream": self.upstream.to_dict()}


@dataclass(frozen=True)
class LinkConfig:
    """The link's config file; built by from_dict (which validates) and written with to_dict."""

    control: Endpoint
    routes: tuple[Route, ...]
    delay_ms: float = 35.0  # one way; about us-east-1 <-> eu-west-1
    jitter_ms: float = 0.0

    def __post_init__(self) -> None:
        _ms(self.delay_ms, "delay_ms")
        _ms(self.jitter_ms, "jitter_ms")
        if not self.routes:
            _bad("routes must list at least one route")
        names = [route.name for route in self.routes]
        if dup := next((name for name in names if names.count(name) > 1), None):
            _bad(f"route name {dup!r} is used twice; give each route its own name")
        ports = [self.control.port] + [route.listen.port for route in self.routes]
        if dup_port := next((port for port in ports if ports.count(port) > 1), None):
            _bad(f"port {dup_port} is listened on twice (control and routes each need their own port)")

    @classmethod
    def from_dict(cls, data: object) -> LinkConfig:
        obj = _object(data, "config", {"control", "delay_ms", "jitter_ms", "routes"}, {"control", "routes"})
        if not isinstance(obj["routes"], list):
            _bad(f"routes must be a JSON list, got {type(obj['routes']).__name__}")
        return cls(
            control=Endpoint.from_dict(obj["control"], "control"),
            routes=tuple(Route.from_dict(r, f"routes[{i}]") for i, r in enumerate(obj["routes"])),
            delay_ms=_ms(obj.get("delay_ms", 35.0), "delay_ms"),
            jitter_ms=_ms(obj.get("jitter_ms", 0.0), "jitter_ms"),
        )

    @classmethod
    def load(cls, path: Path) -> LinkConfig:
        try:
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except NexusError as exc:
            raise NexusError(f"link config {path}: {exc.args[0]}", hint=exc.hint) from exc
        except OSError as exc:
            raise NexusError(f"link config {path} cannot be read: {exc.strerror}", hint=CONFIG_HINT) from exc
        except (ValueError, UnicodeDecodeError) as exc:
            raise NexusError(f"link config {path} is not valid JSON: {exc}", hint=CONFIG_HINT) from exc

    def to_dict(self) -> dict[str, Any]:
        return {
            "control": self.control.to_dict(),
            "delay_ms": self.delay_ms,
            "jitter_ms": self.jitter_ms,
            "routes": [route.to_dict() for route in self.routes],
        }


def _selector() -> selectors.BaseSelector:
    if sys.platform != "linux":
        return selectors.DefaultSelector()

    class FineTimerSelector(selectors.EpollSelector):
        """epoll rounds every timeout up to a whole millisecond: ~0.5 ms more on each delayed hop.

        select() takes microseconds, so the wait is done by select() on the epoll descriptor itself
        (readable while events are pending; one low-numbered fd, so FD_SETSIZE is no limit), then epoll
        is drained without waiting.
        """

        def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
            if timeout is not None and timeout > 0:
                select.select([self.fileno()], [], [], timeout)
                timeout = 0
            return super().select(timeout)

    return FineTimerSelector()


def _tighten_timer_slack() -> None:
    # Linux lets a sleeping process wake up to 50 us late ("timer slack") to batch wakeups; this process's
    # timers are its product, so it asks for 1 ns. Best effort: elsewhere the default slack just stays.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(29, 1, 0, 0, 0)  # 29: PR_SET_TIMERSLACK


class _Pipe(asyncio.BufferedProtocol):
    """One socket of a proxied connection; what its peer reads waits in this pipe's delay line to be sent."""

    def __init__(self, link: Link, route: Route, client_side: bool) -> None:
        self.link, self.route, self.client_side = link, route, client_side
        self.direction = "to_client" if client_side else "to_upstream"
        self.peer: _Pipe | None = None
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._view = memoryview(bytearray(CHUNK))
        self._line: deque[tuple[float, bytes | None]] = deque()  # (release time, bytes or None for EOF)
        self._queued = 0
        self._last = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._held = self._write_paused = self._eof_in = self._eof_out = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.link.opened(self)
        if self.client_side:
            transport.pause_reading()  # until the upstream side exists to take the bytes
            self.link.spawn(self._dial())

    async def _dial(self) -> None:
        upstream = _Pipe(self.link, self.route, client_side=False)
        upstream.peer = self
        target = self.route.upstream
        try:
            # asyncio.timeout, not wait_for: 3.11's wait_for can drop a cancellation (the link stopping).
            async with asyncio.timeout(10):
                await asyncio.get_running_loop().create_connection(lambda: upstream, target.host, target.port)
        except (OSError, TimeoutError) as exc:
            log.warning("upstream unreachable", extra={"route": self.route.name, "error": str(exc)})
            self.abort()
            return
        if self.closed or self.transport is None:
            upstream.abort()
            return
        self.peer = upstream
        self.transport.resume_reading()

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._view

    def buffer_updated(self, nbytes: int) -> None:
        if self.peer is not None:
            self.peer.send_later(bytes(self._view[:nbytes]))

    def eof_received(self) -> bool:
        self._eof_in = True
        if self.peer is not None:
            self.peer.send_later(None)
        if self._eof_out:
            self._close()
        return True  # half-close: the other direction may still be carrying data

    def send_later(self, data: bytes | None) -> None:
        """Queue bytes (None: the peer's EOF) for this socket, after the link's one-way delay."""
        if self.closed:
            return
        delay = self.link.one_way_delay()
        if delay <= 0 and not self._line:
            self._emit(data)
            return
        loop = asyncio.get_running_loop()
        # Never before the previous chunk: jitter must not reorder the bytes of one direction.
        self._last = release = max(loop.time() + delay, self._last)
        self._line.append((release, data))
        self._queued += len(data) if data else 0
        if self._timer is None:
            self._timer = loop.call_at(release, self._release)
        self._backpressure()

    def _release(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        due = loop.time() + 1e-6  # the loop fires timers up to its clock resolution early
        while self._line and self._line[0][0] <= due and not self.closed:
            data = self._line.popleft()[1]
            self._queued -= len(data) if data else 0
            self._emit(data)
        if self._line and not self.closed:
            self._timer = loop.call_at(self._line[0][0], self._release)
        self._backpressure()

    def _emit(self, data: bytes | None) -> None:
        assert self.transport is not None
        if data is not None:
            self.transport.write(data)
            self.link.stats[self.route.name][self.direction] += len(data)
            return
        self._eof_out = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        if self._eof_in:
            self._close()

    def _backpressure(self) -> None:
        # Stop reading the peer while this side is backed up, so a slow reader cannot grow memory unbounded.
        hold = not self.closed and (self._queued > HIGH_WATER or self._write_paused)
        peer = self.peer
        if hold != self._held and peer is not None and peer.transport is not None and not peer.closed:
            self._held = hold
            (peer.transport.pause_reading if hold else peer.transport.resume_reading)()

    def pause_writing(self) -> None:
        self._write_paused = True
        self._backpressure()

    def resume_writing(self) -> None:
        self._write_paused = False
        self._backpressure()

    def _drop_line(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._line.clear()
        self._queued = 0

    def _close(self) -> None:
        self.closed = True
        self._drop_line()
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        """Drop the connection so the other end sees a reset, as when the network between regions fails."""
        self.closed = True
        self._drop_line()
        self.link.lost(self)  # now, not at connection_lost: /state right after a cut must show 0
        if self.transport is not None:
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):  # linger 0: close with RST, not FIN
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        initiated = self.closed
        self.closed = True
        self._drop_line()
        self.link.lost(self)
        if not initiated and self.peer is not None:
            self.peer.abort()  # one side failed: the connection as a whole is gone


class Link:
    """The routes, their connections and the link's state; the control API and signals drive it."""

    def __init__(self, config: LinkConfig) -> None:
        self.config = config
        self.delay_ms, self.jitter_ms = config.delay_ms, config.jitter_ms
        self.up = False
        self.stats = {r.name: {"connections": 0, "to_upstream": 0, "to_client": 0} for r in config.routes}
        self._servers: list[asyncio.Server] = []
        self._control: asyncio.Server | None = None
        self._pipes: set[_Pipe] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._lock = asyncio.Lock()
        self._rng = random.Random()  # noqa: S311 - jitter, not cryptography

    def one_way_delay(self) -> float:
        jitter = self._rng.uniform(-self.jitter_ms, self.jitter_ms) if self.jitter_ms else 0.0
        return max(self.delay_ms + jitter, 0.0) / 1000.0

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._tasks.discard)

    def opened(self, pipe: _Pipe) -> None:
        self._pipes.add(pipe)
        self.stats[pipe.route.name]["connections"] += pipe.client_side

    def lost(self, pipe: _Pipe) -> None:
        if pipe in self._pipes:
            self._pipes.discard(pipe)
            self.stats[pipe.route.name]["connections"] -= pipe.client_side

    async def start(self) -> None:
        await self._listen()
        # Control last: once it answers, every route is listening.
        host, port = self.config.control.host, self.config.control.port
        try:
            self._control = await asyncio.start_server(self._serve_control, host, port)
        except OSError as exc:
            raise NexusError(
                f"the link cannot listen on {host}:{port} for its control API: {exc.strerror}",
                hint="free the port or change control.port in the link config",
            ) from exc
        log.info(
            "link started",
            extra={"control": f"{host}:{port}", "delay_ms": self.delay_ms, "jitter_ms": self.jitter_ms},
        )

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        for route in self.config.routes:
            try:
                server = await loop.create_server(
                    functools.partial(_Pipe, self, route, True), route.listen.host, route.listen.port
                )
            except OSError as exc:
                self._close_servers()
                raise NexusError(
                    f"route {route.name} cannot listen on {route.listen}: {exc.strerror}",
                    hint="free the port or change it in the link config",
                ) from exc
            self._servers.append(server)
            log.info(
                "route listening",
                extra={"route": route.name, "listen": str(route.listen), "upstream": str(route.upstream)},
            )
        self.up = True

    def _close_servers(self) -> None:
        for server in self._servers:
            server.close()  # closes the listening socket now: new connects are refused
        self._servers.clear()

    async def cut(self) -> bool:
        async with self._lock:
            if not self.up:
                return False
            self.up = False
            self._close_servers()
            dropped = sum(pipe.client_side for pipe in self._pipes)
            for pipe in list(self._pipes):
                pipe.abort()
            log.info("link cut", extra={"connections_dropped": dropped})
            return True

    async def restore(self) -> bool:
        async with self._lock:
            if self.up:
                return False
            await self._listen()
            log.info("link restored")
            return True

    def set_delay(self, delay_ms: float, jitter_ms: float) -> None:
        self.delay_ms, self.jitter_ms = _ms(delay_ms, "delay_ms"), _ms(jitter_ms, "jitter_ms")
        log.info("delay changed", extra={"delay_ms": self.delay_ms, "jitter_ms": self.jitter_ms})

    async def close(self) -> None:
        if self._control is not None:
            self._control.close()
        self._close_servers()
        for pipe in list(self._pipes):
            pipe.abort()
        for task in list(self._tasks):
            task.cancel()

    def state(self) -> dict[str, Any]:
        routes = []
        for route in self.config.routes:
            stats = self.stats[route.name]
            bytes_forwarded = stats["to_upstream"] + stats["to_client"]
            routes.append(
                {**route.to_dict(), "connections": stats["connections"], "bytes_forwarded": bytes_forwarded}
            )
        state = "up" if self.up else "cut"
        return {"state": state, "delay_ms": self.delay_ms, "jitter_ms": self.jitter_ms, "routes": routes}

    def metrics(self) -> str:
        per_route = self.stats.items()
        families: list[tuple[str, str, str, list[tuple[str, float]]]] = [
            ("up", "gauge", "1 while the link carries traffic, 0 while it is cut.", [("", int(self.up))]),
            (
                "delay_seconds",
                "gauge",
                "One-way delay added to each direction.",
                [("", self.delay_ms / 1000)],
            ),
            (
                "jitter_seconds",
                "gauge",
                "Uniform jitter (+-) around the delay.",
                [("", self.jitter_ms / 1000)],
            ),
            (
                "connections",
                "gauge",
                "Open client connections per route.",
                [(f'{{route="{n}"}}', s["connections"]) for n, s in per_route],
            ),
            (
                "bytes_total",
                "counter",
                "Bytes forwarded per route and direction.",
                [
                    (f'{{route="{n}",direction="{d}"}}', s[d])
                    for n, s in per_route
                    for d in ("to_upstream", "to_client")
                ],
            ),
        ]
        lines: list[str] = []
        for name, kind, text, samples in families:
            lines += [f"# HELP nexus_sandbox_link_{name} {text}", f"# TYPE nexus_sandbox_link_{name} {kind}"]
            lines += [f"nexus_sandbox_link_{name}{labels} {value}" for labels, value in samples]
        return "\n".join(lines) + "\n"

    async def _serve_control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(10):
                status, body, ctype = await self._handle(reader)
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, ValueError):
            status, body, ctype = _reply(400, {"error": "malformed HTTP request"})
        head = (
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        with contextlib.suppress(ConnectionError):
            writer.write(head.encode("ascii") + body)
            await writer.drain()
        writer.close()

    async def _handle(self, reader: asyncio.StreamReader) -> tuple[int, bytes, str]:
        method, target, _version = (await reader.readline()).decode("latin-1").split()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if length > 65536:
            return _reply(413, {"error": "request body too large"})
        body = await reader.readexactly(length)
        path = target.split("?", 1)[0]
        if path not in _API:
            return _reply(404, {"error": f"no such resource {path}", "paths": sorted(_API)})
        if method != _API[path]:
            return _reply(405, {"error": f"{path} takes {_API[path]}, not {method}"})
        if path == "/metrics":
            return 200, self.metrics().encode(), "text/plain; version=0.0.4; charset=utf-8"
        try:
            if path == "/cut":
                await self.cut()
            elif path == "/restore":
                await self.restore()
            elif path == "/delay":
                data = _object(json.loads(body), "body", {"delay_ms", "jitter_ms"}, {"delay_ms"})
                self.set_delay(data["delay_ms"], data.get("jitter_ms", 0.0))
        except (ValueError, NexusError) as exc:
            if path != "/delay":
                return _reply(500, {"error": exc.args[0], "hint": getattr(exc, "hint", None)})
            error = exc.args[0] if isinstance(exc, NexusError) else "the body is not JSON"
            return _reply(400, {"error": error, "hint": 'send JSON like {"delay_ms": 35, "jitter_ms": 0}'})
        return _reply(200, self.state())


_API = {"/state": "GET", "/cut": "POST", "/restore": "POST", "/delay": "PUT", "/metrics": "GET"}


def _json(data: object) -> bytes:
    return json.dumps(data).encode()


def _reply(status: int, data: object) -> tuple[int, bytes, str]:
    return status, _json(data), "application/json"


class LinkControl:
    """Client of a running link's control API (standard library only)."""

    def __init__(self, host: str, port: int, timeout: float = 2.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout

    def state(self) -> dict[str, Any]:
        return self._call("GET", "/state")

    def cut(self) -> dict[str, Any]:
        return self._call("POST", "/cut")

    def restore(self) -> dict[str, Any]:
        return self._call("POST", "/restore")

    def set_delay(self, delay_ms: float, jitter_ms: float = 0.0) -> dict[str, Any]:
        return self._call("PUT", "/delay", {"delay_ms": delay_ms, "jitter_ms": jitter_ms})

    def metrics(self) -> str:
        return self._request("GET", "/metrics", None).decode()

    def _call(self, method: str, path: str, body: object = None) -> dict[str, Any]:
        data = json.loads(self._request(method, path, None if body is None else _json(body)))
        assert isinstance(data, dict)
        return data

    def _request(self, method: str, path: str, body: bytes | None) -> bytes:
        where = f"the link control API at http://{self.host}:{self.port}"
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as exc:
            reason = " ".join((getattr(exc, "strerror", None) or str(exc) or type(exc).__name__).split())
            raise NexusError(f"{where} did not answer {method} {path}: {reason}", hint=CONTROL_HINT) from exc
        finally:
            conn.close()
        if response.status >= 400:
            try:
                error = json.loads(payload)
                message, hint = str(error.get("error")), error.get("hint") or CONTROL_HINT
            except (ValueError, AttributeError):
                message, hint = payload.decode(errors="replace")[:200], CONTROL_HINT
            raise NexusError(
                f"{where} refused {method} {path} ({response.status}): {' '.join(message.split())}", hint=hint
            )
        return payload


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message}; run as: python -m nexus_platform.world.local.link --config FILE\n")


async def _serve(config: LinkConfig) -> None:
    link = Link(config)
    await link.start()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, lambda: link.spawn(link.cut()))
    loop.add_signal_handler(signal.SIGUSR2, lambda: link.spawn(link.restore()))
    try:
        await stop.wait()
    finally:
        await link.close()
        log.info("link stopped")


def main(argv: list[str] | None = None) -> int:
    # A daemon's log is the record of its drills (cuts, restores), so INFO unless told otherwise.
    logs.setup(os.environ.get("NEXUS_LOG_LEVEL", "INFO"))
    parser = _Parser(
        prog="python -m nexus_platform.world.local.link", description="The sandbox's inter-region link."
    )
    parser.add_argument("--config", type=Path, required=True, help="the link config (JSON)")
    args = parser.parse_args(argv)
    try:
        config = LinkConfig.load(args.config)
    except NexusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _tighten_timer_slack()
    try:
        with asyncio.Runner(loop_factory=lambda: asyncio.SelectorEventLoop(_selector())) as runner:
            runner.run(_serve(config))
    except NexusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
