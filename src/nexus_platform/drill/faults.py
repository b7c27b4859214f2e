"""Faults the drill injects into the sandbox's data plane.

`kill`: a regional outage as the processes see it: SIGKILL of the region's PostgreSQL (with every backend:
they leave the postmaster's process group), its Redis and every nexus-api instance running there, the
autoscaler's spares included (sparing them left a failover recording the region half alive).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass

from nexus_platform.sandbox.dataplane import DataPlane
from nexus_platform.world.local.processes import descendants


@dataclass(frozen=True)
class Injected:
    fault: str
    role: str
    processes: tuple[str, ...]
    at: float  # monotonic clock, when the last signal was sent


def region_processes(plane: DataPlane, role: str) -> list[str]:
    """Every process the region runs: its database, its cache and each running nexus-api instance."""
    return [plane.postgres(role).name, plane.redis(role).name] + [
        instance.name for instance in plane.slots(role) if plane.processes.running(instance.name)
    ]


def kill(plane: DataPlane, names: list[str]) -> list[str]:
    """SIGKILL each named process and everything below it; the names that were running."""
    killed = []
    for name in names:
        record = plane.processes.running(name)
        if record is None:
            continue  # stopped since it was listed (an autoscaler spare)
        below = descendants(record.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(record.pid, signal.SIGKILL)
        for pid in below:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        killed.append(name)
    return killed


def kill_region(plane: DataPlane, role: str) -> Injected:
    killed = kill(plane, region_processes(plane, role))
    return Injected("kill", role, tuple(killed), time.monotonic())
