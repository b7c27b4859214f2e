"""Reads: one DB instance's description and what it says about its role and replication."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from nexus_platform.world.aws.clients import error_code

# DBInstanceStatus values in which the instance still answers its clients. Others ("rebooting", "renaming",
# "stopped", "failed", "storage-full", ...) mean the application cannot use it now.
SERVING_STATUSES = frozenset(
    {
        "available",
        "backing-up",
        "modifying",
        "storage-optimization",
        "configuring-enhanced-monitoring",
        "configuring-iam-database-auth",
        "configuring-log-exports",
    }
)
DEFAULT_PORT = 5432


def _one(call: Any, key: str, missing: str, **kwargs: Any) -> dict[str, Any] | None:
    """The single entry `call(**kwargs)[key]` describes, None when AWS answers `missing` (not found)."""
    try:
        found: list[dict[str, Any]] = call(**kwargs)[key]
    except ClientError as exc:
        if error_code(exc) == missing:
            return None
        raise
    return found[0] if found else None


def instance(rds: Any, identifier: str) -> dict[str, Any] | None:
    """The instance's DescribeDBInstances entry, None when there is no such instance."""
    return _one(
        rds.describe_db_instances, "DBInstances", "DBInstanceNotFound", DBInstanceIdentifier=identifier
    )


def instances(rds: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for page in rds.get_paginator("describe_db_instances").paginate():
        found.extend(page.get("DBInstances", []))
    return found


def source_of(described: dict[str, Any]) -> str | None:
    """The identifier (an ARN across regions) of the instance this one replicates; None for a standalone."""
    source = described.get("ReadReplicaSourceDBInstanceIdentifier")
    return str(source) if source else None


def serving(described: dict[str, Any]) -> bool:
    return described.get("DBInstanceStatus") in SERVING_STATUSES


def replication_status(described: dict[str, Any]) -> str | None:
    """StatusInfos' 'read replication' status: replicating, error, stopped, terminated, ..."""
    for info in described.get("StatusInfos") or []:
        if info.get("StatusType") == "read replication":
            return str(info.get("Status"))
    return None


def port(described: dict[str, Any]) -> int:
    endpoint = described.get("Endpoint") or {}
    return int(endpoint.get("Port") or described.get("DbInstancePort") or DEFAULT_PORT)


def security_groups(described: dict[str, Any]) -> list[str]:
    return [
        group["VpcSecurityGroupId"]
        for group in described.get("VpcSecurityGroups", [])
        if group.get("Status", "active") in ("active", "adding")
    ]


def snapshot(rds: Any, identifier: str) -> dict[str, Any] | None:
    """The manual snapshot's DescribeDBSnapshots entry, None when there is no such snapshot."""
    return _one(
        rds.describe_db_snapshots, "DBSnapshots", "DBSnapshotNotFound", DBSnapshotIdentifier=identifier
    )


def manual_snapshots(rds: Any) -> list[dict[str, Any]]:
    """Every manual snapshot of the region (the platform's and others')."""
    found: list[dict[str, Any]] = []
    for page in rds.get_paginator("describe_db_snapshots").paginate(SnapshotType="manual"):
        found += page["DBSnapshots"]
    return found


def tags(rds: Any, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in rds.list_tags_for_resource(ResourceName=arn).get("TagList", [])}
