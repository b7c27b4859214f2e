"""Background processes the sandbox owns: started detached, tracked by pid files, stopped without strays."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from nexus_platform import logs
from nexus_platform.errors import NexusError

log = logs.get("local.processes")


@dataclass(frozen=True)
class ProcessRecord:
    name: str
    pid: int
    argv: list[str]
    started_at: float
    log_path: str


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the kernel's pick), for tests and benchmarks."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def port_accepts(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on `port` (any address, IPv4 or IPv6), from /proc/net/tcp{,6}."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # local_address is HEX_IP:HEX_PORT; state 0A is LISTEN.
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def port_holder(port: int) -> str | None:
    """'pid N (command)' of the process listening on `port`, if this user can see it."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fds = list((proc / "fd").iterdir())
            if any(str(fd.readlink()) in wanted for fd in fds):
                cmdline = (proc / "cmdline").read_bytes().split(b"\0")
                command = " ".join(part.decode(errors="replace") for part in cmdline if part)
                return f"pid {proc.name} ({command[:120]})"
        except OSError:
            continue
    return None


def require_free(host: str, port: int, what: str) -> None:
    """A one-line error naming the port and, when it can be found, the process holding it."""
    if port_is_free(host, port):
        return
    holder = port_holder(port)
    held = f"held by {holder}" if holder else "held by a process this user cannot see"
    raise NexusError(
        f"port {host}:{port} ({what}) is taken, {held}",
        hint="stop that process, or give the sandbox other ports in sandbox.toml (NEXUS_SANDBOX_CONFIG)",
    )


def _alive(record: ProcessRecord) -> bool:
    """True when the pid still runs the command we started (guards against pid reuse)."""
    try:
        cmdline = Path(f"/proc/{record.pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return [part.decode(errors="replace") for part in cmdline if part] == record.argv


class ProcessManager:
    """Pid files under run_dir; one record per named process."""

    def __init__(self, run_dir: Path, log_dir: Path) -> None:
        self.run_dir = run_dir
        self.log_dir = log_dir

    def _pidfile(self, name: str) -> Path:
        return self.run_dir / f"{name}.json"

    def record(self, name: str) -> ProcessRecord | None:
        path = self._pidfile(name)
        try:
            data = json.loads(path.read_text())
            return ProcessRecord(**data)
        except FileNotFoundError:
            return None
        except (json.JSONDecodeError, TypeError) as exc:
            # A corrupt pid file is not fatal: we cannot trust it, so forget it (the process, if any, is
            # found again by its port check before anything new is started).
            log.warning("corrupt pid file ignored", extra={"path": str(path), "error": str(exc)})
            path.unlink(missing_ok=True)
            return None

    def running(self, name: str) -> ProcessRecord | None:
        record = self.record(name)
        if record is not None and _alive(record):
            return record
        return None

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        ready: Callable[[], bool],
        timeout: float = 60.0,
        user: int | None = None,
        group: int | None = None,
        cwd: Path | None = None,
    ) -> ProcessRecord:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("ab") as log_file:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                start_new_session=True,  # its own process group, so stop() takes its children too
                user=user,
                group=group,
                extra_groups=[] if user is not None else None,
                cwd=cwd,
            )
        record = ProcessRecord(name, proc.pid, list(argv), time.time(), str(log_path))
        tmp = self._pidfile(name).with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(record)))
        tmp.replace(self._pidfile(name))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self._pidfile(name).unlink(missing_ok=True)
                raise NexusError(
                    f"{name} exited with code {proc.returncode} while starting",
                    hint=f"see {log_path}",
                )
            # Ready only once the child runs our command: between fork and exec its command line is ours,
            # and `running()` (which checks it) would not know the process yet.
            if _alive(record) and ready():
                return record
            time.sleep(0.05)
        self.stop(name)
        raise NexusError(f"{name} did not become ready within {timeout:.0f}s", hint=f"see {log_path}")

    def names(self) -> list[str]:
        """Every process with a pid file (running or not)."""
        return sorted(path.stem for path in self.run_dir.glob("*.json"))

    def stop(self, name: str, *, grace: float = 10.0, first: signal.Signals = signal.SIGTERM) -> bool:
        """Stop the process group (`first`, then SIGKILL after `grace`); True if something was running."""
        record = self.record(name)
        if record is None:
            return False
        was_running = _alive(record)
        # Children that left the group (PostgreSQL's backends each call setsid()) are found by parentage.
        strays = descendants(record.pid) if was_running else []
        if was_running:
            _signal_group(record.pid, first)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and _alive(record):
                time.sleep(0.1)
            if _alive(record):
                _signal_group(record.pid, signal.SIGKILL)
                while _alive(record):
                    time.sleep(0.05)
        # The group may hold children that outlive the leader briefly; take them too.
        _signal_group(record.pid, signal.SIGKILL)
        for pid in strays:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        self._pidfile(name).unlink(missing_ok=True)
        return was_running


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (children, theirs, ...), from /proc's parent links."""
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                parent = int(proc.joinpath("stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(proc.name))
    found, queue = [], list(children.get(pid, []))
    while queue:
        child = queue.pop()
        found.append(child)
        queue.extend(children.get(child, []))
    return found


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
