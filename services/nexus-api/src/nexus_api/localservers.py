"""Real PostgreSQL and Redis servers as local processes on 127.0.0.1, for the tests and the benchmark.

Not used by the service itself. PostgreSQL comes from the Debian packages (``postgresql``), Redis from
``redis-server``. ``initdb`` and ``postgres`` refuse to run as root, so when we are root (CI is) the server
runs as the unprivileged ``postgres`` user that the Debian package creates, in a directory that user owns.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

PG_USER = "postgres"


class LocalServerError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _has_server_tools(candidate: Path) -> bool:
    return all((candidate / tool).exists() for tool in ("postgres", "initdb", "pg_ctl"))


def pg_bin_dir() -> Path:
    """The newest installed PostgreSQL's bin directory (or NEXUS_PG_BIN_DIR / NEXUS_API_TEST_PG_BIN_DIR).

    The one copy of this discovery: the platform's sandbox (nexus_platform/world/local/postgres.py) uses it
    too, as it runs this package's service."""
    override = os.environ.get("NEXUS_PG_BIN_DIR") or os.environ.get("NEXUS_API_TEST_PG_BIN_DIR")
    candidates = [Path(override)] if override else []
    candidates += sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for candidate in candidates:
        if _has_server_tools(candidate):
            return candidate
    # Asked last: the sandbox resolves this on every database call, and a subprocess there cost the DR
    # runbooks tens of milliseconds per call on a loaded machine.
    if pg_config := shutil.which("pg_config"):
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0 and _has_server_tools(Path(out.stdout.strip())):
            return Path(out.stdout.strip())
    raise LocalServerError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: install the Debian package 'postgresql'"
    )


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if not found:
        raise LocalServerError("redis-server not found: install the Debian package 'redis-server'")
    return found


@dataclass(frozen=True)
class RunAs:
    """Who runs the PostgreSQL processes: ourselves, or the ``postgres`` user when we are root."""

    uid: int | None = None
    gid: int | None = None
    # libpq (a replica's WAL receiver, pg_basebackup) looks for client certificates under $HOME/.postgresql:
    # root's home is unreadable to the postgres user, and an unreadable file is an error, not an absence.
    home: str | None = None

    @classmethod
    def detect(cls) -> RunAs:
        if os.geteuid() != 0:
            return cls()
        try:
            entry = pwd.getpwnam(PG_USER)
        except KeyError:
            raise LocalServerError(
                "running as root, and PostgreSQL refuses to: the 'postgres' system user is needed "
                "(the Debian package 'postgresql' creates it)"
            ) from None
        return cls(entry.pw_uid, entry.pw_gid, entry.pw_dir)

    def run(self, args: list[str], *, timeout: float, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        if self.home:
            env["HOME"] = self.home
        proc = subprocess.run(
            args,
            capture_output=True,
            text=True,
            errors="replace",  # a tool may echo the bytes of a corrupted input in its messages
            timeout=timeout,
            env=env,
            user=self.uid,
            group=self.gid,
            extra_groups=[] if self.uid is not None else None,
            check=False,
        )
        if check and proc.returncode != 0:
            raise LocalServerError(
                f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}"
            )
        return proc

    def own(self, *paths: Path) -> None:
        if self.uid is not None and self.gid is not None:
            for path in paths:
                os.chown(path, self.uid, self.gid)


@dataclass
class PostgresServer:
    """One PostgreSQL cluster in its own temporary directory, listening on 127.0.0.1 only."""

    root: Path
    port: int
    durable: bool = False
    bin_dir: Path = field(default_factory=pg_bin_dir)
    run_as: RunAs = field(default_factory=RunAs.detect)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    @classmethod
    def create(cls, *, durable: bool = False, name: str = "pg") -> PostgresServer:
        """initdb a new cluster (not started). ``durable=False`` turns fsync off: fast, for tests only."""
        server = cls(root=_new_root(name), port=free_port(), durable=durable)
        server.run_as.own(server.root)
        server._pg(["initdb", "-D", str(server.data_dir), "-U", PG_USER, "-A", "trust", "-E", "UTF8",
                    "--locale=C", *([] if durable else ["--no-sync"])], timeout=120)  # fmt: skip
        server._configure()
        return server

    def _pg(self, args: list[str], *, timeout: float, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run_as.run([str(self.bin_dir / args[0]), *args[1:]], timeout=timeout, check=check)

    def _configure(self) -> None:
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            # The socket lives in our own directory: /var/run/postgresql may not exist or be writable.
            "unix_socket_directories": f"'{self.root}'",
            "max_connections": "200",
            "shared_buffers": "128MB",
            "wal_level": "replica",
            "max_wal_senders": "10",
            # Keep WAL for replicas that fall behind (a busy machine, another clone's fast checkpoint):
            # without it a lagging standby can find its next segment recycled and stop replaying for good.
            "wal_keep_size": "'512MB'",
            "hot_standby": "on",
            "fsync": "on" if self.durable else "off",
            "full_page_writes": "on" if self.durable else "off",
            "logging_collector": "off",
        }
        conf = "\n# nexus-api local server\n" + "".join(f"{k} = {v}\n" for k, v in settings.items())
        with (self.data_dir / "postgresql.conf").open("a") as fh:
            fh.write(conf)
        hba = "host all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n"
        (self.data_dir / "pg_hba.conf").write_text(hba)

    def start(self) -> None:
        self._pg(["pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60", "start"],
                 timeout=90)  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        if (self.data_dir / "postmaster.pid").exists():
            self._pg(["pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "60", "stop"], timeout=90,
                     check=False)  # fmt: skip

    def promote(self) -> None:
        self._pg(["pg_ctl", "-D", str(self.data_dir), "-w", "-t", "60", "promote"], timeout=90)

    def replica(self, name: str = "replica") -> PostgresServer:
        """A streaming replica of this (running) server, started, in hot standby."""
        return self._base_backup(name, standby=True)

    def clone(self, name: str = "clone") -> PostgresServer:
        """An independent copy of this (running) server's data, started as a primary of its own."""
        return self._base_backup(name, standby=False)

    def _base_backup(self, name: str, *, standby: bool) -> PostgresServer:
        other = PostgresServer(
            root=_new_root(name), port=free_port(), durable=self.durable, bin_dir=self.bin_dir
        )
        other.run_as.own(other.root)
        self._pg(["pg_basebackup", "-h", "127.0.0.1", "-p", str(self.port), "-U", PG_USER,
                  "-D", str(other.data_dir), "-X", "stream", "--checkpoint=fast",
                  *(["-R"] if standby else [])], timeout=120)  # fmt: skip
        with (other.data_dir / "postgresql.conf").open("a") as fh:
            # The copy carries our configuration; the last setting wins.
            fh.write(f"port = {other.port}\nunix_socket_directories = '{other.root}'\n")
        other.start()
        return other

    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{dbname}"

    def execute(
        self, sql: str, dbname: str = "postgres", params: Sequence[object] | None = None
    ) -> list[tuple[Any, ...]]:
        """Run one statement as the superuser (autocommit) and return its rows, if any."""
        with psycopg.connect(self.dsn(dbname), autocommit=True, connect_timeout=5) as conn:
            cur = conn.execute(sql.encode(), params)
            return cur.fetchall() if cur.description else []

    def create_database(self, dbname: str) -> str:
        self.execute(f'CREATE DATABASE "{dbname}"')
        return self.dsn(dbname)

    def wait_replayed(self, primary: PostgresServer, timeout: float = 30.0) -> None:
        """Wait until this replica has replayed everything the primary has written so far."""
        # The write position: every committed transaction is before it (synchronous_commit is on). Not the
        # insert position: that can sit past a page header that no record follows until the next WAL record,
        # up to 15 s later on an idle server.
        target = primary.execute("SELECT pg_current_wal_lsn()::text")[0][0]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = self.execute(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")[0][0]
            if done:
                return
            time.sleep(0.05)
        raise LocalServerError(
            f"replica on port {self.port} did not replay up to {target} in {timeout} s; "
            f"its log:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class RedisServer:
    """A redis-server without persistence, listening on 127.0.0.1 only."""

    root: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @classmethod
    def create(cls, name: str = "redis") -> RedisServer:
        return cls(root=_new_root(name), port=free_port())

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20.0) -> None:
        args = [redis_server_binary(), "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                "--appendonly", "no", "--dir", str(self.root), "--logfile", str(self.root / "redis.log"),
                "--daemonize", "no"]  # fmt: skip
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LocalServerError(f"redis-server exited with {self.process.returncode}: {self._log()}")
            if self.ping():
                return
            time.sleep(0.05)
        self.stop()
        raise LocalServerError(f"redis-server did not answer on port {self.port} within {timeout} s")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def _log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.root / "redis.log").read_text(errors="replace")[-2000:]
        return ""

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _new_root(name: str) -> Path:
    # Directly under the system temp dir: pytest's own tmp dirs are 0700 root-owned, which the postgres user
    # could not enter.
    root = Path(tempfile.mkdtemp(prefix=f"nexus-api-{name}-"))
    root.chmod(0o700)
    return root
