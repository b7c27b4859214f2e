"""Faults the drill injects into the sandbox's data plane.

`kill`: a regional outage as the processes see it: SIGKILL of the region's PostgreSQL (with every backend:
they leave the postmaster's process group), its Redis and every nexus-api instance running there, the
autoscaler's spares included (sparing them left a failover recording the region half alive).

`partition`: the region keeps running but the rest of the world loses it: the inter-region link is cut (no
replication either way, as when the regions cannot reach each other) and the edge's path to the region goes
to a black hole, a socket that accepts nothing, so its health checks time out as they do when packets are
dropped (an unreachable network rarely answers with a refusal). Clients that reach the region directly keep
writing there: the runbook must fence it. `heal()` undoes both before the failback.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from nexus_platform import model
from nexus_platform.sandbox.dataplane import DataPlane
from nexus_platform.world.local.link import LinkControl
from nexus_platform.world.local.processes import descendants


@dataclass
class Injected:
    fault: str
    role: str
    processes: tuple[str, ...]
    at: float  # monotonic clock, when the fault was complete
    #: What undoes the fault, in the order it was done (undone in reverse).
    undo: list[Callable[[], object]] = field(default_factory=list, repr=False)

    def heal(self) -> None:
        """Undo what can be undone (a partition); a kill is undone by the failback, not here."""
        while self.undo:
            with contextlib.suppress(Exception):
                self.undo.pop()()


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


def black_hole() -> socket.socket:
    """A listening socket that never accepts: connections hang until their timeout, as dropped packets do."""
    hole = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    hole.bind((model.LOCALHOST, 0))
    hole.listen(0)
    return hole


def partition_region(plane: DataPlane, role: str) -> Injected:
    region = plane.region(role)
    runtime = plane.runtime()
    host, _, port = runtime.region_state(region).address.rpartition(":")
    link = LinkControl(model.LOCALHOST, plane.config.link_control_port)
    injected = Injected("partition", role, (), 0.0)
    hole = black_hole()
    injected.undo.append(hole.close)
    runtime.set_address(region, model.LOCALHOST, int(hole.getsockname()[1]))
    injected.undo.append(lambda: runtime.set_address(region, host, int(port)))
    link.cut()
    injected.undo.append(link.restore)
    injected.at = time.monotonic()
    return injected


def inject(plane: DataPlane, fault: str, role: str = "primary") -> Injected:
    if fault == "kill":
        return kill_region(plane, role)
    return partition_region(plane, role)
