"""Redis 7 (Debian) as a region's ElastiCache replication group: TLS only and AUTH, as in production.

ElastiCache with in-transit encryption serves only TLS and takes the AUTH token of the Secrets Manager secret;
here ``port 0`` + ``tls-port`` with the sandbox CA's certificate do the same. Clients present no certificate
(``tls-auth-clients no``, as ElastiCache). The DR region's server is a replica of the primary's through the
link emulator (the global datastore's cross-region replication), over TLS as well (``tls-replication yes``).
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from nexus_platform.errors import NexusError
from nexus_platform.world.local.processes import ProcessManager, ProcessRecord

# One connection pool per server, password and timeout in this process: a client's TLS handshake and AUTH cost
# 35-70 ms of CPU here, and a runbook's cache steps and checks made a new client for every call. A pooled
# connection the server closed (a restart, a kill) is noticed when it is taken from the pool and replaced.
_POOLS: dict[tuple[int, str, float, Path], redis.ConnectionPool] = {}
_POOLS_LOCK = threading.Lock()


def server_binary() -> str:
    found = shutil.which("redis-server")
    if not found:
        raise NexusError("redis-server not found", hint="install the Debian package redis-server")
    return found


@dataclass(frozen=True)
class RedisTls:
    certificate: Path
    key: Path
    ca: Path


class LocalRedis:
    """One region's Redis on 127.0.0.1:``port`` (TLS), a replica when ``replica_of`` is given."""

    def __init__(self, name: str, root: Path, port: int, processes: ProcessManager, tls: RedisTls) -> None:
        self.name = name
        self.root = root
        self.port = port
        self.processes = processes
        self.tls = tls

    @property
    def config_file(self) -> Path:
        return self.root / "redis.conf"

    def write_config(self, password: str, replica_of: tuple[str, int] | None) -> None:
        """The server's configuration (0600: it holds the AUTH token, which must not show in `ps`)."""
        settings = [
            ("bind", "127.0.0.1"),
            ("port", "0"),
            ("tls-port", str(self.port)),
            ("tls-cert-file", str(self.tls.certificate)),
            ("tls-key-file", str(self.tls.key)),
            ("tls-ca-cert-file", str(self.tls.ca)),
            ("tls-auth-clients", "no"),
            ("tls-replication", "yes"),
            ("requirepass", password),
            ("masterauth", password),
            ("save", '""'),
            ("appendonly", "no"),
            ("dir", str(self.root)),
            ("daemonize", "no"),
            ("logfile", '""'),
            # The process manager knows its processes by their command line: keep Redis from rewriting it.
            ("set-proc-title", "no"),
            # A replica whose link is cut keeps serving (stale) reads, as an ElastiCache secondary does.
            ("replica-serve-stale-data", "yes"),
            ("repl-timeout", "10"),
        ]
        if replica_of is not None:
            settings.append(("replicaof", f"{replica_of[0]} {replica_of[1]}"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.config_file.touch(mode=0o600)
        self.config_file.write_text("".join(f"{key} {value}\n" for key, value in settings))

    def record(self) -> ProcessRecord | None:
        return self.processes.running(self.name)

    def start(self, password: str, replica_of: tuple[str, int] | None = None) -> ProcessRecord:
        running = self.record()
        if running is not None:
            return running
        self.write_config(password, replica_of)
        return self.processes.start(
            self.name,
            [server_binary(), str(self.config_file)],
            ready=lambda: self.ping(password),
            timeout=30,
            cwd=self.root,
        )

    def stop(self) -> bool:
        return self.processes.stop(self.name, grace=5)

    def client(self, password: str, timeout: float = 1.0) -> redis.Redis:
        """A client over TLS with AUTH, verifying the server against the sandbox CA, on this process's pool
        for the server (closing the client keeps the pool's connections open)."""
        key = (self.port, password, timeout, self.tls.ca)
        with _POOLS_LOCK:
            pool = _POOLS.get(key)
            if pool is None:
                pool = _POOLS[key] = redis.ConnectionPool(
                    connection_class=redis.SSLConnection,
                    host="127.0.0.1",
                    port=self.port,
                    password=password,
                    ssl_ca_certs=str(self.tls.ca),
                    socket_timeout=timeout,
                    socket_connect_timeout=timeout,
                    decode_responses=True,
                    retry=Retry(NoBackoff(), 0),
                )
        return redis.Redis(connection_pool=pool)

    def ping(self, password: str) -> bool:
        try:
            with self.client(password, timeout=0.5) as client:
                return bool(client.ping())
        except (RedisError, OSError):
            return False

    def replication(self, password: str, timeout: float = 1.0) -> dict[str, object]:
        """INFO replication: role, link status, offsets."""
        try:
            with self.client(password, timeout) as client:
                return dict(client.info("replication"))
        except (RedisError, OSError) as exc:
            raise NexusError(f"{self.name}: cannot read INFO from 127.0.0.1:{self.port}: {exc}") from None
