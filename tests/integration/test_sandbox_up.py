"""`nexus up` from an empty state against the real emulator and the real Terraform, read back through boto3.

One apply serves the whole session (tests/integration/conftest.py); this module runs last, and its last test
is `nexus down` after an `up` killed half-way, which must leave no process and no listener behind.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from tests.cicd.helpers import ARGOCD, generate, load_docs, sources
from tests.integration.conftest import NEXUS, nexus
from tests.integration.sandboxlib import data_plane, leftovers

from nexus_platform import model

pytestmark = pytest.mark.integration


def regional(sandbox: dict[str, Any], role: str) -> tuple[str, dict[str, Any]]:
    info = sandbox["outputs"]["regions"][role]
    return info["region"], info


def test_up_applies_everything_and_reads_it_back(sandbox: dict[str, Any]) -> None:
    first = sandbox["first"]
    assert first["applied"] is True
    print(f"\nresources applied: {first['resources']} in {first['apply_seconds']}s")
    assert first["resources"] > 100
    missing = [row for row in first["inventory"] if row["detail"].startswith("MISSING")]
    assert not missing, missing


def test_regions_are_the_models(sandbox: dict[str, Any]) -> None:
    for region in sandbox["model"].regions:
        assert sandbox["outputs"]["regions"][region.role]["region"] == region.name


def test_a_nat_gateway_per_az_in_each_region(sandbox: dict[str, Any]) -> None:
    for role in ("primary", "dr"):
        region, info = regional(sandbox, role)
        ec2 = sandbox["plane"].client("ec2", region)
        nats = ec2.describe_nat_gateways(NatGatewayIds=list(info["nat_gateway_ids"].values()))["NatGateways"]
        subnets = ec2.describe_subnets(SubnetIds=[nat["SubnetId"] for nat in nats])["Subnets"]
        assert len({subnet["AvailabilityZone"] for subnet in subnets}) == len(nats) >= 2
        assert all(nat["State"] == "available" for nat in nats)


def test_the_dr_database_replicates_the_primary(sandbox: dict[str, Any]) -> None:
    primary_region, primary = regional(sandbox, "primary")
    dr_region, dr = regional(sandbox, "dr")
    source = (
        sandbox["plane"]
        .client("rds", primary_region)
        .describe_db_instances(DBInstanceIdentifier=primary["db_instance_identifier"])["DBInstances"][0]
    )
    replica = (
        sandbox["plane"]
        .client("rds", dr_region)
        .describe_db_instances(DBInstanceIdentifier=dr["db_instance_identifier"])["DBInstances"][0]
    )
    assert replica["ReadReplicaSourceDBInstanceIdentifier"] == source["DBInstanceArn"]
    assert replica["StorageEncrypted"] and source["StorageEncrypted"]
    assert source["BackupRetentionPeriod"] >= 30
    assert source["DbiResourceId"] != replica["DbiResourceId"]


def test_failover_records_are_bound_to_health_checks(sandbox: dict[str, Any]) -> None:
    outputs = sandbox["outputs"]
    route53 = sandbox["plane"].client("route53", sandbox["model"].region("primary").name)
    records = route53.list_resource_record_sets(HostedZoneId=outputs["zone_id"])["ResourceRecordSets"]
    failover = {record["Failover"]: record for record in records if record.get("Failover")}
    assert set(failover) == {"PRIMARY", "SECONDARY"}
    for role, kind in (("primary", "PRIMARY"), ("dr", "SECONDARY")):
        health_check_id = outputs["regions"][role]["health_check_id"]
        assert failover[kind]["HealthCheckId"] == health_check_id
        route53.get_health_check(HealthCheckId=health_check_id)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_workload_identities_are_bound_to_their_service_accounts(sandbox: dict[str, Any]) -> None:
    """The nexus-api IRSA role (helm/nexus serviceAccount.roleArn) trusts exactly nexus/nexus-api of its
    region's cluster, the cluster add-ons have their Pod Identity associations, and Argo CD (primary cluster)
    its own, with an admin access entry in both clusters."""
    delivery = sandbox["outputs"]["delivery"]
    for role in ("primary", "dr"):
        region, info = regional(sandbox, role)
        iam = sandbox["plane"].client("iam", region)
        eks = sandbox["plane"].client("eks", region)
        role_name = info["nexus_api_role_arn"].rsplit("/", 1)[1]
        assert role_name == f"nexus-sandbox-nexus-api-{region}"

        document = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
        document = json.loads(unquote(document)) if isinstance(document, str) else document
        (statement,) = document["Statement"]
        cluster = eks.describe_cluster(name=info["cluster_name"])["cluster"]
        issuer = cluster["identity"]["oidc"]["issuer"].removeprefix("https://")
        assert statement["Effect"] == "Allow"
        assert _as_list(statement["Action"]) == ["sts:AssumeRoleWithWebIdentity"]
        assert _as_list(statement["Principal"]["Federated"])[0].endswith(f":oidc-provider/{issuer}")
        conditions = {key: _as_list(value) for key, value in statement["Condition"]["StringEquals"].items()}
        assert conditions == {
            f"{issuer}:sub": ["system:serviceaccount:nexus:nexus-api"],
            f"{issuer}:aud": ["sts.amazonaws.com"],
        }
        assert set(statement["Condition"]) == {"StringEquals"}

        associations = eks.list_pod_identity_associations(clusterName=info["cluster_name"])["associations"]
        # Argo CD and the Jenkins agent run in the primary cluster only (terraform/aws/delivery.tf).
        jenkins = tuple(delivery["jenkins_agent_identity"].split("/", 1))
        argocd = (
            {("argocd", sa) for sa in delivery["argocd_service_accounts"]} | {jenkins}
            if role == "primary"
            else set()
        )
        assert {(a["namespace"], a["serviceAccount"]) for a in associations} == {
            ("kube-system", "aws-load-balancer-controller"),
            ("kube-system", "cluster-autoscaler"),
            ("external-secrets", "external-secrets"),
            ("monitoring", "yace"),
            ("monitoring", "kube-prometheus-stack-alertmanager"),
            *argocd,
        }
        # Argo CD's role administers both clusters through an access entry (not the aws-auth ConfigMap).
        assert (
            delivery["argocd_role_arn"]
            in eks.list_access_entries(clusterName=info["cluster_name"])["accessEntries"]
        )
        policies = eks.list_associated_access_policies(
            clusterName=info["cluster_name"], principalArn=delivery["argocd_role_arn"]
        )["associatedAccessPolicies"]
        assert [(p["policyArn"].rsplit("/", 1)[1], p["accessScope"]["type"]) for p in policies] == [
            ("AmazonEKSClusterAdminPolicy", "cluster")
        ]


def test_argocd_registers_the_clusters_from_terraforms_output(sandbox: dict[str, Any]) -> None:
    """The cluster Secrets Terraform outputs (argocd_cluster_secrets), fed to the istio-ingressgateway
    ApplicationSet's cluster generator: one Application per cluster, each bound to a target group the apply
    made in that cluster's region and VPC, and each Secret with the endpoint and CA that EKS reports."""
    listing = sandbox["outputs"]["argocd_cluster_secrets"]
    assert (listing["apiVersion"], listing["kind"]) == ("v1", "List")
    (appset,) = load_docs(ARGOCD / "addons" / "istio-ingressgateway.yaml")
    apps = generate(appset, listing["items"])
    assert sorted(app["metadata"]["labels"]["nexus-platform/region-role"] for app in apps) == [
        "dr",
        "primary",
    ]
    for app in apps:
        role = app["metadata"]["labels"]["nexus-platform/region-role"]
        region, info = regional(sandbox, role)
        assert app["metadata"]["labels"]["nexus-platform/region"] == region
        assert app["spec"]["destination"]["name"] == info["cluster_name"]
        (arn,) = [
            p["value"]
            for source in sources(app)
            for p in source.get("helm", {}).get("parameters", [])
            if p["name"] == "targetGroupARN"
        ]
        elbv2 = sandbox["plane"].client("elbv2", region)
        (group,) = elbv2.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"]
        assert (group["TargetGroupName"], group["VpcId"]) == (f"{info['cluster_name']}-app", info["vpc_id"])
        assert (group["TargetType"], group["Port"]) == ("ip", 8080)
        (secret,) = [s for s in listing["items"] if s["stringData"]["name"] == info["cluster_name"]]
        cluster = (
            sandbox["plane"].client("eks", region).describe_cluster(name=info["cluster_name"])["cluster"]
        )
        config = json.loads(secret["stringData"]["config"])
        assert secret["stringData"]["server"] == cluster["endpoint"]
        assert config == {
            "awsAuthConfig": {"clusterName": info["cluster_name"]},
            "tlsClientConfig": {"caData": cluster["certificateAuthority"]["data"]},
        }


def test_doctor_finds_the_applied_platform_healthy(sandbox: dict[str, Any]) -> None:
    result = nexus("doctor", "--output", "json", env=sandbox["env"], timeout=300)
    report = json.loads(result.stdout)
    failed = [f for f in report["findings"] if not f["ok"]]
    assert result.returncode == 0 and report["ok"] is True, failed
    checked = {(f["check"], f["scope"].split(" ")[0]) for f in report["findings"]}
    # Every check looked at both regions; 2 public + 2 private subnets per region; the ALBs' groups only.
    expected = {(c, r) for c in ("aws-api", "vpc-routes", "security-groups") for r in ("primary", "dr")}
    assert expected <= checked
    routes = [f for f in report["findings"] if f["check"] == "vpc-routes"]
    assert len(routes) == 8 and sum("private subnet" in f["scope"] for f in routes) == 4
    exposed = [f for f in report["findings"] if f["check"] == "security-groups"]
    assert len(exposed) == 2 and all("alb" in f["scope"] for f in exposed), exposed


def test_second_up_with_nothing_changed_skips_terraform(sandbox: dict[str, Any]) -> None:
    again = nexus("up", "--output", "json", env=sandbox["env"], timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads(again.stdout)["applied"] is False


def test_replan_after_apply_reports_drift(sandbox: dict[str, Any]) -> None:
    """One re-plan (each takes ~30 s here): a change behind Terraform's back (a tag on the primary region's
    VPC) is named with exit 1, and it is the only change, so the apply itself left no drift."""
    region, info = regional(sandbox, "primary")
    ec2 = sandbox["plane"].client("ec2", region)
    vpc = ec2.describe_nat_gateways(NatGatewayIds=list(info["nat_gateway_ids"].values())[:1])["NatGateways"][
        0
    ]["VpcId"]
    ec2.create_tags(Resources=[vpc], Tags=[{"Key": "changed-by-hand", "Value": "yes"}])
    try:
        drift = nexus("infra", "drift", "--output", "json", env=sandbox["env"], timeout=600)
        assert drift.returncode == 1, drift.stderr[-2000:]
        report = json.loads(drift.stdout)
        print(f"\nresources drifting on re-plan: {report['drifting']}: {report['changes']}")
        assert report["drifting"] == 1, report["changes"]
        (change,) = report["changes"]
        assert "aws_vpc" in change["address"], change
    finally:
        ec2.delete_tags(Resources=[vpc], Tags=[{"Key": "changed-by-hand"}])


@pytest.mark.sandbox_teardown
def test_down_after_a_killed_up_leaves_no_process_and_no_listener(sandbox: dict[str, Any]) -> None:
    state: Path = sandbox["state"]
    record = json.loads((state / "run" / "emulator.json").read_text())
    # Stop the data plane only (the control plane stays applied), then kill an `up` while it rebuilds it:
    # SIGKILL, so nothing of its own cleanup runs.
    plane = data_plane()
    plane.stop(plane.process_names())
    up = subprocess.Popen(
        [*NEXUS, "up"], env=sandbox["env"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    region = model.environment("sandbox").region("primary").name
    deadline = time.monotonic() + 120
    while not (state / "run" / f"{region}.redis.json").exists() and time.monotonic() < deadline:
        assert up.poll() is None, up.stdout.read() if up.stdout else ""
        time.sleep(0.05)
    up.send_signal(signal.SIGKILL)
    up.wait(timeout=30)
    down = nexus("down", "--output", "json", env=sandbox["env"], timeout=180)
    assert down.returncode == 0, down.stderr
    assert json.loads(down.stdout)["stopped"] is True
    # The emulator: gone, or a zombie awaiting its reaper (it outlives the `nexus up` that started it).
    stat = Path(f"/proc/{record['pid']}/stat")
    assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
    # Sockets close as the kernel reaps the killed processes, not when their signal is sent.
    deadline = time.monotonic() + 10
    processes, listeners = leftovers(state)
    while (processes or listeners) and time.monotonic() < deadline:
        time.sleep(0.2)
        processes, listeners = leftovers(state)
    assert not processes, processes
    assert not listeners, listeners
