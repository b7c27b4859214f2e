"""The emulator as a process: ready line, every service and region on one port, patches live, clean
SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def emulator() -> Iterator[tuple[subprocess.Popen[str], str, dict[str, Any]]]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOTO_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "nexus_platform.sandbox.emulator", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        ready = json.loads(line)
        yield proc, f"http://127.0.0.1:{port}", ready
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def _client(service: str, endpoint: str, region: str) -> Any:
    factory: Any = boto3.client  # any service name: the stubs only type literal names
    return factory(
        service,
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def test_ready_line(emulator: tuple[subprocess.Popen[str], str, dict[str, Any]]) -> None:
    _, endpoint, ready = emulator
    assert ready["event"] == "emulator.ready"
    assert endpoint.endswith(f":{ready['port']}")


def test_services_and_regions_share_one_port(
    emulator: tuple[subprocess.Popen[str], str, dict[str, Any]],
) -> None:
    _, endpoint, _ = emulator
    made = {}
    for region in ("us-east-1", "us-west-2"):
        vpc = _client("ec2", endpoint, region).create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        assert vpc.startswith("vpc-")
        made[region] = vpc
    # Each region has its own resources: one region's VPC is not in the other's.
    for region, other in (("us-east-1", "us-west-2"), ("us-west-2", "us-east-1")):
        listed = {v["VpcId"] for v in _client("ec2", endpoint, region).describe_vpcs()["Vpcs"]}
        assert made[region] in listed and made[other] not in listed
    east = _client("s3", endpoint, "us-east-1")
    east.create_bucket(Bucket="nexus-emulator-test")
    assert "nexus-emulator-test" in [b["Name"] for b in east.list_buckets()["Buckets"]]
    # Managed policies are loaded (MOTO_IAM_LOAD_MANAGED_POLICIES=true).
    iam = _client("iam", endpoint, "us-east-1")
    policy = iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy")["Policy"]
    assert policy["PolicyName"] == "AmazonEKSClusterPolicy"


def test_patches_are_live_over_http(emulator: tuple[subprocess.Popen[str], str, dict[str, Any]]) -> None:
    _, endpoint, _ = emulator
    eks = _client("eks", endpoint, "us-west-2")
    eks.create_cluster(
        name="c1",
        roleArn="arn:aws:iam::123456789012:role/eks",
        resourcesVpcConfig={"subnetIds": []},
        accessConfig={"authenticationMode": "API"},
    )
    eks.create_addon(clusterName="c1", addonName="coredns")
    assert eks.describe_addon(clusterName="c1", addonName="coredns")["addon"]["status"] == "ACTIVE"
    assert eks.describe_cluster(name="c1")["cluster"]["accessConfig"]["authenticationMode"] == "API"

    backup = _client("backup", endpoint, "us-west-2")
    backup.create_backup_vault(BackupVaultName="v")
    plan = backup.create_backup_plan(
        BackupPlan={"BackupPlanName": "p", "Rules": [{"RuleName": "r", "TargetBackupVaultName": "v"}]}
    )["BackupPlanId"]
    selection = backup.create_backup_selection(
        BackupPlanId=plan,
        BackupSelection={"SelectionName": "s", "IamRoleArn": "arn:aws:iam::123456789012:role/b"},
    )["SelectionId"]
    got = backup.get_backup_selection(BackupPlanId=plan, SelectionId=selection)
    assert got["BackupSelection"]["SelectionName"] == "s"

    cache = _client("elasticache", endpoint, "us-west-2")
    cache.create_replication_group(
        ReplicationGroupId="rg",
        ReplicationGroupDescription="d",
        NumCacheClusters=2,
        CacheNodeType="cache.t4g.small",
    )
    clusters = cache.describe_cache_clusters(CacheClusterId="rg-002")["CacheClusters"]
    assert clusters[0]["ReplicationGroupId"] == "rg"


def test_backup_and_restore_jobs_route_over_http(
    emulator: tuple[subprocess.Popen[str], str, dict[str, Any]],
) -> None:
    """Every AWS Backup operation the toolkit uses, at the SDK's exact request URIs (the server's router is
    stricter than moto's in-process dispatch: a trailing slash matters)."""
    _, endpoint, _ = emulator
    region = "eu-west-1"
    rds = _client("rds", endpoint, region)
    arn = rds.create_db_instance(
        DBInstanceIdentifier="db1",
        DBInstanceClass="db.t4g.micro",
        Engine="postgres",
        MasterUsername="nexus",
        MasterUserPassword="secret-password",
        AllocatedStorage=20,
    )["DBInstance"]["DBInstanceArn"]
    backup = _client("backup", endpoint, region)
    backup.create_backup_vault(BackupVaultName="jobs")
    role = "arn:aws:iam::123456789012:role/b"
    job = backup.start_backup_job(BackupVaultName="jobs", ResourceArn=arn, IamRoleArn=role)
    assert backup.describe_backup_job(BackupJobId=job["BackupJobId"])["State"] == "COMPLETED"
    points = backup.list_recovery_points_by_backup_vault(BackupVaultName="jobs", ByResourceArn=arn)
    point = points["RecoveryPoints"][0]["RecoveryPointArn"]
    metadata = backup.get_recovery_point_restore_metadata(BackupVaultName="jobs", RecoveryPointArn=point)
    restore = backup.start_restore_job(
        RecoveryPointArn=point,
        IamRoleArn=role,
        Metadata={**metadata["RestoreMetadata"], "DBInstanceIdentifier": "db1-check"},
    )["RestoreJobId"]
    backup.put_restore_validation_result(RestoreJobId=restore, ValidationStatus="SUCCESSFUL")
    described = backup.describe_restore_job(RestoreJobId=restore)
    assert (described["Status"], described["ValidationStatus"]) == ("COMPLETED", "SUCCESSFUL")


def test_access_entries_route_over_http(emulator: tuple[subprocess.Popen[str], str, dict[str, Any]]) -> None:
    """A principal ARN in the path holds '/' (role/<name>): every access-entry operation still routes."""
    _, endpoint, _ = emulator
    region = "eu-west-1"
    iam = _client("iam", endpoint, region)
    trust = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},'
        '"Action":["sts:AssumeRole","sts:TagSession"]}]}'
    )
    role = iam.create_role(RoleName="argocd-http", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    eks = _client("eks", endpoint, region)
    eks.create_cluster(
        name="entries",
        roleArn="arn:aws:iam::123456789012:role/eks",
        resourcesVpcConfig={"subnetIds": []},
        accessConfig={"authenticationMode": "API"},
    )
    eks.create_access_entry(clusterName="entries", principalArn=role)
    assert (
        eks.describe_access_entry(clusterName="entries", principalArn=role)["accessEntry"]["principalArn"]
        == role
    )
    policy = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    eks.associate_access_policy(
        clusterName="entries", principalArn=role, policyArn=policy, accessScope={"type": "cluster"}
    )
    listed = eks.list_associated_access_policies(clusterName="entries", principalArn=role)
    assert [p["policyArn"] for p in listed["associatedAccessPolicies"]] == [policy]
    eks.disassociate_access_policy(clusterName="entries", principalArn=role, policyArn=policy)
    eks.delete_access_entry(clusterName="entries", principalArn=role)
    assert eks.list_access_entries(clusterName="entries")["accessEntries"] == []


def test_sigterm_exits_cleanly(emulator: tuple[subprocess.Popen[str], str, dict[str, Any]]) -> None:
    proc, _, _ = emulator
    proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert proc.returncode == 0
    assert proc.stdout is not None
    events = [json.loads(line)["event"] for line in proc.stdout.read().splitlines() if line.startswith("{")]
    assert events[-1] == "emulator.stopped"
