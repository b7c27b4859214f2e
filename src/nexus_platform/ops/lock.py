"""One run at a time per environment: an flock on `<state_dir>/locks/<env>.lock`.

The kernel drops an flock when its holder dies, however it dies, so a crashed run never blocks the next one:
the lock is simply free. The file's content (who holds it) is what survives, which is how the next holder
tells a takeover from a clean start. The file is never deleted: unlinking a lock file lets two processes lock
two different inodes of the same name.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from nexus_platform import logs
from nexus_platform.errors import NexusError
from nexus_platform.ops.journal import now

ENV = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

log = logs.get("ops.lock")


@dataclass(frozen=True)
class Holder:
    run_id: str
    pid: int | None
    started: str

    def describe(self) -> str:
        return f"run {self.run_id} (pid {self.pid if self.pid is not None else '?'}, started {self.started})"


def _holder(raw: str) -> Holder | None:
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        return Holder(run_id="?", pid=None, started="?") if raw.strip() else None
    if not isinstance(value, dict):
        return Holder(run_id="?", pid=None, started="?")
    pid = value.get("pid")
    return Holder(
        run_id=str(value.get("run_id", "?")),
        pid=pid if isinstance(pid, int) else None,
        started=str(value.get("started", "?")),
    )


class EnvLock:
    """Held from `acquire` until `release`; `stale` is the dead holder it took over from, if any."""

    def __init__(self, state_dir: Path, env: str, run_id: str) -> None:
        if not ENV.match(env):
            raise NexusError(f"{env!r} is not an environment name")
        self.path = state_dir / "locks" / f"{env}.lock"
        self.env = env
        self.run_id = run_id
        self.stale: Holder | None = None
        self._fd = -1

    def acquire(self) -> EnvLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(_read(fd)) or Holder(run_id="?", pid=None, started="just now")
            os.close(fd)
            raise NexusError(
                f"another run holds the {self.env} lock: {holder.describe()}",
                hint="wait for it to end; a lock is held only while its process lives",
            ) from None
        except BaseException:
            os.close(fd)
            raise
        self.stale = _holder(_read(fd))
        if self.stale is not None:
            # A released lock is left empty: content means its holder died holding it.
            log.warning(
                f"taking over the {self.env} lock of a dead process: {self.stale.describe()}",
                extra={"stale_run_id": self.stale.run_id, "stale_pid": self.stale.pid, "run_id": self.run_id},
            )
        content = json.dumps({"run_id": self.run_id, "pid": os.getpid(), "started": now().isoformat()})
        os.ftruncate(fd, 0)
        os.pwrite(fd, content.encode("utf-8"), 0)
        os.fsync(fd)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd < 0:
            return
        try:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> EnvLock:
        return self.acquire()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def busy(state_dir: Path, env: str) -> Holder | None:
    """Who holds `env`'s lock now, without taking it (a live holder's content; a released lock is empty).

    For bystanders that must not act while a run does (the sandbox's autoscaler), never for mutual exclusion:
    only `acquire` excludes."""
    try:
        raw = (state_dir / "locks" / f"{env}.lock").read_text(errors="replace")
    except FileNotFoundError:
        return None
    holder = _holder(raw)
    if holder is None or holder.pid is None:
        return holder
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return None  # died holding it: the kernel has dropped its flock
    except PermissionError:
        pass
    return holder


def _read(fd: int) -> str:
    return os.pread(fd, 4096, 0).decode("utf-8", errors="replace")
