"""ElastiCache patch for disaster recovery: FailoverGlobalReplicationGroup (boto3 against moto with the
patches applied)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError


def _datastore(with_secondary: bool = True) -> tuple[Any, Any, str]:
    primary = boto3.client("elasticache", region_name="us-east-1")
    dr = boto3.client("elasticache", region_name="eu-west-1")
    primary.create_replication_group(
        ReplicationGroupId="cache-primary",
        ReplicationGroupDescription="primary",
        NumCacheClusters=2,
        CacheNodeType="cache.r7g.large",
        Engine="redis",
        EngineVersion="7.1",
        AutomaticFailoverEnabled=True,
    )
    global_id = primary.create_global_replication_group(
        GlobalReplicationGroupIdSuffix="nexus", PrimaryReplicationGroupId="cache-primary"
    )["GlobalReplicationGroup"]["GlobalReplicationGroupId"]
    if with_secondary:
        dr.create_replication_group(
            ReplicationGroupId="cache-dr",
            ReplicationGroupDescription="dr",
            NumCacheClusters=2,
            GlobalReplicationGroupId=global_id,
        )
    return primary, dr, global_id


def _roles(client: Any, global_id: str) -> dict[str, str]:
    group = client.describe_global_replication_groups(
        GlobalReplicationGroupId=global_id, ShowMemberInfo=True
    )["GlobalReplicationGroups"][0]
    return {m["ReplicationGroupId"]: m["Role"] for m in group["Members"]}


def test_failover_swaps_the_primary(aws: None) -> None:
    primary, dr, global_id = _datastore()
    assert _roles(dr, global_id) == {"cache-primary": "PRIMARY", "cache-dr": "SECONDARY"}

    answer = dr.failover_global_replication_group(
        GlobalReplicationGroupId=global_id, PrimaryRegion="eu-west-1", PrimaryReplicationGroupId="cache-dr"
    )["GlobalReplicationGroup"]
    assert answer["GlobalReplicationGroupId"] == global_id
    assert _roles(primary, global_id) == {"cache-dr": "PRIMARY", "cache-primary": "SECONDARY"}
    group = dr.describe_replication_groups(ReplicationGroupId="cache-dr")["ReplicationGroups"][0]
    assert group["GlobalReplicationGroupInfo"]["GlobalReplicationGroupMemberRole"] == "PRIMARY"
    old = primary.describe_replication_groups(ReplicationGroupId="cache-primary")["ReplicationGroups"][0]
    assert old["GlobalReplicationGroupInfo"]["GlobalReplicationGroupMemberRole"] == "SECONDARY"

    # And back: the failover is its own inverse.
    primary.failover_global_replication_group(
        GlobalReplicationGroupId=global_id,
        PrimaryRegion="us-east-1",
        PrimaryReplicationGroupId="cache-primary",
    )
    assert _roles(dr, global_id) == {"cache-primary": "PRIMARY", "cache-dr": "SECONDARY"}


def test_failover_errors(aws: None) -> None:
    primary, _, global_id = _datastore(with_secondary=False)
    with pytest.raises(ClientError) as exc:
        primary.failover_global_replication_group(
            GlobalReplicationGroupId=global_id,
            PrimaryRegion="us-east-1",
            PrimaryReplicationGroupId="cache-primary",
        )
    assert exc.value.response["Error"]["Code"] == "InvalidGlobalReplicationGroupState"  # primary only
    with pytest.raises(ClientError) as exc:
        primary.failover_global_replication_group(
            GlobalReplicationGroupId=global_id, PrimaryRegion="eu-west-1", PrimaryReplicationGroupId="nope"
        )
    assert exc.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as exc:
        primary.failover_global_replication_group(
            GlobalReplicationGroupId="xxxxx-nope", PrimaryRegion="eu-west-1", PrimaryReplicationGroupId="nope"
        )
    assert exc.value.response["Error"]["Code"] == "GlobalReplicationGroupNotFoundFault"
