"""The small interfaces the runbooks drive, each with two implementations: AWS (`world/aws`) and the sandbox's
local processes (`world/local`). A runbook sees only these; it never knows which world it drives.

Regions are named by their role in the platform model (``"primary"`` or ``"dr"``: where Terraform put them),
never by which one serves now: after a failover the ``"dr"`` region's database is the writer. Every method
either does what it says or raises ``NexusError`` with one line; every ``is_*`` / read method is side-effect
free, so the engine can re-check the world before it resumes an irreversible step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


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

    def failed_checks(self, role: str) -> int | None:
        """How many consecutive health checks of the region the edge has seen fail (0: the last passed), as
        the edge counts them toward its failure threshold; None where the edge does not say (the watch then
        counts its own readings of `health`)."""

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

    def desired(self, role: str) -> int:
        """The workload's wanted replicas, without reading their readiness: what the runbooks size and record
        (in the sandbox readiness is a probe of each instance, which a partitioned region makes wait)."""

    def scale(self, role: str, replicas: int) -> None:
        """Scale `role`'s workload (and, where the world has them, its node groups) to `replicas`."""


class Probe(Protocol):
    def write(self, record_id: str) -> ProbeResult:
        """An idempotent write through the global endpoint."""

    def read(self, record_id: str, role: str | None = None) -> ProbeResult:
        """A no-cache read through the global endpoint, or from one region's API."""


@dataclass(frozen=True)
class Backup:
    """One backup of a region's database: an RDS snapshot on AWS, a dump in the region's bucket in the
    sandbox. `made_by_platform`: tagged by `nexus backup` (prune touches no other); `verified`: the last
    verify's verdict ("PASS"/"FAIL") or None."""

    id: str
    role: str
    region: str
    created: float  # unix time
    status: str  # "available" | "creating" | "failed"
    source: str  # the database it was taken from
    size_bytes: int | None
    encryption_key: str | None
    made_by_platform: bool
    verified: str | None = None


@dataclass(frozen=True)
class TableCheck:
    """One table restored from a backup against what the source held when the backup was taken."""

    table: str
    rows: int | None
    expected_rows: int | None
    checksum: str | None
    expected_checksum: str | None

    @property
    def ok(self) -> bool:
        return (self.rows, self.checksum) == (self.expected_rows, self.expected_checksum)


@dataclass(frozen=True)
class RestoreValidation:
    """A restore of a backup's AWS Backup recovery point (StartRestoreJob into a scratch instance, removed
    afterwards) and the validation result recorded on that restore job (PutRestoreValidationResult)."""

    restore_job: str
    recovery_point: str
    status: (
        str  # SUCCESSFUL | FAILED (the validation), or the restore job's own state when it did not complete
    )
    message: str

    @property
    def ok(self) -> bool:
        return self.status == "SUCCESSFUL"


@dataclass(frozen=True)
class Verification:
    backup_id: str
    role: str
    ok: bool
    detail: str
    tables: tuple[TableCheck, ...] = field(default_factory=tuple)
    restore_validation: RestoreValidation | None = None


@dataclass(frozen=True)
class CacheSnapshot:
    """A snapshot of a region's cache taken with a database backup (same id): an ElastiCache snapshot on
    AWS, an RDB file in the region's bucket in the sandbox."""

    id: str
    region: str
    source: str  # the replication group (or Redis) it was taken from
    status: str
    size_bytes: int | None = None


@dataclass(frozen=True)
class BackupJob:
    """An on-demand AWS Backup job of a region's database and the recovery point it made."""

    id: str
    vault: str
    resource: str
    recovery_point: str | None
    state: str
    message: str | None = None


@dataclass(frozen=True)
class Replication:
    """The state bucket's replication toward the other region: a verdict and what it rests on."""

    bucket: str
    destination: str | None
    rule: str | None
    ok: bool
    failed_operations: float | None  # in the last hour; None: no datapoints
    pending_operations: float | None  # the latest value; None: no datapoints
    detail: str


@dataclass(frozen=True)
class Restored:
    """A database restored into a new instance: from a backup, or to a point in time."""

    name: str
    role: str
    region: str
    source: str  # "backup <id>" or "<source db> at <ISO time>"
    endpoint: str  # host:port
    status: str  # "available" once it takes connections
    detail: str = ""


class Backups(Protocol):
    def create(self, role: str, backup_id: str) -> Backup:
        """Back up `role`'s database now (waits until it is available); the tags mark it as the platform's."""

    def copy(self, backup_id: str, source: str, to: str) -> Backup:
        """Copy a backup from `source`'s region into `to`'s, encrypted with `to`'s key (idempotent)."""

    def get(self, backup_id: str, role: str) -> Backup | None: ...

    def list(self) -> list[Backup]:
        """Every database backup in both regions, the platform's and others'."""

    def verify(self, backup_id: str, role: str) -> Verification:
        """Restore the backup into a scratch database, compare it with the source at the backup's time,
        record the verdict on the backup, and remove the scratch copy."""

    def delete(self, backup_id: str, role: str) -> None:
        """Delete the backup (idempotent)."""

    def restore(self, role: str, name: str, backup_id: str | None, to_time: float | None) -> Restored:
        """A new instance `name` in `role`'s region from the backup, or from the region's database as it was
        at `to_time` (point in time); waits until it takes connections. Idempotent by name."""

    def restored(self, role: str, name: str) -> Restored | None:
        """The instance a restore made under `name`, if there is one."""

    def snapshot_cache(self, role: str, backup_id: str) -> CacheSnapshot:
        """Snapshot `role`'s cache under the backup's id, tagged as the platform's; waits until it is done."""

    def cache_snapshot(self, role: str, backup_id: str) -> CacheSnapshot | None: ...

    def export_config(self, role: str, backup_id: str, document: Mapping[str, Any]) -> str:
        """Store what configures the platform beside its backup (what is not in Git); returns where."""

    def config_export(self, role: str, backup_id: str) -> str | None:
        """Where the backup's configuration export is, if it was made."""

    def backup_job(self, role: str, backup_id: str) -> BackupJob:
        """An on-demand AWS Backup job of `role`'s database into the region's vault (idempotent by the
        backup's id); waits until it ends, and a job that does not complete is an error."""

    def replication(self, role: str) -> Replication:
        """How the region's state bucket replicates into the other region's (configuration and metrics)."""


@dataclass(frozen=True)
class NodeGroupSize:
    name: str
    min: int
    desired: int
    max: int


@dataclass(frozen=True)
class Scale:
    """What a region runs and may run: node groups, the workload and its autoscaler's bounds, the database's
    read replicas and the cache's replicas per shard. None where the world cannot tell."""

    role: str
    region: str
    node_groups: tuple[NodeGroupSize, ...]
    api_ready: int
    api_desired: int
    api_min: int | None
    api_max: int | None
    db_read_replicas: int | None
    cache_replicas_per_shard: int | None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Quotas:
    """The most a region may run of each, where the world knows it (None: no known limit)."""

    api_replicas: int | None
    node_group_size: int | None
    db_read_replicas: int | None
    cache_replicas_per_shard: int | None


class Scaling(Protocol):
    def show(self, role: str) -> Scale: ...

    def quotas(self, role: str) -> Quotas: ...

    def set_nodes(self, role: str, group: str, low: int, desired: int, high: int) -> None:
        """Resize one node group (returns once the change is accepted, not once the nodes are there)."""

    def set_api_bounds(self, role: str, low: int, high: int) -> None:
        """nexus-api's autoscaler bounds in the region."""

    def set_db_read_replicas(self, role: str, count: int) -> None:
        """Create or delete the writer's read replicas until it has `count` (the DR replica included)."""

    def set_cache_replicas(self, role: str, count: int) -> None:
        """Replicas per shard of the region's replication group."""


@dataclass(frozen=True)
class Restart:
    """A workload replica that stopped recently: restarted by its kubelet (AWS) or left down (the sandbox)."""

    name: str
    restarts: int
    reason: str  # "OOMKilled", "Error (exit 1)", "exited: no kubelet restarts it"
    seconds_ago: float | None
    log_tail: tuple[str, ...]  # its last lines before it stopped


@dataclass(frozen=True)
class Mesh:
    """The service mesh around the workload; `applicable` False where the world has none (the sandbox)."""

    applicable: bool
    pods: int = 0
    without_sidecar: tuple[str, ...] = ()
    mtls: str | None = None  # the PeerAuthentication mode in force: STRICT, PERMISSIVE, ...; None: no policy
    detail: str = ""


class Workloads(Protocol):
    def restarts(self, role: str, window_seconds: float) -> list[Restart]:
        """The workload's replicas that stopped within the window, with their last log lines."""

    def mesh(self, role: str) -> Mesh: ...

    def deployed(self, role: str) -> str | None:
        """The nexus-api version the region runs (its image), None when it runs none."""


@dataclass(frozen=True)
class World:
    """One world's adapters, handed to the runbooks."""

    name: str  # "aws" | "sandbox"
    database: Database
    cache: Cache
    traffic: Traffic
    compute: Compute
    probe: Probe
    backups: Backups | None = None
    scaling: Scaling | None = None
    workloads: Workloads | None = None
