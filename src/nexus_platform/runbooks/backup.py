"""Backups of the platform's database, world-blind (world/base.py's `Backups`): `run` takes a backup of the
writer's database, copies it into the other region, snapshots the writer's cache and exports the configuration
that is not in Git under the same id; `restore` makes a new instance from one; `prune` enforces the retention;
the rules live here, the calls in each world.

A run's backup id is chosen once and journaled (a resumed run finishes the same backup); each step asks the
world whether it is already done, so a second run of the same id changes nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from nexus_platform import telemetry
from nexus_platform.errors import NexusError
from nexus_platform.ops.context import Context
from nexus_platform.ops.step import Call, Precondition, Runbook, Step
from nexus_platform.platform import Platform
from nexus_platform.runbooks.dr import Target
from nexus_platform.world.base import Backup, Backups

DAY_SECONDS = 86400


def backups_of(target: Target) -> Backups:
    if target.world.backups is None:
        raise NexusError(f"the {target.world.name} world has no backups", hint="use --world aws or local")
    return target.world.backups


def new_id(platform: Platform, role: str, now: float | None = None) -> str:
    """`<db instance identifier>-nexus-<UTC time>`: valid as an RDS snapshot identifier (letters, digits and
    single hyphens, starting with a letter) and sortable by time."""
    stamp = datetime.fromtimestamp(time.time() if now is None else now, UTC).strftime("%Y%m%d-%H%M%S")
    return f"{platform.region(role).db_instance_identifier}-nexus-{stamp}"


def _target(ctx: Context) -> Target:
    world: Target = ctx.world
    return world


def _backup_json(backup: Backup) -> dict[str, Any]:
    return {
        "id": backup.id,
        "region": backup.region,
        "size_bytes": backup.size_bytes,
        "encryption_key": backup.encryption_key,
        "source": backup.source,
    }


def _is_writer(ctx: Context) -> bool | str:
    source = str(ctx.params["source"])
    if _target(ctx).world.database.role(source) == "primary":
        return True
    return f"the {source} region's database is not the writer: back up the one that is"


def configuration(target: Target, env: str, backup_id: str) -> dict[str, Any]:
    """What configures the platform and is not in Git: the platform model read from Terraform's outputs (ids,
    endpoints, ARNs) and the nexus-api version each region runs."""
    workloads = target.world.workloads
    deployed: dict[str, str | None] = {}
    for role in target.platform.regions:
        try:
            deployed[role] = workloads.deployed(role) if workloads else None
        except NexusError as exc:
            deployed[role] = f"unknown: {exc}"
    return {
        "backup_id": backup_id,
        "env": env,
        "world": target.world.name,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "platform": json.loads(json.dumps(asdict(target.platform), default=str)),
        "deployed": deployed,
    }


def run() -> Runbook:
    def snapshot(ctx: Context) -> Mapping[str, Any]:
        backup = backups_of(_target(ctx)).create(ctx.params["source"], ctx.params["backup_id"])
        return _backup_json(backup)

    def copy(ctx: Context) -> Mapping[str, Any]:
        source, to = ctx.params["source"], ctx.params["copy_to"]
        return _backup_json(backups_of(_target(ctx)).copy(ctx.params["backup_id"], source, to))

    def publish(ctx: Context) -> Mapping[str, Any]:
        """The backups' times as nexus_ops_backup_last_success_timestamp_seconds (BackupTooOld's input)."""
        url = ctx.params.get("pushgateway")
        if not url:
            ctx.note("not published: no Pushgateway (--pushgateway URL or NEXUS_PUSHGATEWAY_URL)")
            return {"published": False}
        store, pushed = backups_of(_target(ctx)), []
        for key, kind in (("source", "rds-snapshot"), ("copy_to", "rds-snapshot-copy")):
            made = store.get(ctx.params["backup_id"], ctx.params[key])
            if made is None:
                raise NexusError(f"backup {ctx.params['backup_id']} is missing in {ctx.params[key]}")
            labels = {"region": made.region, "kind": kind}
            telemetry.push(
                str(url),
                [telemetry.Sample(telemetry.BACKUP_LAST_SUCCESS_TIMESTAMP, labels, made.created)],
                labels,
            )
            pushed.append({**labels, "timestamp": made.created})
        return {"published": True, "pushgateway": url, "series": pushed}

    def snapshot_cache(ctx: Context) -> Mapping[str, Any]:
        made = backups_of(_target(ctx)).snapshot_cache(ctx.params["source"], ctx.params["backup_id"])
        return dict(made.__dict__)

    def export_config(ctx: Context) -> Mapping[str, Any]:
        document = configuration(_target(ctx), ctx.env, ctx.params["backup_id"])
        where = backups_of(_target(ctx)).export_config(
            ctx.params["source"], ctx.params["backup_id"], document
        )
        return {"location": where, "regions": sorted(document["deployed"])}

    def backup_job(ctx: Context) -> Mapping[str, Any]:
        job = backups_of(_target(ctx)).backup_job(ctx.params["source"], ctx.params["backup_id"])
        return dict(job.__dict__)

    def check_replication(ctx: Context) -> Mapping[str, Any]:
        """Each region's state bucket toward the other (the app state replicates both ways): a failed
        replication operation, a rule without metrics or no rule at all fails the run, after the rest."""
        store, found = backups_of(_target(ctx)), {}
        for role in _target(ctx).platform.regions:
            found[role] = store.replication(role)
        broken = [f"{role}: {r.detail}" for role, r in found.items() if not r.ok]
        if broken:
            raise NexusError(
                "S3 replication of the application state is not healthy: " + "; ".join(broken),
                hint="see the bucket's replication rule and AWS/S3 OperationsFailedReplication in CloudWatch",
            )
        return {role: dict(r.__dict__) for role, r in found.items()}

    def found(reader: str) -> Callable[[Context], bool]:
        """Done when `reader` (a Backups method) finds something under the id in the writer's region."""
        return lambda ctx: (
            getattr(backups_of(_target(ctx)), reader)(ctx.params["source"], ctx.params["backup_id"])
            is not None
        )

    def call(action: str) -> Callable[[Context], list[Call]]:
        return lambda ctx: [
            Call("backups", action, {"region": ctx.params["source"], "id": ctx.params["backup_id"]})
        ]

    def exists(key: str) -> Any:
        return lambda ctx: backups_of(_target(ctx)).get(ctx.params["backup_id"], ctx.params[key]) is not None

    return Runbook(
        "backup.run",
        "back up the writer's database and copy the backup into the other region",
        (
            Step(
                "snapshot-database",
                "take a backup of the writer's database (tagged as the platform's)",
                reversible=True,
                apply=snapshot,
                done=exists("source"),
                preconditions=(Precondition("source-is-writer", _is_writer),),
                calls=lambda ctx: [
                    Call("backups", "create", {"region": ctx.params["source"], "id": ctx.params["backup_id"]})
                ],
            ),
            Step(
                "copy-to-other-region",
                "copy it into the other region, encrypted with that region's key",
                reversible=True,
                apply=copy,
                done=exists("copy_to"),
                calls=lambda ctx: [
                    Call(
                        "backups",
                        "copy",
                        {
                            "id": ctx.params["backup_id"],
                            "from": ctx.params["source"],
                            "to": ctx.params["copy_to"],
                        },
                    )
                ],
            ),
            Step(
                "snapshot-cache",
                "snapshot the writer's cache under the same id",
                reversible=True,
                apply=snapshot_cache,
                done=found("cache_snapshot"),
                calls=call("snapshot_cache"),
            ),
            Step(
                "export-configuration",
                "store the configuration that is not in Git (Terraform's outputs, the versions deployed)",
                reversible=True,
                apply=export_config,
                done=found("config_export"),
                calls=call("export_config"),
            ),
            Step(
                "aws-backup-job",
                "run an on-demand AWS Backup job of the writer's database into the region's vault",
                reversible=True,
                apply=backup_job,
                calls=call("backup_job"),
            ),
            Step(
                "publish-status",
                "publish the backups' times to the Pushgateway (BackupTooOld, BackupStatusMissing)",
                reversible=True,
                apply=publish,
                calls=lambda ctx: [
                    Call(
                        "telemetry", "push", {"url": ctx.params.get("pushgateway"), "job": telemetry.PUSH_JOB}
                    )
                ],
            ),
            Step(
                "check-s3-replication",
                "check the application state's S3 replication (rule, failed and pending operations)",
                reversible=True,
                apply=check_replication,
                calls=lambda ctx: [
                    Call("backups", "replication", {"region": role}) for role in _target(ctx).platform.regions
                ],
            ),
        ),
    )


def restore_runbook() -> Runbook:
    """One step: a new instance from the backup (or the point in time), checked where the world can."""

    def store(ctx: Context) -> Backups:
        return backups_of(_target(ctx))

    def apply(ctx: Context) -> Mapping[str, Any]:
        p = ctx.params
        made = store(ctx).restore(p["region"], p["name"], p.get("backup_id"), p.get("to_time"))
        ctx.note(
            f"{made.name} takes connections at {made.endpoint}; it is not wired into the platform: point "
            "the workload at it, or copy from it"
        )
        return dict(made.__dict__)

    def done(ctx: Context) -> bool:
        made = store(ctx).restored(ctx.params["region"], ctx.params["name"])
        return made is not None and made.status == "available"

    def backup_exists(ctx: Context) -> bool | str:
        p = ctx.params
        if p.get("to_time") is not None:
            return True
        found = store(ctx).get(str(p["backup_id"]), p["region"])
        if found is not None and found.status == "available":
            return True
        return f"no available backup {p['backup_id']} in the {p['region']} region"

    return Runbook(
        "backup.restore",
        "restore a backup, or the database at a point in time, into a new instance",
        (
            Step(
                "restore-into-new-instance",
                "restore into a new instance (the platform's own database is not touched)",
                reversible=True,
                apply=apply,
                done=done,
                preconditions=(Precondition("backup-exists", backup_exists),),
                calls=lambda ctx: [
                    Call(
                        "backups",
                        "restore",
                        {k: ctx.params.get(k) for k in ("region", "name", "backup_id", "to_time")},
                    )
                ],
            ),
        ),
    )


def prunable(backups: Sequence[Backup], now: float, retention_days: int) -> list[Backup]:
    """What retention deletes: the platform's own backups older than `retention_days`, except, in each
    region, the newest one that is available and has not failed a verify (never left without a good one)."""
    cutoff = now - retention_days * DAY_SECONDS
    keep: set[tuple[str, str]] = set()
    for role in {b.role for b in backups}:
        good = [b for b in backups if b.role == role and b.status == "available" and b.verified != "FAIL"]
        if good:
            newest = max(good, key=lambda b: b.created)
            keep.add((newest.role, newest.id))
    return [
        b
        for b in sorted(backups, key=lambda b: (b.role, b.created))
        if b.made_by_platform and b.created < cutoff and (b.role, b.id) not in keep
    ]


def prune(doomed: Sequence[Backup]) -> Runbook:
    """One step per backup to delete (the list is judged when the run is planned)."""

    def step(backup: Backup) -> Step:
        def apply(ctx: Context) -> Mapping[str, Any]:
            backups_of(_target(ctx)).delete(backup.id, backup.role)
            return {"deleted": backup.id, "region": backup.region}

        return Step(
            f"delete-{backup.role}-{backup.id}".lower(),
            f"delete {backup.id} in {backup.region} "
            f"({(time.time() - backup.created) / DAY_SECONDS:.0f} days old)",
            reversible=False,
            apply=apply,
            done=lambda ctx: backups_of(_target(ctx)).get(backup.id, backup.role) is None,
            calls=lambda ctx: [Call("backups", "delete", {"id": backup.id, "region": backup.region})],
        )

    return Runbook(
        "backup.prune", "delete the platform's backups past their retention", tuple(step(b) for b in doomed)
    )
