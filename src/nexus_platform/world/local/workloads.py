"""The sandbox's view of its nexus-api instances for `nexus doctor`: instances that stopped (a crashed pod),
with the last lines of their log; the service mesh is not applicable (the sandbox has none).

No kubelet restarts a sandbox instance, so "restarted recently" is "down now although wanted" (started and
never stopped by the toolkit), whatever the window; `nexus up` starts it again."""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

from nexus_platform.world.base import Mesh, Restart

LOG_LINES = 5
NO_MESH = (
    "not applicable here: the sandbox has no service mesh (its instances answer plain HTTP on 127.0.0.1; "
    "their database and cache connections are TLS, verify-full)"
)


def tail(path: Path, lines: int = LOG_LINES) -> tuple[str, ...]:
    try:
        with path.open(errors="replace") as log:
            return tuple(deque((line.rstrip("\n") for line in log if line.strip()), maxlen=lines))
    except OSError:
        return ()


class LocalWorkloads:
    def __init__(self, plane: Any) -> None:
        self.plane = plane

    def restarts(self, role: str, window_seconds: float) -> list[Restart]:
        found = []
        for instance in self.plane.slots(role):
            record = self.plane.processes.record(instance.name)
            if record is None or self.plane.processes.running(instance.name):
                continue
            found.append(
                Restart(
                    name=instance.name,
                    restarts=0,
                    reason="exited: no kubelet restarts it here (`nexus up` does)",
                    seconds_ago=None,
                    log_tail=tail(Path(record.log_path)),
                )
            )
        return found

    def deployed(self, role: str) -> str | None:
        """nexus-api's package version, as the instances run it from this checkout."""
        from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

        if not any(self.plane.processes.record(i.name) for i in self.plane.slots(role)):
            return None
        try:
            return f"nexus-api {version('nexus-api')} (local processes)"
        except PackageNotFoundError:
            return "nexus-api (local processes, version unknown)"

    def mesh(self, role: str) -> Mesh:
        return Mesh(applicable=False, detail=NO_MESH)
