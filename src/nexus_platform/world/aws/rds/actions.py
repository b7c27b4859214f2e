"""Changes: promote a read replica, rename an instance aside, create a cross-region read replica; each waits
with a botocore waiter (the service's own, or a custom model in botocore's format where RDS has none)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.waiter import WaiterModel, create_waiter_with_client

from nexus_platform.errors import NexusError
from nexus_platform.world.aws.clients import Waiting, translated, wait
from nexus_platform.world.aws.rds import probes

_FAILED = ("deleted", "deleting", "failed", "incompatible-parameters", "incompatible-restore")

# Waiters RDS does not define. "Detached": the instance no longer names a replication source (what a promotion
# changes first; db_instance_available alone can succeed before the promotion has even started). "Renamed":
# the instance answers under its new identifier, which DescribeDBInstances does not know until the rename is
# done.
WAITERS = WaiterModel(
    {
        "version": 2,
        "waiters": {
            "DBInstanceDetached": {
                "operation": "DescribeDBInstances",
                "delay": 15,
                "maxAttempts": 80,
                "acceptors": [
                    {
                        "matcher": "path",
                        "argument": "length(DBInstances[?!ReadReplicaSourceDBInstanceIdentifier]) > `0`",
                        "expected": True,
                        "state": "success",
                    },
                    *(
                        {
                            "matcher": "pathAny",
                            "argument": "DBInstances[].DBInstanceStatus",
                            "expected": status,
                            "state": "failure",
                        }
                        for status in _FAILED
                    ),
                ],
            },
            "DBInstanceRenamed": {
                "operation": "DescribeDBInstances",
                "delay": 15,
                "maxAttempts": 80,
                "acceptors": [
                    {
                        "matcher": "pathAll",
                        "argument": "DBInstances[].DBInstanceStatus",
                        "expected": "available",
                        "state": "success",
                    },
                    {"matcher": "error", "expected": "DBInstanceNotFound", "state": "retry"},
                    *(
                        {
                            "matcher": "pathAny",
                            "argument": "DBInstances[].DBInstanceStatus",
                            "expected": status,
                            "state": "failure",
                        }
                        for status in _FAILED
                    ),
                ],
            },
        },
    }
)


def _waiter(rds: Any, name: str) -> Any:
    return create_waiter_with_client(name, WAITERS, rds)


def wait_available(rds: Any, identifier: str, waiting: Waiting, timeout: float | None = None) -> None:
    wait(
        rds.get_waiter("db_instance_available"),
        f"{identifier} to be available",
        waiting,
        timeout,
        DBInstanceIdentifier=identifier,
    )


def promote(rds: Any, identifier: str, *, backup_retention_days: int, waiting: Waiting) -> bool:
    """Promote the read replica `identifier` to a standalone instance and wait until it is available; False
    (nothing done) when it is standalone already."""
    described = probes.instance(rds, identifier)
    if described is None:
        raise NexusError(
            f"there is no DB instance {identifier}", hint="check the platform's Terraform outputs"
        )
    if described.get("DBInstanceStatus") != "available":
        # AWS refuses to promote a replica that is backing up; and a promotion begun by an interrupted run
        # is finished once the instance is available again.
        wait_available(rds, identifier, waiting)
        described = probes.instance(rds, identifier) or described
    if probes.source_of(described) is None:
        return False
    retention = max(int(described.get("BackupRetentionPeriod") or 0), backup_retention_days)
    request: dict[str, Any] = {"DBInstanceIdentifier": identifier, "BackupRetentionPeriod": retention}
    if described.get("PreferredBackupWindow"):
        request["PreferredBackupWindow"] = described["PreferredBackupWindow"]
    with translated(f"promoting {identifier}"):
        rds.promote_read_replica(**request)
    wait(_waiter(rds, "DBInstanceDetached"), f"{identifier} to leave its source", waiting,
         DBInstanceIdentifier=identifier)  # fmt: skip
    wait_available(rds, identifier, waiting)
    return True


def aside_identifier(identifier: str, now: datetime | None = None) -> str:
    """The name an instance is renamed to before a new one takes its identifier (63 characters at most)."""
    suffix = f"-old-{(now or datetime.now(UTC)):%Y%m%d%H%M%S}"
    return identifier[: 63 - len(suffix)].rstrip("-") + suffix


def set_aside(rds: Any, identifier: str, waiting: Waiting) -> str:
    """Rename `identifier` to a free `<identifier>-old-<timestamp>` and wait until the rename is done."""
    aside = aside_identifier(identifier)
    with translated(f"renaming {identifier} to {aside}"):
        rds.modify_db_instance(
            DBInstanceIdentifier=identifier, NewDBInstanceIdentifier=aside, ApplyImmediately=True
        )
    wait(_waiter(rds, "DBInstanceRenamed"), f"{identifier} to be renamed {aside}", waiting,
         DBInstanceIdentifier=aside)  # fmt: skip
    return aside


def latest_aside(rds: Any, identifier: str) -> dict[str, Any] | None:
    """The most recent instance `set_aside` made of `identifier` (the timestamp sorts)."""
    prefix = aside_identifier(identifier, datetime(2000, 1, 1, tzinfo=UTC))[: -len("20000101000000")]
    candidates = [i for i in probes.instances(rds) if i["DBInstanceIdentifier"].startswith(prefix)]
    return max(candidates, key=lambda i: i["DBInstanceIdentifier"]) if candidates else None


def replica_settings(template: dict[str, Any]) -> dict[str, Any]:
    """CreateDBInstanceReadReplica parameters that rebuild `template` (its class, network, region's KMS key,
    parameter group, monitoring, protection, tags) as a replica."""
    parameter_groups = template.get("DBParameterGroups") or [{}]
    settings = {
        "DBInstanceClass": template.get("DBInstanceClass"),
        "DBSubnetGroupName": (template.get("DBSubnetGroup") or {}).get("DBSubnetGroupName"),
        "VpcSecurityGroupIds": probes.security_groups(template) or None,
        "KmsKeyId": template.get("KmsKeyId"),
        "StorageType": template.get("StorageType"),
        "MaxAllocatedStorage": template.get("MaxAllocatedStorage"),
        "MultiAZ": template.get("MultiAZ"),
        "Port": probes.port(template),
        "PubliclyAccessible": template.get("PubliclyAccessible"),
        "DBParameterGroupName": parameter_groups[0].get("DBParameterGroupName"),
        "EnableIAMDatabaseAuthentication": template.get("IAMDatabaseAuthenticationEnabled"),
        "EnableCloudwatchLogsExports": template.get("EnabledCloudwatchLogsExports") or None,
        "DeletionProtection": template.get("DeletionProtection"),
        "CopyTagsToSnapshot": template.get("CopyTagsToSnapshot"),
        "AutoMinorVersionUpgrade": template.get("AutoMinorVersionUpgrade"),
        "BackupRetentionPeriod": template.get("BackupRetentionPeriod"),
        "Tags": template.get("TagList") or None,
    }
    if template.get("MonitoringInterval"):
        settings.update(MonitoringInterval=template["MonitoringInterval"],
                        MonitoringRoleArn=template.get("MonitoringRoleArn"))  # fmt: skip
    if template.get("PerformanceInsightsEnabled"):
        settings.update(
            EnablePerformanceInsights=True,
            PerformanceInsightsKMSKeyId=template.get("PerformanceInsightsKMSKeyId"),
            PerformanceInsightsRetentionPeriod=template.get("PerformanceInsightsRetentionPeriod"),
        )
    return {key: value for key, value in settings.items() if value is not None}


def replica_parameters(rds: Any, template: dict[str, Any]) -> dict[str, Any]:
    """`replica_settings` limited to what this botocore's CreateDBInstanceReadReplica accepts."""
    accepted = rds.meta.service_model.operation_model("CreateDBInstanceReadReplica").input_shape.members
    return {k: v for k, v in replica_settings(template).items() if k in accepted}


def create_replica(
    rds: Any,
    identifier: str,
    *,
    source_arn: str,
    source_region: str,
    template: dict[str, Any],
    waiting: Waiting,
) -> None:
    """Create `identifier` as a read replica of `source_arn` (another region) shaped like `template`, then
    wait until it is available (for a large database, tens of minutes to hours: it starts from a
    snapshot)."""
    settings = replica_parameters(rds, template)
    with translated(f"creating {identifier} as a read replica of {source_arn}"):
        # SourceRegion makes botocore presign the request the source region must see (PreSignedUrl).
        rds.create_db_instance_read_replica(
            DBInstanceIdentifier=identifier,
            SourceDBInstanceIdentifier=source_arn,
            SourceRegion=source_region,
            **settings,
        )
    wait_available(rds, identifier, waiting)


def wait_snapshot(rds: Any, identifier: str, waiting: Waiting) -> None:
    wait(
        rds.get_waiter("db_snapshot_available"),
        f"snapshot {identifier} to be available",
        waiting,
        None,
        DBSnapshotIdentifier=identifier,
    )


def scratch_identifier(snapshot_id: str) -> str:
    """A DB instance identifier (at most 63 characters) for a verify's scratch restore of `snapshot_id`."""
    import hashlib  # noqa: PLC0415

    return f"nexus-verify-{hashlib.sha256(snapshot_id.encode()).hexdigest()[:16]}"


def delete_scratch(rds: Any, identifier: str) -> None:
    """Delete a verify's scratch instance, with no final snapshot or automated backups (idempotent)."""
    if probes.instance(rds, identifier) is not None:
        rds.delete_db_instance(
            DBInstanceIdentifier=identifier, SkipFinalSnapshot=True, DeleteAutomatedBackups=True
        )
