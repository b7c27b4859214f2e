"""Reads: a global datastore, its members' roles, and a member replication group's status."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from nexus_platform.world.aws.clients import error_code

# Replication-group statuses in which the group answers its clients.
SERVING_STATUSES = frozenset({"available", "modifying", "snapshotting"})


def datastore(elasticache: Any, global_id: str) -> dict[str, Any] | None:
    """The global datastore with its members (ShowMemberInfo), None when there is no such datastore."""
    try:
        found: list[dict[str, Any]] = elasticache.describe_global_replication_groups(
            GlobalReplicationGroupId=global_id, ShowMemberInfo=True
        )["GlobalReplicationGroups"]
    except ClientError as exc:
        if error_code(exc) == "GlobalReplicationGroupNotFoundFault":
            return None
        raise
    return found[0] if found else None


def member_role(described: dict[str, Any] | None, region: str, group_id: str) -> str | None:
    """'primary' or 'secondary' (the API's role, lower-cased), None when the group is not a member."""
    for member in (described or {}).get("Members", []):
        if member.get("ReplicationGroupRegion") == region and member.get("ReplicationGroupId") == group_id:
            return str(member.get("Role", "")).lower() or None
    return None


def group_status(elasticache: Any, group_id: str) -> str | None:
    try:
        groups = elasticache.describe_replication_groups(ReplicationGroupId=group_id)["ReplicationGroups"]
    except ClientError as exc:
        if error_code(exc) == "ReplicationGroupNotFoundFault":
            return None
        raise
    return str(groups[0].get("Status")) if groups else None
