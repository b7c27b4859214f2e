"""The small interfaces the runbooks drive, each with two implementations: AWS (`world/aws`) and the sandbox's
local processes (`world/local`). A runbook sees only these; it never knows which world it drives.

Regions are named by their role in the platform model (``"primary"`` or ``"dr"``: where Terraform put them),
never by which one serves now: after a failover the ``"dr"`` region's database is the writer. Every method
either does what it says or raises ``NexusError`` with one line; every ``is_*`` / read method is side-effect
free, so the engine can re-check the world before it resumes an irreversible step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Lag:
    """How far a region's replica is behind its source; None where the world cannot tell."""

    bytes: int | None
    seconds: float | None
    streaming: bool
    # The source waits for this replica to apply each commit before acknowledging it (PostgreSQL's
    # synchronous_commit = remote_apply): a streaming synchronous replica has every acknowledged write.
    synchronous: bool = False


@dataclass(frozen=True)
class Capacity:
    """A region's compute: workload replicas ready and wanted, and nodes."""

    ready: int
    desired: int
    nodes: int | None = None


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    region: str | None  # the region that served, if the answer says
    status: int | None
    milliseconds: float
    detail: str = ""


class Database(Protocol):
    def role(self, role: str) -> str:
        """'primary', 'replica', or 'down' (unreachable)."""

    def lag(self, role: str) -> Lag:
        """Lag of the replica in `role` behind its source."""

    def fence(self, role: str) -> None:
        """Make the database of `role` accept no more application writes (idempotent)."""

    def is_fenced(self, role: str) -> bool:
        """True when `role`'s database cannot take an application write (fenced, read-only, or down)."""

    def promote(self, role: str) -> None:
        """Promote `role`'s replica to a standalone writable primary (idempotent once promoted)."""

    def reseed_as_replica(self, role: str, source: str) -> None:
        """Rebuild `role`'s database as a replica of `source`'s (failback's first half)."""

    def caught_up(self, role: str) -> bool:
        """True when `role`'s replica has applied everything its source has written (its source fenced or
        idle); worlds that cannot compare positions answer from a zero replica lag."""


class Cache(Protocol):
    def role(self, role: str) -> str:
        """'primary', 'replica' or 'down'."""

    def promote(self, role: str) -> None:
        """Make `role`'s cache the writable one (global datastore failover / REPLICAOF NO ONE)."""

    def follow(self, role: str, source: str) -> None:
        """Make `role`'s cache a replica of `source`'s."""


class Traffic(Protocol):
    def health(self, role: str) -> str:
        """The edge's view of the region: 'healthy', 'unhealthy' or 'drained'."""

    def serving(self) -> str | None:
        """The region the global endpoint sends traffic to now."""

    def drain(self, role: str) -> None:
        """Take `role` out of the global endpoint (idempotent)."""

    def restore(self, role: str) -> None:
        """Put `role` back behind the global endpoint (idempotent)."""

    def record_ttls(self) -> dict[str, int] | None:
        """How long clients cache each of the platform's DNS answers ("<name> <type>" -> seconds); None where
        the world fails over without DNS."""


class Compute(Protocol):
    def capacity(self, role: str) -> Capacity: ...

    def scale(self, role: str, replicas: int) -> None:
        """Scale `role`'s workload (and, where the world has them, its node groups) to `replicas`."""


class Probe(Protocol):
    def write(self, record_id: str) -> ProbeResult:
        """An idempotent write through the global endpoint."""

    def read(self, record_id: str, role: str | None = None) -> ProbeResult:
        """A no-cache read through the global endpoint, or from one region's API."""


@dataclass(frozen=True)
class World:
    """One world's adapters, handed to the runbooks."""

    name: str  # "aws" | "sandbox"
    database: Database
    cache: Cache
    traffic: Traffic
    compute: Compute
    probe: Probe
