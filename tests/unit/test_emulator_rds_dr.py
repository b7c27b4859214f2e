"""RDS patches for disaster recovery: a cross-region replica's replication status and ReplicaLag, and what a
promotion changes (boto3 against moto with the patches applied)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError


def _pair() -> tuple[Any, Any, dict[str, Any], dict[str, Any]]:
    primary_rds = boto3.client("rds", region_name="us-east-1")
    dr_rds = boto3.client("rds", region_name="eu-west-1")
    primary = primary_rds.create_db_instance(
        DBInstanceIdentifier="db1",
        DBInstanceClass="db.t4g.medium",
        Engine="postgres",
        AllocatedStorage=20,
        MasterUsername="nexus",
        MasterUserPassword="not-a-secret-1",
        StorageEncrypted=True,
        BackupRetentionPeriod=30,
    )["DBInstance"]
    replica = dr_rds.create_db_instance_read_replica(
        DBInstanceIdentifier="db1-replica",
        SourceDBInstanceIdentifier=primary["DBInstanceArn"],
        DBInstanceClass="db.t4g.medium",
    )["DBInstance"]
    return primary_rds, dr_rds, primary, replica


def _lag(region: str, identifier: str) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    points: list[dict[str, Any]] = boto3.client("cloudwatch", region_name=region).get_metric_statistics(
        Namespace="AWS/RDS",
        MetricName="ReplicaLag",
        Dimensions=[{"Name": "DBInstanceIdentifier", "Value": identifier}],
        StartTime=now - timedelta(minutes=10),
        EndTime=now,
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    return points


def test_a_replica_reports_replicating(aws: None) -> None:
    primary_rds, dr_rds, _, _ = _pair()
    replica = dr_rds.describe_db_instances(DBInstanceIdentifier="db1-replica")["DBInstances"][0]
    assert replica["StatusInfos"] == [
        {"StatusType": "read replication", "Normal": True, "Status": "replicating"}
    ]
    primary = primary_rds.describe_db_instances(DBInstanceIdentifier="db1")["DBInstances"][0]
    assert "StatusInfos" not in primary


def test_a_replica_whose_source_is_gone_is_terminated(aws: None) -> None:
    primary_rds, dr_rds, _, _ = _pair()
    primary_rds.delete_db_instance(DBInstanceIdentifier="db1", SkipFinalSnapshot=True)
    info = dr_rds.describe_db_instances(DBInstanceIdentifier="db1-replica")["DBInstances"][0]["StatusInfos"][
        0
    ]
    assert (info["Status"], info["Normal"]) == ("terminated", False)
    assert _lag("eu-west-1", "db1-replica") == []


def test_replica_lag_is_published_for_replicas_only(aws: None) -> None:
    _pair()
    points = _lag("eu-west-1", "db1-replica")
    assert len(points) == 1
    assert points[0]["Maximum"] == 0.0
    assert points[0]["Unit"] == "Seconds"
    assert _lag("us-east-1", "db1") == []  # a primary has no ReplicaLag
    assert _lag("us-east-1", "db1-replica") == []  # metrics live in the replica's region


def test_promotion_detaches_the_replica_from_its_source(aws: None) -> None:
    primary_rds, dr_rds, _, replica = _pair()
    source = primary_rds.describe_db_instances(DBInstanceIdentifier="db1")["DBInstances"][0]
    assert source["ReadReplicaDBInstanceIdentifiers"] == [replica["DBInstanceArn"]]

    promoted = dr_rds.promote_read_replica(DBInstanceIdentifier="db1-replica", BackupRetentionPeriod=30)[
        "DBInstance"
    ]
    assert "ReadReplicaSourceDBInstanceIdentifier" not in promoted
    assert promoted["BackupRetentionPeriod"] == 30
    described = dr_rds.describe_db_instances(DBInstanceIdentifier="db1-replica")["DBInstances"][0]
    assert "ReadReplicaSourceDBInstanceIdentifier" not in described
    assert "StatusInfos" not in described
    source = primary_rds.describe_db_instances(DBInstanceIdentifier="db1")["DBInstances"][0]
    assert source.get("ReadReplicaDBInstanceIdentifiers", []) == []
    assert _lag("eu-west-1", "db1-replica") == []


def test_promoting_a_standalone_instance_is_refused(aws: None) -> None:
    _, dr_rds, _, _ = _pair()
    dr_rds.promote_read_replica(DBInstanceIdentifier="db1-replica")
    with pytest.raises(ClientError) as exc:
        dr_rds.promote_read_replica(DBInstanceIdentifier="db1-replica")
    assert exc.value.response["Error"]["Code"] == "InvalidDBInstanceState"


def test_a_cross_region_replica_can_be_deleted(aws: None) -> None:
    primary_rds, dr_rds, _, replica = _pair()
    dr_rds.delete_db_instance(DBInstanceIdentifier="db1-replica", SkipFinalSnapshot=True)
    source = primary_rds.describe_db_instances(DBInstanceIdentifier="db1")["DBInstances"][0]
    assert source.get("ReadReplicaDBInstanceIdentifiers", []) == []
    with pytest.raises(ClientError) as exc:
        dr_rds.describe_db_instances(DBInstanceIdentifier="db1-replica")
    assert exc.value.response["Error"]["Code"] == "DBInstanceNotFound"
    assert replica["DBInstanceArn"].startswith("arn:aws:rds:eu-west-1:")
