"""ElastiCache patches of the sandbox emulator (boto3 against moto with the patches applied)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

TOKEN = "0123456789abcdef0123"


def _group(client: Any, group_id: str, **extra: Any) -> dict[str, Any]:
    group: dict[str, Any] = client.create_replication_group(
        ReplicationGroupId=group_id, ReplicationGroupDescription="cache", NumCacheClusters=2, **extra
    )["ReplicationGroup"]
    return group


def test_member_clusters_exist(aws: None) -> None:
    client = boto3.client("elasticache", region_name="eu-west-1")
    group = _group(
        client,
        "rg",
        CacheNodeType="cache.t4g.small",
        Engine="redis",
        EngineVersion="7.1",
        AutomaticFailoverEnabled=True,
        SecurityGroupIds=["sg-123"],
        AuthToken=TOKEN,
        TransitEncryptionEnabled=True,
        AtRestEncryptionEnabled=True,
    )
    assert group["MemberClusters"] == ["rg-001", "rg-002"]
    members = group["NodeGroups"][0]["NodeGroupMembers"]
    assert [m["PreferredAvailabilityZone"] for m in members] == ["eu-west-1a", "eu-west-1b"]
    assert [m["CurrentRole"] for m in members] == ["primary", "replica"]

    for cluster_id in ("rg-001", "rg-002"):
        cluster = client.describe_cache_clusters(CacheClusterId=cluster_id, ShowCacheNodeInfo=True)[
            "CacheClusters"
        ][0]
        assert cluster["ReplicationGroupId"] == "rg"
        assert cluster["CacheClusterStatus"] == "available"
        assert cluster["CacheNodeType"] == "cache.t4g.small"
        assert cluster["EngineVersion"] == "7.1"
        assert cluster["SecurityGroups"] == [{"SecurityGroupId": "sg-123", "Status": "active"}]
        assert cluster["CacheParameterGroup"]["CacheParameterGroupName"] == "default.redis7"
        assert cluster["AuthTokenEnabled"] is True
        assert cluster["AtRestEncryptionEnabled"] is True
        assert cluster["TransitEncryptionEnabled"] is True

    client.delete_replication_group(ReplicationGroupId="rg")
    with pytest.raises(ClientError) as exc:
        client.describe_replication_groups(ReplicationGroupId="rg")
    assert exc.value.response["Error"]["Code"] == "ReplicationGroupNotFoundFault"
    with pytest.raises(ClientError) as exc:
        client.describe_cache_clusters(CacheClusterId="rg-001")
    assert exc.value.response["Error"]["Code"] == "CacheClusterNotFound"


def test_global_datastore_lifecycle(aws: None) -> None:
    primary_client = boto3.client("elasticache", region_name="us-east-1")
    dr_client = boto3.client("elasticache", region_name="us-west-2")
    _group(
        primary_client,
        "primary",
        CacheNodeType="cache.r7g.large",
        Engine="redis",
        EngineVersion="7.1",
        AuthToken=TOKEN,
        TransitEncryptionEnabled=True,
        AtRestEncryptionEnabled=True,
        AutomaticFailoverEnabled=True,
    )
    created = primary_client.create_global_replication_group(
        GlobalReplicationGroupIdSuffix="nexus",
        PrimaryReplicationGroupId="primary",
        GlobalReplicationGroupDescription="g",
    )["GlobalReplicationGroup"]
    global_id = created["GlobalReplicationGroupId"]
    prefix, suffix = global_id.split("-", 1)
    assert suffix == "nexus"
    assert len(prefix) == 5
    assert prefix.isalpha()
    assert created["ARN"].endswith(f":globalreplicationgroup:{global_id}")

    secondary = _group(dr_client, "secondary", GlobalReplicationGroupId=global_id)
    assert secondary["AutomaticFailover"] == "enabled"  # shared with the datastore
    assert secondary["GlobalReplicationGroupInfo"] == {
        "GlobalReplicationGroupId": global_id,
        "GlobalReplicationGroupMemberRole": "SECONDARY",
    }
    # Engine settings come from the global datastore.
    assert secondary["CacheNodeType"] == "cache.r7g.large"
    assert secondary["AuthTokenEnabled"] is True
    assert secondary["MemberClusters"] == ["secondary-001", "secondary-002"]
    cluster = dr_client.describe_cache_clusters(CacheClusterId="secondary-002")["CacheClusters"][0]
    assert cluster["EngineVersion"] == "7.1"
    assert cluster["PreferredAvailabilityZone"] == "us-west-2b"

    primary = primary_client.describe_replication_groups(ReplicationGroupId="primary")["ReplicationGroups"][0]
    assert primary["GlobalReplicationGroupInfo"]["GlobalReplicationGroupMemberRole"] == "PRIMARY"

    described = dr_client.describe_global_replication_groups(
        GlobalReplicationGroupId=global_id, ShowMemberInfo=True
    )
    group = described["GlobalReplicationGroups"][0]
    assert group["Status"] == "available"
    assert group["Engine"] == "redis"
    assert group["EngineVersion"] == "7.1"
    assert group["CacheNodeType"] == "cache.r7g.large"
    assert group["AuthTokenEnabled"] is True
    assert group["ClusterEnabled"] is False
    assert {(m["ReplicationGroupId"], m["ReplicationGroupRegion"], m["Role"]) for m in group["Members"]} == {
        ("primary", "us-east-1", "PRIMARY"),
        ("secondary", "us-west-2", "SECONDARY"),
    }
    assert "Members" not in primary_client.describe_global_replication_groups()["GlobalReplicationGroups"][0]

    with pytest.raises(ClientError) as exc:
        primary_client.delete_global_replication_group(
            GlobalReplicationGroupId=global_id, RetainPrimaryReplicationGroup=True
        )
    assert exc.value.response["Error"]["Code"] == "InvalidGlobalReplicationGroupState"

    primary_client.disassociate_global_replication_group(
        GlobalReplicationGroupId=global_id, ReplicationGroupId="secondary", ReplicationGroupRegion="us-west-2"
    )
    secondary_after = dr_client.describe_replication_groups(ReplicationGroupId="secondary")[
        "ReplicationGroups"
    ][0]
    assert not secondary_after.get("GlobalReplicationGroupInfo", {}).get("GlobalReplicationGroupId")

    deleted = primary_client.delete_global_replication_group(
        GlobalReplicationGroupId=global_id, RetainPrimaryReplicationGroup=True
    )["GlobalReplicationGroup"]
    assert deleted["Status"] == "deleting"
    with pytest.raises(ClientError) as exc:
        primary_client.describe_global_replication_groups(GlobalReplicationGroupId=global_id)
    assert exc.value.response["Error"]["Code"] == "GlobalReplicationGroupNotFoundFault"


def test_secondary_needs_existing_global_group(aws: None) -> None:
    client = boto3.client("elasticache", region_name="us-west-2")
    with pytest.raises(ClientError) as exc:
        _group(client, "orphan", GlobalReplicationGroupId="abcde-missing")
    assert exc.value.response["Error"]["Code"] == "GlobalReplicationGroupNotFoundFault"


def test_cache_parameter_group_lifecycle(aws: None) -> None:
    client = boto3.client("elasticache", region_name="eu-west-1")
    group = client.create_cache_parameter_group(
        CacheParameterGroupName="nexus-redis7",
        CacheParameterGroupFamily="redis7",
        Description="Redis 7",
        Tags=[{"Key": "team", "Value": "core"}],
    )["CacheParameterGroup"]
    assert group["ARN"] == "arn:aws:elasticache:eu-west-1:123456789012:parametergroup:nexus-redis7"
    assert client.list_tags_for_resource(ResourceName=group["ARN"])["TagList"] == [
        {"Key": "team", "Value": "core"}
    ]

    client.modify_cache_parameter_group(
        CacheParameterGroupName="nexus-redis7",
        ParameterNameValues=[{"ParameterName": "maxmemory-policy", "ParameterValue": "volatile-lru"}],
    )
    described = client.describe_cache_parameter_groups(CacheParameterGroupName="nexus-redis7")[
        "CacheParameterGroups"
    ]
    assert [(g["CacheParameterGroupFamily"], g["Description"]) for g in described] == [("redis7", "Redis 7")]
    parameters = client.describe_cache_parameters(CacheParameterGroupName="nexus-redis7", Source="user")[
        "Parameters"
    ]
    assert [(p["ParameterName"], p["ParameterValue"], p["Source"]) for p in parameters] == [
        ("maxmemory-policy", "volatile-lru", "user")
    ]

    client.reset_cache_parameter_group(CacheParameterGroupName="nexus-redis7", ResetAllParameters=True)
    assert (
        client.describe_cache_parameters(CacheParameterGroupName="nexus-redis7", Source="user")["Parameters"]
        == []
    )

    with pytest.raises(ClientError) as exc:
        client.create_cache_parameter_group(
            CacheParameterGroupName="nexus-redis7", CacheParameterGroupFamily="redis7", Description="again"
        )
    assert exc.value.response["Error"]["Code"] == "CacheParameterGroupAlreadyExists"

    client.delete_cache_parameter_group(CacheParameterGroupName="nexus-redis7")
    with pytest.raises(ClientError) as exc:
        client.describe_cache_parameter_groups(CacheParameterGroupName="nexus-redis7")
    assert exc.value.response["Error"]["Code"] == "CacheParameterGroupNotFound"


def test_replica_count_grows_and_shrinks_within_the_rules(aws: None) -> None:
    client = boto3.client("elasticache", region_name="eu-west-1")
    _group(client, "rg", Engine="redis", EngineVersion="7.1", AutomaticFailoverEnabled=True)

    grown = client.increase_replica_count(ReplicationGroupId="rg", NewReplicaCount=3, ApplyImmediately=True)
    assert grown["ReplicationGroup"]["MemberClusters"] == ["rg-001", "rg-002", "rg-003", "rg-004"]
    members = grown["ReplicationGroup"]["NodeGroups"][0]["NodeGroupMembers"]
    assert [m["CurrentRole"] for m in members] == ["primary", "replica", "replica", "replica"]
    added = client.describe_cache_clusters(CacheClusterId="rg-004")["CacheClusters"][0]
    assert added["ReplicationGroupId"] == "rg"

    shrunk = client.decrease_replica_count(ReplicationGroupId="rg", NewReplicaCount=1, ApplyImmediately=True)
    assert shrunk["ReplicationGroup"]["MemberClusters"] == ["rg-001", "rg-002"]
    with pytest.raises(ClientError) as exc:
        client.describe_cache_clusters(CacheClusterId="rg-003")
    assert exc.value.response["Error"]["Code"] == "CacheClusterNotFound"

    # Automatic failover needs a replica; a shard has at most 5; "increase" must increase.
    for call, count in (
        (client.decrease_replica_count, 0),
        (client.increase_replica_count, 6),
        (client.increase_replica_count, 1),
    ):
        with pytest.raises(ClientError) as exc:
            call(ReplicationGroupId="rg", NewReplicaCount=count, ApplyImmediately=True)
        assert exc.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as exc:
        client.increase_replica_count(ReplicationGroupId="nope", NewReplicaCount=2, ApplyImmediately=True)
    assert exc.value.response["Error"]["Code"] == "ReplicationGroupNotFoundFault"
