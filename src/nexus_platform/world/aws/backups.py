"""The AWS world's backups: manual RDS snapshots of the writer's instance, copied into the other region
with that region's KMS key (CopyDBSnapshot with SourceRegion), tagged `nexus:made-by=nexus-backup` so that
retention touches nothing else. A verify restores the snapshot into a scratch instance in the same subnet
group and security groups as its source, waits until it is available and encrypted, records the verdict as
a tag and deletes the scratch instance.

What a verify cannot do from outside the VPC: compare the rows with the source (the instances are private);
its detail says so. Where `backup run` also made an AWS Backup recovery point of the same backup, the verify
restores that one too, through AWS Backup, and records its verdict on the restore job
(PutRestoreValidationResult: world/aws/backup_jobs.py), so AWS Backup's own reports show it.

A restore makes a new instance shaped like the region's own (class, subnet group, security groups, Multi-AZ,
deletion protection), from a snapshot or from the instance's automated backups at a point in time within its
restorable window (RDS's LatestRestorableTime back to the retention period), tagged with where it came from.
It is not wired into the platform: the operator points the workload at it, or copies from it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from nexus_platform.errors import InputError, NexusError
from nexus_platform.platform import Platform
from nexus_platform.world.aws.backup_jobs import BackupJobs
from nexus_platform.world.aws.clients import Clients, Waiting, poll, translated
from nexus_platform.world.aws.rds import actions as rds_actions
from nexus_platform.world.aws.rds import probes as rds_probes
from nexus_platform.world.base import Backup, BackupJob, CacheSnapshot, Replication, Restored, Verification

MADE_BY = ("nexus:made-by", "nexus-backup")
KIND = ("nexus:kind", "database")
VERIFIED_TAG = "nexus:verified"
SCRATCH_TAG = "nexus:scratch-for"
RESTORED_TAG = "nexus:restored-from"
CONFIG_PREFIX = "nexus-backups/config/"


def _network(template: dict[str, Any]) -> dict[str, Any]:
    """Where an instance restored beside `template` runs: its class, subnet group and security groups."""
    return {
        "DBInstanceClass": template.get("DBInstanceClass", "db.t4g.medium"),
        "DBSubnetGroupName": (template.get("DBSubnetGroup") or {}).get("DBSubnetGroupName"),
        "VpcSecurityGroupIds": rds_probes.security_groups(template),
        "PubliclyAccessible": False,
    }


def _iso(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class AwsBackups:
    def __init__(self, platform: Platform, clients: Clients, waiting: Waiting | None = None) -> None:
        self.platform, self.clients = platform, clients
        self.waiting = waiting or Waiting(delay=15.0, timeout=3600.0)
        self.jobs = BackupJobs(platform, clients, waiting)

    def _rds(self, role: str) -> Any:
        return self.clients("rds", self.platform.region(role).region)

    def _backup(self, role: str, described: dict[str, Any], tags: dict[str, str]) -> Backup:
        created = described.get("SnapshotCreateTime")
        status = str(described.get("Status", "unknown"))
        return Backup(
            id=str(described["DBSnapshotIdentifier"]),
            role=role,
            region=self.platform.region(role).region,
            created=created.timestamp() if created is not None else time.time(),
            status=status,
            source=str(described.get("DBInstanceIdentifier", "unknown")),
            size_bytes=int(described["AllocatedStorage"]) * 2**30
            if described.get("AllocatedStorage")
            else None,
            encryption_key=described.get("KmsKeyId"),
            made_by_platform=tags.get(MADE_BY[0]) == MADE_BY[1],
            verified=tags.get(VERIFIED_TAG, "").split("@")[0] or None,
        )

    def get(self, backup_id: str, role: str) -> Backup | None:
        rds = self._rds(role)
        with translated(f"describing snapshot {backup_id}"):
            described = rds_probes.snapshot(rds, backup_id)
            if described is None:
                return None
            return self._backup(role, described, rds_probes.tags(rds, described["DBSnapshotArn"]))

    def create(self, role: str, backup_id: str) -> Backup:
        rds, facts = self._rds(role), self.platform.region(role)
        if self.get(backup_id, role) is None:
            with translated(f"snapshotting {facts.db_instance_identifier}"):
                rds.create_db_snapshot(
                    DBSnapshotIdentifier=backup_id,
                    DBInstanceIdentifier=facts.db_instance_identifier,
                    Tags=[{"Key": MADE_BY[0], "Value": MADE_BY[1]}, {"Key": KIND[0], "Value": KIND[1]}],
                )
        rds_actions.wait_snapshot(rds, backup_id, self.waiting)
        made = self.get(backup_id, role)
        assert made is not None
        return made

    def copy(self, backup_id: str, source: str, to: str) -> Backup:
        if self.get(backup_id, to) is None:
            original = self.get(backup_id, source)
            if original is None:
                raise NexusError(f"no snapshot {backup_id} in {self.platform.region(source).region}")
            rds, target = self._rds(to), self.platform.region(to)
            with translated(f"describing {target.db_instance_identifier}"):
                key = (rds_probes.instance(rds, target.db_instance_identifier) or {}).get("KmsKeyId")
            arn = rds_probes.snapshot(self._rds(source), backup_id) or {}
            with translated(f"copying snapshot {backup_id} into {target.region}"):
                rds.copy_db_snapshot(
                    SourceDBSnapshotIdentifier=arn["DBSnapshotArn"],
                    TargetDBSnapshotIdentifier=backup_id,
                    SourceRegion=self.platform.region(source).region,
                    CopyTags=True,
                    **({"KmsKeyId": key} if key else {}),
                )
        rds_actions.wait_snapshot(self._rds(to), backup_id, self.waiting)
        copied = self.get(backup_id, to)
        assert copied is not None
        return copied

    def list(self) -> list[Backup]:
        found: list[Backup] = []
        for role in self.platform.regions:
            rds = self._rds(role)
            with translated(f"listing the snapshots in {self.platform.region(role).region}"):
                for described in rds_probes.manual_snapshots(rds):
                    found.append(
                        self._backup(role, described, rds_probes.tags(rds, described["DBSnapshotArn"]))
                    )
        return sorted(found, key=lambda b: (b.role, b.created))

    def verify(self, backup_id: str, role: str) -> Verification:
        rds = self._rds(role)
        snapshot = self.get(backup_id, role)
        if snapshot is None:
            return Verification(
                backup_id, role, False, f"no snapshot {backup_id} in {self.platform.region(role).region}"
            )
        source = self.platform.region(role).db_instance_identifier
        with translated(f"describing {source}"):
            template = rds_probes.instance(rds, source) or {}
        scratch = rds_actions.scratch_identifier(backup_id)
        try:
            with translated(f"restoring {backup_id} into scratch instance {scratch}"):
                if rds_probes.instance(rds, scratch) is None:
                    rds.restore_db_instance_from_db_snapshot(
                        DBInstanceIdentifier=scratch,
                        DBSnapshotIdentifier=backup_id,
                        **_network(template),
                        MultiAZ=False,
                        DeletionProtection=False,  # it is deleted again right after the check
                        Tags=[{"Key": SCRATCH_TAG, "Value": backup_id}],
                    )
            rds_actions.wait_available(rds, scratch, self.waiting)
            restored = rds_probes.instance(rds, scratch) or {}
        finally:
            with translated(f"deleting scratch instance {scratch}"):
                rds_actions.delete_scratch(rds, scratch)
        ok = restored.get("DBInstanceStatus") == "available" and bool(restored.get("StorageEncrypted"))
        detail = (
            "restored into a scratch instance: available and encrypted (row checks need a connection inside "
            "the VPC)"
            if ok
            else f"the scratch restore is {restored.get('DBInstanceStatus')}, "
            f"encrypted={restored.get('StorageEncrypted')}"
        )
        # The same backup's AWS Backup recovery point, restored and validated through AWS Backup.
        validation = self.jobs.validate_restore(role, backup_id)
        if validation is not None:
            ok = ok and validation.ok
            detail += f"; AWS Backup restore job {validation.restore_job}: {validation.status}"
            if not validation.ok:
                detail += f" ({validation.message})"
        with translated(f"recording the verdict on {backup_id}"):
            described = rds_probes.snapshot(rds, backup_id) or {}
            rds.add_tags_to_resource(
                ResourceName=described["DBSnapshotArn"],
                Tags=[{"Key": VERIFIED_TAG, "Value": f"{'PASS' if ok else 'FAIL'}@{int(time.time())}"}],
            )
        return Verification(backup_id, role, ok, detail, restore_validation=validation)

    def restore(self, role: str, name: str, backup_id: str | None, to_time: float | None) -> Restored:
        rds, facts = self._rds(role), self.platform.region(role)
        source = facts.db_instance_identifier
        if self.restored(role, name) is None:
            with translated(f"describing {source}"):
                template = rds_probes.instance(rds, source) or {}
            origin = f"backup {backup_id}" if to_time is None else f"{source} at {_iso(to_time)}"
            shape = {
                **_network(template),
                "MultiAZ": bool(template.get("MultiAZ")),
                "DeletionProtection": bool(template.get("DeletionProtection")),
                "CopyTagsToSnapshot": True,
                "Tags": [{"Key": RESTORED_TAG, "Value": origin[:256]}],
            }
            if to_time is not None:
                self._restorable(template, to_time)
                with translated(f"restoring {source} as it was at {_iso(to_time)} into {name}"):
                    rds.restore_db_instance_to_point_in_time(
                        SourceDBInstanceIdentifier=source,
                        TargetDBInstanceIdentifier=name,
                        RestoreTime=datetime.fromtimestamp(to_time, UTC),
                        **shape,
                    )
            else:
                if backup_id is None or self.get(backup_id, role) is None:
                    raise InputError(f"no snapshot {backup_id} in {facts.region}", hint="`nexus backup list`")
                with translated(f"restoring snapshot {backup_id} into {name}"):
                    rds.restore_db_instance_from_db_snapshot(
                        DBInstanceIdentifier=name, DBSnapshotIdentifier=backup_id, **shape
                    )
        rds_actions.wait_available(rds, name, self.waiting)
        restored = self.restored(role, name)
        assert restored is not None
        return restored

    @staticmethod
    def _restorable(template: dict[str, Any], to_time: float) -> None:
        """RDS restores to any second from the retention period ago up to LatestRestorableTime."""
        latest = template.get("LatestRestorableTime")
        retention = int(template.get("BackupRetentionPeriod") or 0)
        if not retention:
            raise InputError("the instance keeps no automated backups: no point in time to restore to")
        if latest is not None and to_time > latest.timestamp():
            raise InputError(
                f"{_iso(to_time)} is after the latest restorable time {_iso(latest.timestamp())}",
                hint="RDS can restore up to about five minutes ago",
            )
        earliest = time.time() - retention * 86400
        if to_time < earliest:
            raise InputError(
                f"{_iso(to_time)} is before the restorable window ({retention} days of automated backups)",
                hint="restore a snapshot instead (`nexus backup list`)",
            )

    def restored(self, role: str, name: str) -> Restored | None:
        rds = self._rds(role)
        with translated(f"describing {name}"):
            found = rds_probes.instance(rds, name)
            if found is None:
                return None
            tags = rds_probes.tags(rds, found["DBInstanceArn"])
        endpoint = found.get("Endpoint") or {}
        return Restored(
            name=name,
            role=role,
            region=self.platform.region(role).region,
            source=tags.get(RESTORED_TAG, "unknown"),
            endpoint=f"{endpoint.get('Address', '?')}:{endpoint.get('Port', '?')}",
            status=str(found.get("DBInstanceStatus", "unknown")),
        )

    def snapshot_cache(self, role: str, backup_id: str) -> CacheSnapshot:
        """CreateSnapshot of the region's replication group (ElastiCache takes it from a replica)."""
        facts = self.platform.region(role)
        elasticache = self.clients("elasticache", facts.region)
        if self.cache_snapshot(role, backup_id) is None:
            with translated(f"snapshotting cache {facts.cache_replication_group_id}"):
                elasticache.create_snapshot(
                    ReplicationGroupId=facts.cache_replication_group_id,
                    SnapshotName=backup_id,
                    Tags=[{"Key": MADE_BY[0], "Value": MADE_BY[1]}, {"Key": KIND[0], "Value": "cache"}],
                )
        poll(
            f"cache snapshot {backup_id} to be available",
            lambda: (
                (found := self.cache_snapshot(role, backup_id)) is not None and found.status == "available"
            ),
            self.waiting,
        )
        made = self.cache_snapshot(role, backup_id)
        assert made is not None
        return made

    def cache_snapshot(self, role: str, backup_id: str) -> CacheSnapshot | None:
        facts = self.platform.region(role)
        elasticache = self.clients("elasticache", facts.region)
        with translated(f"describing cache snapshot {backup_id}"):
            try:
                found = elasticache.describe_snapshots(SnapshotName=backup_id)
            except elasticache.exceptions.SnapshotNotFoundFault:
                return None
        snapshots = found.get("Snapshots") or []
        if not snapshots:
            return None
        return CacheSnapshot(
            id=backup_id,
            region=facts.region,
            source=str(snapshots[0].get("ReplicationGroupId") or facts.cache_replication_group_id),
            status=str(snapshots[0].get("SnapshotStatus", "unknown")),
        )

    def export_config(self, role: str, backup_id: str, document: Mapping[str, Any]) -> str:
        """A JSON object in the region's state bucket (the bucket's default encryption: its KMS key)."""
        facts = self.platform.region(role)
        key = f"{CONFIG_PREFIX}{backup_id}.json"
        with translated(f"writing s3://{facts.state_bucket}/{key}"):
            self.clients("s3", facts.region).put_object(
                Bucket=facts.state_bucket,
                Key=key,
                Body=json.dumps(document, indent=2).encode(),
                ContentType="application/json",
                Tagging=f"{MADE_BY[0]}={MADE_BY[1]}",
            )
        return f"s3://{facts.state_bucket}/{key}"

    def config_export(self, role: str, backup_id: str) -> str | None:
        from botocore.exceptions import ClientError  # noqa: PLC0415

        facts = self.platform.region(role)
        key = f"{CONFIG_PREFIX}{backup_id}.json"
        try:
            self.clients("s3", facts.region).head_object(Bucket=facts.state_bucket, Key=key)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return f"s3://{facts.state_bucket}/{key}"

    def backup_job(self, role: str, backup_id: str) -> BackupJob:
        return self.jobs.start(role, backup_id)

    def replication(self, role: str) -> Replication:
        return self.jobs.replication(role)

    def delete(self, backup_id: str, role: str) -> None:
        if self.get(backup_id, role) is None:
            return
        with translated(f"deleting snapshot {backup_id}"):
            self._rds(role).delete_db_snapshot(DBSnapshotIdentifier=backup_id)
