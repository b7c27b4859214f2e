"""RDS patches of the sandbox emulator (boto3 against moto with the patches applied)."""

from __future__ import annotations

import re
from typing import Any

import boto3


def _subnet_group(region: str, cidr: str) -> str:
    ec2 = boto3.client("ec2", region_name=region)
    rds = boto3.client("rds", region_name=region)
    vpc = ec2.create_vpc(CidrBlock=f"{cidr}.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"{cidr}.{i}.0/24", AvailabilityZone=f"{region}{z}")["Subnet"][
            "SubnetId"
        ]
        for i, z in enumerate("ab")
    ]
    name = f"db-{region}"
    rds.create_db_subnet_group(DBSubnetGroupName=name, DBSubnetGroupDescription="db", SubnetIds=subnets)
    return name


def _instance(rds: Any, identifier: str, subnet_group: str) -> dict[str, Any]:
    instance: dict[str, Any] = rds.create_db_instance(
        DBInstanceIdentifier=identifier,
        DBInstanceClass="db.t4g.medium",
        Engine="postgres",
        EngineVersion="16.3",
        AllocatedStorage=20,
        MasterUsername="nexus",
        ManageMasterUserPassword=True,
        DBSubnetGroupName=subnet_group,
        StorageEncrypted=True,
        BackupRetentionPeriod=30,
    )["DBInstance"]
    return instance


def test_dbi_resource_ids_are_unique(aws: None) -> None:
    rds = boto3.client("rds", region_name="us-east-1")
    group = _subnet_group("us-east-1", "10.0")
    first = _instance(rds, "db1", group)["DbiResourceId"]
    second = _instance(rds, "db2", group)["DbiResourceId"]
    assert first != second
    for value in (first, second):
        assert re.fullmatch(r"db-[A-Z0-9]{26}", value)
    described = {
        d["DBInstanceIdentifier"]: d["DbiResourceId"] for d in rds.describe_db_instances()["DBInstances"]
    }
    assert described == {"db1": first, "db2": second}


def test_cross_region_replica_uses_its_own_region(aws: None) -> None:
    primary_rds = boto3.client("rds", region_name="us-east-1")
    dr_rds = boto3.client("rds", region_name="us-west-2")
    primary = _instance(primary_rds, "db1", _subnet_group("us-east-1", "10.0"))
    dr_group = _subnet_group("us-west-2", "10.1")  # exists only in the replica's region
    dr_key = boto3.client("kms", region_name="us-west-2").create_key()["KeyMetadata"]["Arn"]

    replica = dr_rds.create_db_instance_read_replica(
        DBInstanceIdentifier="db1-replica",
        SourceDBInstanceIdentifier=primary["DBInstanceArn"],
        DBSubnetGroupName=dr_group,
        KmsKeyId=dr_key,
        DBInstanceClass="db.t4g.medium",
    )["DBInstance"]
    assert replica["DBSubnetGroup"]["DBSubnetGroupName"] == dr_group
    assert replica["DBInstanceArn"].startswith("arn:aws:rds:us-west-2:")
    assert replica["AvailabilityZone"].startswith("us-west-2")
    assert replica["DbiResourceId"] != primary["DbiResourceId"]
    assert replica["ReadReplicaSourceDBInstanceIdentifier"] == primary["DBInstanceArn"]
    assert "MasterUserSecret" not in replica

    described = dr_rds.describe_db_instances(DBInstanceIdentifier="db1-replica")["DBInstances"][0]
    assert described["DBSubnetGroup"]["DBSubnetGroupName"] == dr_group
    source = primary_rds.describe_db_instances(DBInstanceIdentifier="db1")["DBInstances"][0]
    assert source["ReadReplicaDBInstanceIdentifiers"] == [replica["DBInstanceArn"]]
    assert source["DBSubnetGroup"]["DBSubnetGroupName"] == "db-us-east-1"
    assert "MasterUserSecret" in source


def test_a_replica_is_multi_az_only_when_asked_not_because_its_source_is(aws: None) -> None:
    rds = boto3.client("rds", region_name="us-east-1")
    group = _subnet_group("us-east-1", "10.0")
    _instance(rds, "db1", group)
    rds.modify_db_instance(DBInstanceIdentifier="db1", MultiAZ=True, ApplyImmediately=True)
    assert rds.describe_db_instances(DBInstanceIdentifier="db1")["DBInstances"][0]["MultiAZ"] is True
    single = rds.create_db_instance_read_replica(DBInstanceIdentifier="r1", SourceDBInstanceIdentifier="db1")
    assert single["DBInstance"]["MultiAZ"] is False
    multi = rds.create_db_instance_read_replica(
        DBInstanceIdentifier="r2", SourceDBInstanceIdentifier="db1", MultiAZ=True
    )
    assert multi["DBInstance"]["MultiAZ"] is True
    described = {d["DBInstanceIdentifier"]: d["MultiAZ"] for d in rds.describe_db_instances()["DBInstances"]}
    assert described == {"db1": True, "r1": False, "r2": True}


def test_user_parameters_report_source_user(aws: None) -> None:
    rds = boto3.client("rds", region_name="us-east-1")
    rds.create_db_parameter_group(
        DBParameterGroupName="pg", DBParameterGroupFamily="postgres16", Description="d"
    )
    rds.modify_db_parameter_group(
        DBParameterGroupName="pg",
        Parameters=[{"ParameterName": "rds.force_ssl", "ParameterValue": "1", "ApplyMethod": "immediate"}],
    )
    parameters = rds.describe_db_parameters(DBParameterGroupName="pg", Source="user")["Parameters"]
    assert [(p["ParameterName"], p["ParameterValue"], p["ApplyMethod"], p["Source"]) for p in parameters] == [
        ("rds.force_ssl", "1", "immediate", "user")
    ]


def test_performance_insights_settings(aws: None) -> None:
    rds = boto3.client("rds", region_name="us-east-1")
    group = _subnet_group("us-east-1", "10.0")
    key = "arn:aws:kms:us-east-1:123456789012:key/pi"
    created = rds.create_db_instance(
        DBInstanceIdentifier="pi",
        DBInstanceClass="db.t4g.medium",
        Engine="postgres",
        AllocatedStorage=20,
        MasterUsername="nexus",
        MasterUserPassword="password1234567",
        DBSubnetGroupName=group,
        EnablePerformanceInsights=True,
        PerformanceInsightsKMSKeyId=key,
    )["DBInstance"]
    assert created["PerformanceInsightsEnabled"] is True
    assert created["PerformanceInsightsKMSKeyId"] == key
    assert created["PerformanceInsightsRetentionPeriod"] == 7  # the AWS default

    plain = _instance(rds, "plain", group)
    assert plain["PerformanceInsightsEnabled"] is False
    modified = rds.modify_db_instance(
        DBInstanceIdentifier="plain",
        EnablePerformanceInsights=True,
        PerformanceInsightsRetentionPeriod=31,
        ApplyImmediately=True,
    )["DBInstance"]
    assert modified["PerformanceInsightsEnabled"] is True
    assert modified["PerformanceInsightsRetentionPeriod"] == 31


def test_a_restore_does_not_inherit_deletion_protection(aws: None) -> None:
    rds = boto3.client("rds", region_name="us-east-1")
    group = _subnet_group("us-east-1", "10.0")
    _instance(rds, "protected", group)
    rds.modify_db_instance(DBInstanceIdentifier="protected", DeletionProtection=True, ApplyImmediately=True)
    rds.create_db_snapshot(DBSnapshotIdentifier="snap", DBInstanceIdentifier="protected")
    restored = rds.restore_db_instance_from_db_snapshot(
        DBInstanceIdentifier="scratch", DBSnapshotIdentifier="snap", DBSubnetGroupName=group
    )["DBInstance"]
    assert restored["DeletionProtection"] is False  # AWS's default for a restore, not the source's
    rds.delete_db_instance(DBInstanceIdentifier="scratch", SkipFinalSnapshot=True)
    asked = rds.restore_db_instance_from_db_snapshot(
        DBInstanceIdentifier="kept",
        DBSnapshotIdentifier="snap",
        DBSubnetGroupName=group,
        DeletionProtection=True,
    )["DBInstance"]
    assert asked["DeletionProtection"] is True
