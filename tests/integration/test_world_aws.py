"""The AWS world's adapters (world/aws) against the emulator holding the platform the real Terraform made (the
session's sandbox, tests/integration/conftest.py).

What can be undone is done and undone on Terraform's resources (drain and restore a region, fail the global
datastore over and back, resize a node group and put it back), so that the emulated platform is left as
Terraform made it (a re-plan of it must find no drift). What cannot be undone (fencing changes
Terraform-managed rule ids; a promotion is for good) runs on a database pair this module makes in Terraform's
VPCs, subnet groups and KMS keys, and deletes again.

The Kubernetes API has no server in the sandbox: it is faked at the HTTP boundary by a small `http.server`
per region (tests/unit/test_world_aws.py's FakeKubernetes), which the official client talks to with an EKS
bearer token. The probe goes through the sandbox's data plane (its edge and regional load balancers), where
nexus-api runs for real.

The last part rehearses the production runbooks through the CLI (`nexus dr ... --env sandbox --world aws`):
status, a planned failover and its failback, and an unplanned failover with the primary region's APIs
unreachable, SIGKILLed and resumed. The sandbox's data plane does not follow the emulator (promoting an RDS
instance there promotes no local PostgreSQL), so the records API the runbooks verify through is a stand-in per
region (FakeApi) behind a global front that answers from the region Route 53's failover records point at: the
emulator's health checks, read as Route 53 reads them. The checks after each run read the emulator by boto3.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.integration.conftest import killed_at_step, nexus, nexus_json
from tests.integration.sandboxlib import data_plane
from tests.unit.test_world_aws import APP_RULE, FakeApi, FakeKubernetes, FakeServer, kube_access

from nexus_platform import awsapi, model
from nexus_platform import platform as platform_model
from nexus_platform.platform import Platform
from nexus_platform.sandbox import tls
from nexus_platform.world.aws.eks import probes as eks_probes
from nexus_platform.world.aws.probe import AwsProbe
from nexus_platform.world.aws.world import aws_world
from nexus_platform.world.base import World

pytestmark = pytest.mark.integration

TEST_DB = "nexus-it-world-db"


@dataclasses.dataclass
class Target:
    platform: Platform
    world: World
    fakes: dict[str, FakeKubernetes]
    sandbox: dict[str, Any]

    def client(self, service: str, role: str) -> Any:
        return self.sandbox["plane"].client(service, self.platform.region(role).region)

    def world_for(self, platform: Platform) -> World:
        return _world(platform, self.sandbox, self.fakes)


def _world(platform: Platform, sandbox: dict[str, Any], fakes: dict[str, FakeKubernetes]) -> World:
    access = kube_access(platform, fakes, lambda: awsapi.credentials(sandbox["endpoint"]))
    return aws_world(
        platform,
        endpoint_url=sandbox["endpoint"],
        ca_bundle=tls.files(model.paths().tls_dir).ca,
        kube=access,
    )


@pytest.fixture(scope="module")
def target(sandbox: dict[str, Any]) -> Iterator[Target]:
    platform = platform_model.from_outputs("sandbox", sandbox["outputs"])
    fakes = {"primary": FakeKubernetes(replicas=2), "dr": FakeKubernetes(replicas=1)}
    try:
        yield Target(platform, _world(platform, sandbox, fakes), fakes, sandbox)
    finally:
        for fake in fakes.values():
            fake.close()


# --- reads --------------------------------------------------------------------------------------------------


def test_the_world_reads_the_applied_platform(target: Target) -> None:
    world, platform = target.world, target.platform
    assert world.name == "aws"
    assert (world.database.role("primary"), world.database.role("dr")) == ("primary", "replica")
    lag = world.database.lag("dr")
    assert lag.streaming is True
    assert lag.seconds == 0.0  # the emulator publishes ReplicaLag for its replicas
    assert world.database.caught_up("dr") is True  # type: ignore[attr-defined]
    assert world.database.is_fenced("primary") is False  # Terraform's db_from_nodes rule is there
    assert world.database.is_fenced("dr") is True  # a replica

    assert (world.cache.role("primary"), world.cache.role("dr")) == ("primary", "replica")

    assert (world.traffic.health("primary"), world.traffic.health("dr")) == ("healthy", "healthy")
    assert world.traffic.serving() == "primary"
    ttls = world.traffic.record_ttls()  # type: ignore[attr-defined]
    region = {role: platform.region(role).region for role in model.ROLES}
    assert ttls[f"{platform.api_fqdn} A primary-{region['primary']}"] == 60  # aliases: the target's TTL
    assert ttls[f"{platform.api_fqdn} A secondary-{region['dr']}"] == 60
    assert all(ttl > 0 for ttl in ttls.values())

    for role in model.ROLES:
        groups = eks_probes.node_groups(target.client("eks", role), platform.region(role).cluster_name)
        capacity = world.compute.capacity(role)
        assert capacity.nodes == sum(group.desired_size for group in groups) > 0
        assert capacity.desired == target.fakes[role].replicas


# --- changes undone on Terraform's resources ----------------------------------------------------------------


def _check_flags(target: Target, role: str) -> tuple[bool, bool]:
    config = target.client("route53", "primary").get_health_check(
        HealthCheckId=target.platform.region(role).health_check_id
    )["HealthCheck"]["HealthCheckConfig"]
    return bool(config["Inverted"]), bool(config["Disabled"])


def test_drain_and_restore_the_primary_region(target: Target) -> None:
    traffic = target.world.traffic
    try:
        traffic.drain("primary")
        assert _check_flags(target, "primary") == (True, True)
        assert _check_flags(target, "dr") == (False, False)
        assert traffic.health("primary") == "drained"
        assert traffic.serving() == "dr"
    finally:
        traffic.restore("primary")
    assert _check_flags(target, "primary") == (False, False)
    assert traffic.serving() == "primary"


def test_fail_the_cache_over_and_back(target: Target) -> None:
    cache = target.world.cache
    try:
        cache.promote("dr")
        assert (cache.role("primary"), cache.role("dr")) == ("replica", "primary")
        cache.follow("primary", "dr")  # the old primary follows by itself
        assert (cache.role("primary"), cache.role("dr")) == ("replica", "primary")
    finally:
        cache.promote("primary")
    assert (cache.role("primary"), cache.role("dr")) == ("primary", "replica")


def test_scale_the_dr_region_and_put_it_back(target: Target) -> None:
    eks = target.client("eks", "dr")
    cluster = target.platform.region("dr").cluster_name
    before = {g.name: g for g in eks_probes.node_groups(eks, cluster)}
    replicas = target.fakes["dr"].replicas
    try:
        target.world.compute.scale("dr", 4)
        after = {g.name: g for g in eks_probes.node_groups(eks, cluster)}
        for name, group in after.items():
            assert group.desired_size == min(group.max_size, max(before[name].desired_size, 2))
            assert (group.min_size, group.max_size) == (before[name].min_size, before[name].max_size)
        assert target.fakes["dr"].replicas == 4
        assert target.world.compute.capacity("dr").ready == 4
    finally:
        for group in before.values():
            eks.update_nodegroup_config(
                clusterName=cluster,
                nodegroupName=group.name,
                scalingConfig={
                    "minSize": group.min_size,
                    "maxSize": group.max_size,
                    "desiredSize": group.desired_size,
                },
            )
        target.fakes["dr"].replicas = replicas
    assert {g.name: g.desired_size for g in eks_probes.node_groups(eks, cluster)} == {
        name: group.desired_size for name, group in before.items()
    }


# --- a database pair made for the test ----------------------------------------------------------------------


def _make_pair(target: Target, suffix: str) -> tuple[Platform, dict[str, Any]]:
    """A primary and its cross-region replica in Terraform's VPCs, subnet groups and KMS keys, each behind a
    security group of its own that admits the nodes' security groups (as Terraform's does)."""
    outputs, platform, made = target.sandbox["outputs"], target.platform, {}
    for role in model.ROLES:
        facts = platform.region(role)
        rds, ec2 = target.client("rds", role), target.client("ec2", role)
        terraform_db = rds.describe_db_instances(DBInstanceIdentifier=facts.db_instance_identifier)[
            "DBInstances"
        ][0]
        group = ec2.create_security_group(
            GroupName=f"{TEST_DB}-{suffix}",
            Description="nexus it: world adapters",
            VpcId=outputs["regions"][role]["vpc_id"],
        )["GroupId"]
        nodes = eks_probes.node_security_groups(target.client("eks", role), ec2, facts.cluster_name)
        assert nodes, f"no node security group found in {facts.region}"
        ec2.authorize_security_group_ingress(
            GroupId=group,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 5432,
                    "ToPort": 5432,
                    "UserIdGroupPairs": [
                        {"GroupId": peer, "Description": APP_RULE} for peer in sorted(nodes)
                    ],
                }
            ],
        )
        made[role] = {
            "group": group,
            "nodes": nodes,
            "subnet_group": terraform_db["DBSubnetGroup"]["DBSubnetGroupName"],
            "kms_key": terraform_db["KmsKeyId"],
            "identifier": f"{TEST_DB}-{suffix}-{role}",
        }
    primary = target.client("rds", "primary").create_db_instance(
        DBInstanceIdentifier=made["primary"]["identifier"],
        DBInstanceClass="db.t4g.medium",
        Engine="postgres",
        EngineVersion="16.8",
        AllocatedStorage=20,
        MasterUsername="nexus_it",
        MasterUserPassword="not-a-secret-1",
        DBSubnetGroupName=made["primary"]["subnet_group"],
        VpcSecurityGroupIds=[made["primary"]["group"]],
        StorageEncrypted=True,
        KmsKeyId=made["primary"]["kms_key"],
        BackupRetentionPeriod=1,
    )["DBInstance"]
    replica = target.client("rds", "dr").create_db_instance_read_replica(
        DBInstanceIdentifier=made["dr"]["identifier"],
        SourceDBInstanceIdentifier=primary["DBInstanceArn"],
        SourceRegion=platform.region("primary").region,
        DBInstanceClass="db.t4g.medium",
        DBSubnetGroupName=made["dr"]["subnet_group"],
        VpcSecurityGroupIds=[made["dr"]["group"]],
        KmsKeyId=made["dr"]["kms_key"],
    )["DBInstance"]
    described = {"primary": primary, "dr": replica}
    regions = {
        role: dataclasses.replace(
            platform.region(role),
            db_instance_identifier=described[role]["DBInstanceIdentifier"],
            db_instance_arn=described[role]["DBInstanceArn"],
        )
        for role in model.ROLES
    }
    return dataclasses.replace(platform, regions=regions), made


def _remove_pair(target: Target, suffix: str) -> None:
    """Delete what `_make_pair` (and the adapters) made, found by name: also after a half-made pair."""
    prefix = f"{TEST_DB}-{suffix}"
    for role in model.ROLES:
        rds = target.client("rds", role)
        mine = [
            i
            for i in rds.describe_db_instances()["DBInstances"]
            if i["DBInstanceIdentifier"].startswith(prefix)
        ]
        # Replicas first: a source cannot go before its replicas.
        for instance in sorted(mine, key=lambda i: not i.get("ReadReplicaSourceDBInstanceIdentifier")):
            # The emulator may list a cross-region replica's source in both regions: delete each once.
            with contextlib.suppress(rds.exceptions.DBInstanceNotFoundFault):
                rds.delete_db_instance(
                    DBInstanceIdentifier=instance["DBInstanceIdentifier"], SkipFinalSnapshot=True
                )
    for role in model.ROLES:
        ec2 = target.client("ec2", role)
        groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [prefix]}])
        for group in groups["SecurityGroups"]:
            ec2.delete_security_group(GroupId=group["GroupId"])


def _rules(target: Target, role: str, group: str) -> set[tuple[str | None, str | None]]:
    """(peer security group, description) of `group`'s ingress rules that name a security group."""
    rules = target.client("ec2", role).describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [group]}]
    )["SecurityGroupRules"]
    return {
        ((r.get("ReferencedGroupInfo") or {}).get("GroupId"), r.get("Description"))
        for r in rules
        if not r["IsEgress"] and r.get("ReferencedGroupInfo")
    }


def test_fence_promote_and_reseed_a_database_pair(target: Target) -> None:
    suffix = uuid.uuid4().hex[:6]
    terraform_db = target.client("rds", "primary").describe_db_instances(
        DBInstanceIdentifier=target.platform.region("primary").db_instance_identifier
    )["DBInstances"][0]
    terraform_group = terraform_db["VpcSecurityGroups"][0]["VpcSecurityGroupId"]
    terraform_rules = _rules(target, "primary", terraform_group)
    try:
        platform, made = _make_pair(target, suffix)
        db = target.world_for(platform).database
        assert (db.role("primary"), db.role("dr")) == ("primary", "replica")
        assert db.lag("dr").streaming is True
        assert db.caught_up("dr") is True  # type: ignore[attr-defined]

        removed = db.revoke_app_ingress("primary")  # type: ignore[attr-defined]
        assert {rule.peer_group_id for rule in removed} == made["primary"]["nodes"]
        assert _rules(target, "primary", made["primary"]["group"]) == set()
        assert db.is_fenced("primary") is True
        db.fence("primary")  # idempotent

        db.promote("dr")
        assert db.role("dr") == "primary"
        promoted = target.client("rds", "dr").describe_db_instances(
            DBInstanceIdentifier=made["dr"]["identifier"]
        )["DBInstances"][0]
        assert "ReadReplicaSourceDBInstanceIdentifier" not in promoted
        db.promote("dr")  # a second promote is a no-op
        assert db.role("dr") == "primary"

        db.reseed_as_replica("primary", "dr")
        rebuilt = target.client("rds", "primary").describe_db_instances(
            DBInstanceIdentifier=made["primary"]["identifier"]
        )["DBInstances"][0]
        assert rebuilt["ReadReplicaSourceDBInstanceIdentifier"] == promoted["DBInstanceArn"]
        assert rebuilt["DBInstanceArn"] == platform.region("primary").db_instance_arn
        assert rebuilt["KmsKeyId"] == made["primary"]["kms_key"]
        assert db.role("primary") == "replica"
        assert db.lag("primary").streaming is True
        # The rebuilt replica is reachable by the region's (read-only) application again.
        assert {peer for peer, _ in _rules(target, "primary", made["primary"]["group"])} == made["primary"][
            "nodes"
        ]
        names = [
            i["DBInstanceIdentifier"]
            for i in target.client("rds", "primary").describe_db_instances()["DBInstances"]
        ]
        assert any(name.startswith(f"{made['primary']['identifier']}-old-") for name in names)
    finally:
        _remove_pair(target, suffix)
    # Terraform's database and its security group were not touched.
    assert _rules(target, "primary", terraform_group) == terraform_rules
    assert target.world.database.role("primary") == "primary"
    assert target.world.database.role("dr") == "replica"


# --- the probe, through the sandbox's data plane ------------------------------------------------------------


def test_probe_through_the_sandbox_edge(target: Target) -> None:
    plane = data_plane()
    probe = AwsProbe(plane.edge_url(), {role: plane.lb_url(role) for role in model.ROLES}, timeout=5.0)
    record_id = f"it-world-aws-{uuid.uuid4().hex[:8]}"
    written = probe.write(record_id)
    assert written.ok, written.detail
    assert written.region == plane.region("primary")
    read = probe.read(record_id)
    assert read.ok, read.detail
    assert read.region == plane.region("primary")  # the region that stored it


# --- the runbooks through the CLI: a rehearsal of production against the emulator --------------------------


class RoutedByRoute53(FakeServer):
    """api.<domain>: answers from the region Route 53's failover records send clients to: the primary while
    its health check is healthy, else the secondary (read from the emulator as Route 53 reads it: a disabled
    check is healthy, Inverted turns the verdict round, else over 18% of the checkers must see success)."""

    def __init__(self, target: Target, apis: dict[str, FakeApi]) -> None:
        self.target, self.apis = target, apis
        super().__init__()

    def healthy(self, role: str) -> bool:
        route53 = self.target.client("route53", "primary")
        check = self.target.platform.region(role).health_check_id
        config = route53.get_health_check(HealthCheckId=check)["HealthCheck"]["HealthCheckConfig"]
        if config.get("Disabled"):
            verdict = True
        else:
            seen = route53.get_health_check_status(HealthCheckId=check)["HealthCheckObservations"]
            passing = sum(1 for o in seen if o["StatusReport"]["Status"].startswith("Success"))
            verdict = passing > 0.18 * len(seen)
        return verdict != bool(config.get("Inverted"))

    def handle(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        role = "primary" if self.healthy("primary") else "dr"
        return self.apis[role].handle(method, path, body)


@dataclasses.dataclass
class Rehearsal:
    target: Target
    platform: Platform  # Terraform's platform with the test's database pair in place of Terraform's
    made: dict[str, Any]
    options: list[str]

    def dr(self, *args: str, timeout: float = 300) -> tuple[int, dict[str, Any], str]:
        return nexus_json("dr", *args, *self.options, env=self.target.sandbox["env"], timeout=timeout)

    # What the emulator holds, through boto3 (not through the adapters under test).

    def database(self, role: str) -> dict[str, Any]:
        identifier = self.platform.region(role).db_instance_identifier
        found: dict[str, Any] = self.target.client("rds", role).describe_db_instances(
            DBInstanceIdentifier=identifier
        )["DBInstances"][0]
        return found

    def writers(self) -> list[str]:
        """The roles whose instance is standalone (no replication source); each replica's source must be
        one of them."""
        standalone = [
            role
            for role in model.ROLES
            if not self.database(role).get("ReadReplicaSourceDBInstanceIdentifier")
        ]
        arns = {self.database(role)["DBInstanceArn"] for role in standalone}
        for role in set(model.ROLES) - set(standalone):
            assert self.database(role)["ReadReplicaSourceDBInstanceIdentifier"] in arns
        return standalone

    def app_rules(self, role: str) -> set[str | None]:
        return {peer for peer, _ in _rules(self.target, role, self.made[role]["group"])}

    def cache_primary(self) -> str:
        global_id = self.platform.global_datastore_id
        groups = self.target.client("elasticache", "dr").describe_global_replication_groups(
            GlobalReplicationGroupId=global_id, ShowMemberInfo=True
        )["GlobalReplicationGroups"][0]["Members"]
        primary = next(m for m in groups if m["Role"] == "PRIMARY")["ReplicationGroupId"]
        return next(r for r in model.ROLES if self.platform.region(r).cache_replication_group_id == primary)

    def node_groups(self, role: str) -> dict[str, int]:
        cluster = self.platform.region(role).cluster_name
        return {
            g.name: g.desired_size for g in eks_probes.node_groups(self.target.client("eks", role), cluster)
        }

    def steady(self) -> dict[str, Any]:
        return {
            "writers": self.writers(),
            "cache": self.cache_primary(),
            "checks": {role: _check_flags(self.target, role) for role in model.ROLES},
            "replicas": {role: self.target.fakes[role].replicas for role in model.ROLES},
            "app_rules": {role: self.app_rules(role) for role in model.ROLES},
        }


@pytest.fixture
def rehearsal(target: Target, tmp_path: Path) -> Iterator[Rehearsal]:
    """The CLI's options for `--world aws` against the emulator: a database pair of the test's own (a
    promotion is for good), the fake Kubernetes APIs, and the records API stand-ins behind Route 53."""
    suffix = uuid.uuid4().hex[:6]
    apis = {role: FakeApi(target.platform.region(role).region) for role in model.ROLES}
    front = RoutedByRoute53(target, apis)
    try:
        platform, made = _make_pair(target, suffix)
        outputs = json.loads(json.dumps(target.sandbox["outputs"]))
        regions = outputs["regions"]["value"] if "value" in outputs["regions"] else outputs["regions"]
        for role in model.ROLES:
            regions[role]["db_instance_identifier"] = platform.region(role).db_instance_identifier
            regions[role]["db_instance_arn"] = platform.region(role).db_instance_arn
        (tmp_path / "outputs.json").write_text(json.dumps(outputs))
        options = ["--env", "sandbox", "--world", "aws", "--outputs", str(tmp_path / "outputs.json")]
        for role in model.ROLES:
            options += ["--kube-api", f"{role}={target.fakes[role].url}"]
            options += ["--api-url", f"{role}={apis[role].url}"]
        options += ["--api-url", f"global={front.url}"]
        yield Rehearsal(target, platform, made, options)
    finally:
        for server in (front, *apis.values()):
            server.close()
        _remove_pair(target, suffix)


def _failed_checkers(target: Target, role: str, value: str | None) -> None:
    """The emulator's checkers of `role`'s health check fail (value "failure") or report success (None)."""
    route53 = target.client("route53", "primary")
    check = target.platform.region(role).health_check_id
    if value is None:
        route53.change_tags_for_resource(
            ResourceType="healthcheck", ResourceId=check, RemoveTagKeys=["nexus:emulator-checkers"]
        )
    else:
        route53.change_tags_for_resource(
            ResourceType="healthcheck",
            ResourceId=check,
            AddTags=[{"Key": "nexus:emulator-checkers", "Value": value}],
        )


def _fail_back(rehearsal: Rehearsal, before: dict[str, Any]) -> None:
    code, report, stderr = rehearsal.dr("failback", "--execute", timeout=600)
    assert code == 0, stderr[-2000:]
    assert report["outcome"] == "complete", report
    assert report["topology_restored"] is True, (report["topology_after"], report["topology_wanted"])
    assert rehearsal.steady() == before


def test_rehearsal_status_reads_the_emulated_platform(rehearsal: Rehearsal) -> None:
    code, status, stderr = rehearsal.dr("status")
    assert code == 0, stderr[-2000:]
    assert status["world"] == "aws"
    checks = {c["name"]: c["status"] for c in status["checks"]}
    assert checks["dr-database"] == "PASS", status["checks"]
    assert status["topology"]["serving"] == "primary"
    assert status["topology"]["database"] == {"primary": "primary", "dr": "replica"}
    assert status["topology"]["compute"] == {
        role: rehearsal.target.fakes[role].replicas for role in model.ROLES
    }


def test_rehearsal_planned_failover_and_failback(rehearsal: Rehearsal) -> None:
    before = rehearsal.steady()
    before_nodes = {role: rehearsal.node_groups(role) for role in model.ROLES}
    assert before["writers"] == ["primary"] and before["cache"] == "primary"
    try:
        code, report, stderr = rehearsal.dr("failover", "--planned", "--execute", timeout=600)
        assert code == 0, stderr[-2000:]
        assert report["outcome"] == "complete", report
        assert report["unfenced"] == {}
        after = rehearsal.steady()
        # The pair's replica promoted; the old primary stays standalone but fenced (no application path to
        # it) until the failback rebuilds it as a replica: RDS cannot demote an instance.
        assert after["writers"] == ["primary", "dr"]
        assert after["cache"] == "dr"  # the global datastore's primary moved
        assert after["checks"]["primary"] == (True, True)  # drained: forced unhealthy
        assert after["checks"]["dr"] == (False, False)
        assert after["app_rules"]["primary"] == set()  # fenced: the nodes cannot reach the old primary
        assert after["replicas"] == {"primary": 0, "dr": before["replicas"]["primary"]}
        # Node groups: the DR region's never shrink for a failover (room for the primary's load); the
        # primary's went to their minimum with its workload. (Their desired sizes are the cluster
        # autoscaler's afterwards, so failback does not put them back: not part of the steady state.)
        for role, grown in (("dr", True), ("primary", False)):
            groups = eks_probes.node_groups(
                rehearsal.target.client("eks", role), rehearsal.platform.region(role).cluster_name
            )
            for group in groups:
                if grown:
                    assert group.desired_size >= before_nodes[role][group.name]
                else:
                    assert group.desired_size == group.min_size
        verify = next(s for s in report["steps"] if s["name"] == "verify")
        assert verify["result"]["region"] == rehearsal.platform.region("dr").region
    finally:
        _fail_back(rehearsal, before)


def test_rehearsal_unplanned_failover_with_the_primary_region_down_resumes_after_sigkill(
    rehearsal: Rehearsal,
) -> None:
    """The primary region's APIs do not answer (--outage primary) and its origin fails Route 53's checks; the
    failover is SIGKILLed once it has fenced and resumed with --resume; the failback (the region back)
    restores the topology."""
    target = rehearsal.target
    before = rehearsal.steady()
    outage = ["--outage", "primary"]
    _failed_checkers(target, "primary", "failure")
    try:
        journal = killed_at_step(
            ["dr", "failover", "--execute", *outage, *rehearsal.options, "--output", "json"],
            target.sandbox["env"],
            "fence-primary",
        )
        run_id = journal.stem
        code, report, stderr = rehearsal.dr("failover", "--execute", *outage, "--resume", run_id, timeout=600)
        assert code == 0, stderr[-2000:]
        assert report["outcome"] == "complete", report
        # What lives in the unreachable region could not be fenced: the report says so.
        assert set(report["unfenced"]) == {"database", "compute"}, report["unfenced"]
        # The DR replica is promoted; the old primary, out of reach, is as it was: a writer no client reaches
        # (DNS sends none there), until the failback rebuilds it.
        assert "ReadReplicaSourceDBInstanceIdentifier" not in rehearsal.database("dr")
        assert "ReadReplicaSourceDBInstanceIdentifier" not in rehearsal.database("primary")
        assert rehearsal.cache_primary() == "dr"
        assert _check_flags(target, "primary") == (True, True)
        assert rehearsal.app_rules("primary") == before["app_rules"]["primary"]  # not reached: still there
        assert target.fakes["dr"].replicas >= 1
    finally:
        _failed_checkers(target, "primary", None)
        _fail_back(rehearsal, before)


def test_rehearsal_scale_set_refuses_applies_and_prints_the_drift(rehearsal: Rehearsal) -> None:
    """`nexus scale set --world aws` against the emulator (the Kubernetes API faked at the HTTP boundary): a
    rule refused by name, then the cache's replicas and the HPA's bounds changed (read back through boto3 and
    the fake), the drift printed as the tfvars and values edits that keep it; then put back."""
    # The dr commands' options without --api-url (scale probes no records API).
    pairs = zip(rehearsal.options[::2], rehearsal.options[1::2], strict=True)
    options = [word for pair in pairs if pair[0] != "--api-url" for word in pair]
    env, target = rehearsal.target.sandbox["env"], rehearsal.target
    refused = nexus("scale", "set", "--region", "dr", "--db-read-replicas", "2", *options, env=env)
    assert refused.returncode == 2 and "rule dr-replica-kept" in refused.stderr, refused.stderr

    group = target.platform.region("primary").cache_replication_group_id
    cache = target.client("elasticache", "primary")

    def replicas() -> int:
        found = cache.describe_replication_groups(ReplicationGroupId=group)["ReplicationGroups"][0]
        return len(found["NodeGroups"][0]["NodeGroupMembers"]) - 1

    before, bounds = replicas(), target.fakes["primary"].bounds
    assert bounds is not None
    try:
        args = ("scale", "set", "--region", "primary", "--cache-replicas", str(before + 1), "--api-replicas")
        done = nexus(*args, f"{bounds[0]}:{bounds[1] - 2}", "--execute", *options, env=env)
        assert done.returncode == 0, done.stderr[-2000:]
        assert replicas() == before + 1
        assert target.fakes["primary"].bounds == (bounds[0], bounds[1] - 2)
        assert "drift" in done.stdout
        assert f"terraform/aws/sandbox.tfvars: cache.num_cache_clusters = {before + 2}" in done.stdout
        assert f"helm/nexus/values-primary.yaml: autoscaling.maxReplicas = {bounds[1] - 2}" in done.stdout
    finally:
        back = nexus(
            "scale", "set", "--region", "primary", "--cache-replicas", str(before),
            "--api-replicas", f"{bounds[0]}:{bounds[1]}", "--execute", *options, env=env,
        )  # fmt: skip
        assert back.returncode == 0, back.stderr[-2000:]
    assert (replicas(), target.fakes["primary"].bounds) == (before, bounds)
