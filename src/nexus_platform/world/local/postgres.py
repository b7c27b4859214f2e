"""PostgreSQL 15 (Debian) as a region's database: the RDS primary, or its cross-region read replica.

The server refuses to run as root, so when we are root (CI is) every server process and every tool that writes
its data directory runs as the unprivileged ``postgres`` user the Debian package creates. ``postgres`` itself
runs in the foreground under the sandbox's process manager (its own process group: stopping it takes every
backend with it). Admin statements go over the server's UNIX socket (trust, reachable by that user and root
only); everything else over TCP with TLS and SCRAM passwords, as RDS with ``rds.force_ssl`` requires.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from nexus_api import localservers
from nexus_api.localservers import RunAs
from psycopg import sql

from nexus_platform.errors import NexusError
from nexus_platform.world.local.processes import ProcessManager, ProcessRecord

SERVER_USER = localservers.PG_USER
REPLICATION_USER = "replicator"
_REPLICATION_CONF = "nexus-replication.conf"
# Beside the data directory: archive_command's relative path (its working directory is the data directory).
WAL_SPOOL = "wal-spool"
# The fence lives in a file of its own, not in postgresql.auto.conf: pg_basebackup copies the latter, and a
# replica rebuilt from a once-fenced server must not start fenced.
_FENCE_CONF = "nexus-fence.conf"
_CONF_MARKER = "\n# nexus sandbox\n"  # where this sandbox's settings start in postgresql.conf
# The hard half of the fence: pg_hba.conf is matched top down, so this line, right below the superuser's
# socket line, refuses every TCP login to a database (the application's, and a client's `SET ... READ WRITE`
# with it). The keyword `all` does not match replication connections: a planned failover's replica keeps
# streaming from the fenced primary until it has everything.
_FENCE_HBA = "host all all all reject  # nexus-fence: no application login until promoted\n"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _fetch_one(conn: psycopg.Connection[Any], statement: str) -> Any:
    row = conn.execute(statement.encode()).fetchone()
    return row[0] if row else None


def bin_dir() -> Path:
    """The newest installed PostgreSQL's binaries (NEXUS_PG_BIN_DIR overrides): nexus-api's discovery, the one
    copy of it."""
    try:
        return localservers.pg_bin_dir()
    except localservers.LocalServerError:
        raise NexusError(
            "PostgreSQL server binaries not found", hint="install the Debian package postgresql"
        ) from None


def archive_settings() -> dict[str, str]:
    """Every completed WAL segment into the spool beside the data directory (`LocalPostgres.wal_spool`;
    archive_command runs in the data directory), copied then renamed so a reader never sees half a segment.
    A standby archives nothing (archive_mode on, not always)."""
    spool = f"../{WAL_SPOOL}"
    return {
        "archive_mode": "on",
        "archive_command": f"'cp %p {spool}/%f.part && mv {spool}/%f.part {spool}/%f'",
    }


def run_as() -> RunAs:
    """Who owns and runs the server: ourselves, or the postgres user when we are root."""
    try:
        return RunAs.detect()
    except localservers.LocalServerError:
        raise NexusError(
            "running as root, which PostgreSQL refuses, and there is no 'postgres' user to run it as",
            hint="install the Debian package postgresql (it creates the user)",
        ) from None


@dataclass(frozen=True)
class Replication:
    """How the primary commits: async (RDS's cross-region replica) or waiting for the replica to apply."""

    mode: str  # "async" | "sync"
    standby_name: str  # the replica's application_name

    def primary_settings(self) -> dict[str, str]:
        if self.mode == "sync":
            return {
                "synchronous_commit": "remote_apply",
                "synchronous_standby_names": f"'\"{self.standby_name}\"'",
            }
        return {"synchronous_commit": "on", "synchronous_standby_names": "''"}


@dataclass(frozen=True)
class TlsFiles:
    certificate: Path
    key: Path
    ca: Path


class LocalPostgres:
    """One region's PostgreSQL: a data directory under ``root`` and a server on 127.0.0.1:``port``."""

    def __init__(self, name: str, root: Path, port: int, processes: ProcessManager) -> None:
        self.name = name
        self.root = root
        self.port = port
        self.processes = processes
        self.run_as = run_as()
        self.bin = bin_dir()
        self._building: Path | None = None  # a data directory being made, not yet the server's

    @property
    def data_dir(self) -> Path:
        return self._building or self.root / "data"

    @property
    def partial_dir(self) -> Path:
        """Where a replica is built: renamed to data/ only once complete, so an interrupted build (Ctrl-C
        during pg_basebackup) never leaves a data directory that looks like a server."""
        return self.root / "data.partial"

    @property
    def socket_dir(self) -> Path:
        return self.root / "s"  # short: a UNIX socket path is limited to 107 bytes

    @property
    def wal_spool(self) -> Path:
        """Where archive_command puts each completed WAL segment (settings' `archive_command`): the staging
        area `nexus backup` ships into the region's bucket (the server's user cannot run the toolkit)."""
        return self.root / WAL_SPOOL

    def exists(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def _tool(self, args: Sequence[str], *, timeout: float = 120, input_text: str | None = None) -> str:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LC_ALL": "C.UTF-8",
            "LANG": "C.UTF-8",
            **self._home(),
        }
        proc = subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            input=input_text,
            user=self.run_as.uid,
            group=self.run_as.gid,
            extra_groups=[] if self.run_as.uid is not None else None,
            cwd="/",
            check=False,
        )
        if proc.returncode != 0:
            last = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()[-1]
            raise NexusError(f"{self.name}: {args[0]} failed: {last}", hint=f"see {self.root}")
        return proc.stdout

    def _home(self) -> dict[str, str]:
        return {"HOME": self.run_as.home} if self.run_as.home else {}

    def _prepare_root(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        self.wal_spool.mkdir(exist_ok=True)
        self.root.chmod(0o700)
        self.socket_dir.chmod(0o700)
        self.run_as.own(self.root, self.socket_dir, self.wal_spool)

    # --- creation -----------------------------------------------------------------------------------------
    def initdb(self, tls: TlsFiles, settings: dict[str, str]) -> None:
        """A new cluster whose only login is the local superuser over the UNIX socket."""
        self._prepare_root()
        self._tool(
            [
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                SERVER_USER,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
        )
        self._install_tls(tls)
        self._write_conf(settings)
        (self.data_dir / "pg_hba.conf").write_text(
            "# nexus sandbox: the superuser only over the socket; every TCP login with TLS and SCRAM.\n"
            "local all all trust\n"
            f"local replication {SERVER_USER} trust\n"
            "hostssl all all 127.0.0.1/32 scram-sha-256\n"
            f"hostssl replication {REPLICATION_USER} 127.0.0.1/32 scram-sha-256\n"
        )

    def base_backup(
        self,
        *,
        source_host: str,
        source_port: int,
        password: str,
        standby_name: str,
        tls: TlsFiles,
        settings: dict[str, str],
    ) -> None:
        """A streaming replica of the server at source_host:source_port (across the link), built aside and
        moved into place when complete."""
        self._prepare_root()
        shutil.rmtree(self.partial_dir, ignore_errors=True)  # what an interrupted build left
        final = self.root / "data"
        if final.exists() and not self.exists():
            shutil.rmtree(final)  # no PG_VERSION: not a server's directory
        conninfo = (
            f"host={source_host} port={source_port} user={REPLICATION_USER} password={password} "
            f"sslmode=require application_name={standby_name}"
        )
        self._tool(
            [
                "pg_basebackup",
                "-d",
                conninfo,
                "-D",
                str(self.partial_dir),
                "-X",
                "stream",
                "--checkpoint=fast",
                "-R",
                "--no-sync",
            ],
            timeout=300,
        )
        self._building = self.partial_dir
        try:
            self.unfence()  # a copy of a once-fenced source must not start fenced
            self._install_tls(tls)
            # The copy carries the source's configuration: this server's own settings go last and win.
            self._write_conf(settings)
            self.set_replication(Replication("async", standby_name), reload=False)
        finally:
            self._building = None
        self.partial_dir.rename(final)

    def physical_backup(self, target: Path, *, timeout: float = 600) -> Path:
        """pg_basebackup of this server over its socket into `target` (a folder the server's user may write):
        one compressed tar with the WAL it needs to be consistent; returns the tar's path."""
        self._tool(
            [
                "pg_basebackup",
                f"--host={self.socket_dir}",
                f"--port={self.port}",
                f"--username={SERVER_USER}",
                f"--pgdata={target}",
                "--format=tar",
                "--gzip",
                "--wal-method=fetch",
                "--checkpoint=fast",
                "--no-sync",
            ],
            timeout=timeout,
        )
        return target / "base.tar.gz"

    def archive_now(self, timeout: float = 30.0) -> None:
        """Close the current WAL segment with a commit in it (so a recovery to any time before now finds a
        commit after it, where it stops) and wait until archive_command has taken it."""
        self.admin("SELECT txid_current()")
        segment = str(self.admin("SELECT pg_walfile_name(pg_switch_wal())")[0][0])
        deadline = time.monotonic() + timeout
        while not (self.wal_spool / segment).exists():
            if time.monotonic() > deadline:
                raise NexusError(
                    f"{self.name}: WAL segment {segment} was not archived within {timeout:.0f}s",
                    hint=f"see pg_stat_archiver on {self.name} and {self.wal_spool}",
                )
            time.sleep(0.1)

    def recover_from(
        self, tar: Path, *, tls: TlsFiles, settings: dict[str, str], recovery: dict[str, str]
    ) -> None:
        """A new server from a physical backup's tar that recovers with `recovery` (restore_command,
        recovery_target_*) when it starts; built aside and moved into place when complete, like a replica."""
        self._prepare_root()
        shutil.rmtree(self.partial_dir, ignore_errors=True)
        self.partial_dir.mkdir(mode=0o700)
        self.run_as.own(self.partial_dir)
        proc = subprocess.run(
            ["tar", "-xzf", str(tar), "-C", str(self.partial_dir)],
            capture_output=True,
            text=True,
            timeout=600,
            user=self.run_as.uid,
            group=self.run_as.gid,
            extra_groups=[] if self.run_as.uid is not None else None,
            check=False,
        )
        if proc.returncode != 0:
            raise NexusError(f"{self.name}: unpacking {tar.name} failed: {proc.stderr.strip()[-300:]}")
        self._building = self.partial_dir
        try:
            self.unfence()
            (self.data_dir / "standby.signal").unlink(missing_ok=True)
            self._install_tls(tls)
            self._write_conf({**settings, **recovery})
            # Promoted at the target, it is a primary without a standby: it must not wait for one.
            self.set_replication(Replication("async", "none"), reload=False)
            signal_file = self.data_dir / "recovery.signal"
            signal_file.touch()
            self.run_as.own(signal_file)
        finally:
            self._building = None
        self.partial_dir.rename(self.root / "data")

    def _install_tls(self, tls: TlsFiles) -> None:
        # The server reads its key only if the server user owns it and nobody else can read it.
        for source, target in ((tls.certificate, "server.crt"), (tls.key, "server.key"), (tls.ca, "ca.crt")):
            path = self.data_dir / target
            shutil.copyfile(source, path)
            path.chmod(0o600)
            self.run_as.own(path)

    def _write_conf(self, settings: dict[str, str]) -> None:
        base = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
            "ssl": "on",
            "ssl_cert_file": "'server.crt'",
            "ssl_key_file": "'server.key'",
            "ssl_ca_file": "'ca.crt'",
            "password_encryption": "scram-sha-256",
            "logging_collector": "off",
            "update_process_title": "off",
            **settings,
        }
        text = _CONF_MARKER + "".join(f"{k} = {v}\n" for k, v in base.items())
        text += f"include_if_exists '{_REPLICATION_CONF}'\ninclude_if_exists '{_FENCE_CONF}'\n"
        # Replace the block, never add one: a replica's copy carries its source's block, and one appended
        # per rebuild made every configuration reload (fence, promotion, commit mode) of a long-lived
        # sandbox parse and log dozens of them in every backend.
        path = self.data_dir / "postgresql.conf"
        path.write_text(path.read_text().split(_CONF_MARKER, 1)[0] + text)

    def set_replication(self, replication: Replication, *, reload: bool = True) -> None:
        """Write the commit mode (only a primary waits for a standby) and reload a running server."""
        settings = (
            replication.primary_settings()
            if self.is_primary_on_disk()
            else {"synchronous_commit": "on", "synchronous_standby_names": "''"}
        )
        path = self.data_dir / _REPLICATION_CONF
        path.write_text("".join(f"{k} = {v}\n" for k, v in settings.items()))
        self.run_as.own(path)
        if reload and self.running():
            self.admin("SELECT pg_reload_conf()")

    def is_primary_on_disk(self) -> bool:
        return not (self.data_dir / "standby.signal").exists()

    # --- process ------------------------------------------------------------------------------------------
    def record(self) -> ProcessRecord | None:
        return self.processes.running(self.name)

    def running(self) -> bool:
        return self.record() is not None

    def start(self) -> ProcessRecord:
        running = self.record()
        if running is not None:
            return running
        stale = self.data_dir / "postmaster.pid"
        if stale.exists():
            # Left by a server that was killed: the process manager knows it is gone (its pid file checks the
            # command line), and postgres itself refuses to start while the file names a live pid.
            stale.unlink()
        return self.processes.start(
            self.name,
            [str(self.bin / "postgres"), "-D", str(self.data_dir)],
            env=self._home(),
            ready=self.accepting,
            timeout=60,
            user=self.run_as.uid,
            group=self.run_as.gid,
            cwd=Path("/"),
        )

    def stop(self) -> bool:
        # SIGINT is PostgreSQL's fast shutdown; SIGTERM's smart shutdown would wait for every client to leave.
        return self.processes.stop(self.name, grace=10, first=signal.SIGINT)

    def accepting(self) -> bool:
        try:
            self.admin("SELECT 1", timeout=1)
        except NexusError:
            return False
        return True

    # --- queries ------------------------------------------------------------------------------------------
    def admin(
        self,
        statement: str,
        params: Sequence[Any] | None = None,
        *,
        dbname: str = "postgres",
        timeout: float = 3,
    ) -> list[tuple[Any, ...]]:
        """One statement as the superuser over the UNIX socket (autocommit); its rows."""
        try:
            with self.connect(dbname, timeout=timeout, autocommit=True) as conn:
                cursor = conn.execute(statement.encode(), params)
                return cursor.fetchall() if cursor.description else []
        except psycopg.Error as exc:
            raise NexusError(f"{self.name}: {_first_line(exc)}") from None

    def connect(
        self, dbname: str, *, timeout: float = 5, autocommit: bool = False
    ) -> psycopg.Connection[Any]:
        """A connection as the superuser over the UNIX socket (the caller closes it)."""
        try:
            return psycopg.connect(
                host=str(self.socket_dir),
                port=self.port,
                user=SERVER_USER,
                dbname=dbname,
                autocommit=autocommit,
                connect_timeout=max(1, int(timeout)),
            )
        except psycopg.Error as exc:
            raise NexusError(f"{self.name}: {_first_line(exc)}") from None

    def dump(self, dbname: str, target: Path, *, snapshot: str | None = None, timeout: float = 600) -> None:
        """pg_dump's custom format of `dbname` into `target` (a folder the server's user may write), as of
        `snapshot` (pg_export_snapshot's) when given."""
        self._tool(
            [
                "pg_dump",
                "--format=custom",
                f"--file={target}",
                f"--host={self.socket_dir}",
                f"--port={self.port}",
                f"--username={SERVER_USER}",
                *([f"--snapshot={snapshot}"] if snapshot else []),
                dbname,
            ],
            timeout=timeout,
        )

    def restore_dump(self, dbname: str, dump: Path, *, timeout: float = 600) -> None:
        """pg_restore a custom-format dump (a file the server's user may read) into `dbname`, objects owned
        by the superuser."""
        self._tool(
            [
                "pg_restore",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                f"--host={self.socket_dir}",
                f"--port={self.port}",
                f"--username={SERVER_USER}",
                f"--dbname={dbname}",
                str(dump),
            ],
            timeout=timeout,
        )

    def ensure_login(self, user: str, password: str, *, attributes: str) -> None:
        """A login role with this password and these attributes (created or brought in step)."""
        exists = self.admin("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,))
        verb = "ALTER" if exists else "CREATE"
        statement = sql.SQL(f"{verb} ROLE {{}} WITH LOGIN {attributes} PASSWORD {{}}").format(
            sql.Identifier(user), sql.Literal(password)
        )
        self.admin(statement.as_string())

    def ensure_database(self, name: str, owner: str) -> None:
        if not self.admin("SELECT 1 FROM pg_database WHERE datname = %s", (name,)):
            self.admin(
                sql.SQL("CREATE DATABASE {} OWNER {}")
                .format(sql.Identifier(name), sql.Identifier(owner))
                .as_string()
            )

    def in_recovery(self) -> bool:
        return bool(self.admin("SELECT pg_is_in_recovery()")[0][0])

    def replication_lag(self) -> tuple[int | None, float | None]:
        """(bytes, seconds) the standby is behind, seen from this primary's WAL sender (Nones: no standby)."""
        rows = self.admin(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint, "
            "extract(epoch FROM coalesce(replay_lag, interval '0'))::float8 FROM pg_stat_replication "
            "WHERE state = 'streaming' ORDER BY 1 DESC LIMIT 1"
        )
        if not rows:
            return None, None
        return int(rows[0][0]) if rows[0][0] is not None else None, float(rows[0][1])

    def replay_gap(self) -> int | None:
        """Bytes received but not yet replayed on this standby."""
        rows = self.admin(
            "SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint"
        )
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    def streaming(self) -> bool:
        return bool(self.admin("SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'")[0][0])

    # --- failover -----------------------------------------------------------------------------------------
    def fence(self) -> None:
        """No more application writes, now and after a restart: every TCP login to a database refused
        (pg_hba.conf), read-only by default for what still connects (the superuser over the socket), and every
        client session ended (a session in a transaction would keep its read-write status). Idempotent."""
        hba = self.data_dir / "pg_hba.conf"
        lines = hba.read_text().splitlines(keepends=True)
        if _FENCE_HBA not in lines:
            at = next((i + 1 for i, line in enumerate(lines) if line.startswith("local ")), 0)
            hba.write_text("".join([*lines[:at], _FENCE_HBA, *lines[at:]]))
        path = self.data_dir / _FENCE_CONF
        path.write_text("default_transaction_read_only = on\n")
        self.run_as.own(path, hba)
        if self.running():
            self.admin("SELECT pg_reload_conf()")
            # After the reload: a client reconnecting in between would otherwise get in again.
            self.admin(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
            )

    def unfence(self) -> None:
        hba = self.data_dir / "pg_hba.conf"
        if hba.exists():
            lines = hba.read_text().splitlines(keepends=True)
            if _FENCE_HBA in lines:
                hba.write_text("".join(line for line in lines if line != _FENCE_HBA))
        (self.data_dir / _FENCE_CONF).unlink(missing_ok=True)
        if self.running():
            self.admin("SELECT pg_reload_conf()")

    def fenced_on_disk(self) -> bool:
        return (self.data_dir / _FENCE_CONF).exists()

    def refuses_logins(self) -> bool:
        """True when pg_hba.conf carries the fence (TCP logins refused)."""
        hba = self.data_dir / "pg_hba.conf"
        return hba.exists() and _FENCE_HBA in hba.read_text().splitlines(keepends=True)

    def read_only(self) -> bool:
        return bool(self.admin("SHOW default_transaction_read_only")[0][0] == "on")

    def promote(self, timeout: float = 30) -> None:
        """Promote this replica and return once it takes writes. Not pg_promote's own wait: it looks every
        100 ms, and a promotion takes a few tens of milliseconds that every failover's RTO waits for; the
        end of recovery is watched every 10 ms on the same connection instead."""
        if not self.in_recovery():
            return
        deadline = time.monotonic() + timeout
        try:
            with self.connect("postgres", timeout=3, autocommit=True) as conn:
                conn.execute("SELECT pg_promote(false)")
                while _fetch_one(conn, "SELECT pg_is_in_recovery()"):
                    if time.monotonic() > deadline:
                        late = f"{self.name}: not promoted within {timeout:g}s"
                        raise NexusError(late, hint=f"see {self.root}")
                    time.sleep(0.01)
        except psycopg.Error as exc:
            raise NexusError(f"{self.name}: {_first_line(exc)}") from None

    def wal_position(self) -> str:
        """Where this server's WAL ends: written (a primary) or replayed (a replica)."""
        query = ("SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
                 "ELSE pg_current_wal_lsn() END::text")  # fmt: skip
        return str(self.admin(query)[0][0])

    def reached(self, position: str) -> bool:
        return bool(self.admin("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (position,))[0][0])

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
