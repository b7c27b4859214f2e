"""The AWS world's adapters (world/aws) against moto in-process, with the emulator's patches applied.

The platform is a minimal one made here with boto3 (an RDS primary in us-east-1 and its cross-region
replica in eu-west-1 in their VPCs and security groups, an ElastiCache global datastore with both members, two
Route 53 health checks and the failover records, an EKS cluster with a managed node group per region), and
the `Platform` is built from those ids with `platform.from_outputs`, as from Terraform's outputs.

The Kubernetes API has no server here: it is faked at the HTTP boundary by a small `http.server` per region
(127.0.0.1, an ephemeral port) that answers the two endpoints the official client calls (read the nexus-api
Deployment, patch its scale subresource) and plays the Deployment controller (every wanted replica is ready at
once). nexus-api's records API, for the probe, is faked the same way. Nothing else is mocked: boto3 talks to
moto.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.credentials import Credentials

from nexus_platform import platform as platform_model
from nexus_platform.errors import NexusError, Unreachable
from nexus_platform.platform import Platform
from nexus_platform.world.aws import world as adapters
from nexus_platform.world.aws.cloudwatch.probes import LagSample, caught_up
from nexus_platform.world.aws.eks import kube
from nexus_platform.world.aws.eks import probes as eks_probes
from nexus_platform.world.aws.probe import AwsProbe
from nexus_platform.world.base import Capacity, Lag, World

REGIONS = {"primary": "us-east-1", "dr": "eu-west-1"}
DOMAIN = "nexus.example.com"
APP_RULE = "PostgreSQL from the EKS nodes and pods"


# --- fake HTTP servers (the Kubernetes API, nexus-api) ------------------------------------------------------


class FakeServer:
    """An http.server on 127.0.0.1 in a thread; `handle(method, path, headers, body)` answers."""

    def __init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                owner.requests.append((self.command, self.path, dict(self.headers.items()), body))
                status, payload = owner.handle(self.command, self.path, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_PATCH = _answer

            def log_message(self, format: str, *args: Any) -> None:
                del format, args

        self.requests: list[tuple[str, str, dict[str, str], Any]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # Closing must not wait for clients' idle keep-alive connections, nor for a half-second poll.
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def handle(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        raise NotImplementedError

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeKubernetes(FakeServer):
    """The nexus-api Deployment of one cluster: GET it, PATCH its scale subresource."""

    BASE = "/apis/apps/v1/namespaces/nexus/deployments/nexus-api"

    HPA = "/apis/autoscaling/v2/namespaces/nexus/horizontalpodautoscalers/nexus-api"

    PODS = "/api/v1/namespaces/nexus/pods"
    ISTIO = "/apis/security.istio.io/v1beta1/namespaces/{}/peerauthentications"
    LABELS: ClassVar[dict[str, str]] = {
        "app.kubernetes.io/name": "nexus",
        "app.kubernetes.io/instance": "nexus",
    }

    def __init__(self, replicas: int, bounds: tuple[int, int] | None = (2, 10)) -> None:
        self.replicas = replicas
        self.bounds = bounds  # the HorizontalPodAutoscaler's min and max; None: there is none
        # Pod name -> (restarts, sidecar?, last termination (reason, exit code, seconds ago) or None).
        self.pod_state: dict[str, tuple[int, bool, tuple[str, int, float] | None]] = {}
        self.logs: dict[tuple[str, str], str] = {}  # (pod, container) -> the previous container's log
        # Namespace -> its PeerAuthentications (the chart's: STRICT for the workload's pods).
        self.peer_authentications: dict[str, list[dict[str, Any]]] = {
            "nexus": [
                {
                    "spec": {
                        "selector": {"matchLabels": {"app.kubernetes.io/name": "nexus"}},
                        "mtls": {"mode": "STRICT"},
                    }
                }
            ],
            "istio-system": [],
        }
        super().__init__()

    def _pod(self, name: str) -> dict[str, Any]:
        restarts, sidecar, ended = self.pod_state.get(name, (0, True, None))
        status: dict[str, Any] = {"name": "nexus-api", "ready": True, "restartCount": restarts}
        status.update(image="nexus-api:1", imageID="nexus-api@sha256:0")
        if ended is not None:
            finished = datetime.fromtimestamp(datetime.now(UTC).timestamp() - ended[2], UTC)
            when = finished.strftime("%Y-%m-%dT%H:%M:%SZ")
            status["lastState"] = {
                "terminated": {"reason": ended[0], "exitCode": ended[1], "finishedAt": when}
            }
        containers = [{"name": "nexus-api"}, *([{"name": "istio-proxy"}] if sidecar else [])]
        return {
            "metadata": {"name": name, "namespace": "nexus", "labels": self.LABELS},
            "spec": {"containers": containers},
            "status": {"containerStatuses": [status]},
        }

    def handle(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        route = urlsplit(path).path
        query = parse_qs(urlsplit(path).query)
        if method == "GET" and route == self.PODS:
            wanted = dict(part.split("=", 1) for part in query["labelSelector"][0].split(","))
            assert wanted.items() <= self.LABELS.items(), wanted
            names = [f"nexus-api-{n}" for n in range(self.replicas)]
            return 200, {"kind": "PodList", "apiVersion": "v1", "items": [self._pod(n) for n in names]}
        if method == "GET" and route.startswith(f"{self.PODS}/") and route.endswith("/log"):
            pod = route.split("/")[-2]
            assert query.get("previous", [""])[0].lower() == "true", query
            log = self.logs.get((pod, query["container"][0]))
            if log is None:
                return 400, {"kind": "Status", "status": "Failure", "reason": "BadRequest", "code": 400}
            return 200, log
        for namespace, items in self.peer_authentications.items():
            if method == "GET" and route == self.ISTIO.format(namespace):
                return 200, {"apiVersion": "security.istio.io/v1beta1", "kind": "PeerAuthenticationList",
                             "items": items}  # fmt: skip
        if method == "GET" and route == self.HPA and self.bounds is not None:
            return 200, {
                "apiVersion": "autoscaling/v2",
                "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": "nexus-api", "namespace": "nexus"},
                "spec": {
                    "minReplicas": self.bounds[0],
                    "maxReplicas": self.bounds[1],
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "nexus-api"},
                },
                "status": {"currentReplicas": self.replicas, "desiredReplicas": self.replicas},
            }
        if method == "GET" and route == self.BASE:
            return 200, {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "nexus-api", "namespace": "nexus"},
                "spec": {
                    "replicas": self.replicas,
                    "selector": {"matchLabels": {"app.kubernetes.io/name": "nexus"}},
                    "template": {"metadata": {"labels": {"app.kubernetes.io/name": "nexus"}}},
                },
                "status": {"replicas": self.replicas, "readyReplicas": self.replicas or None},
            }
        if method == "PATCH" and route == self.HPA and self.bounds is not None:
            spec = body["spec"]  # a merge patch
            self.bounds = (
                int(spec.get("minReplicas", self.bounds[0])),
                int(spec.get("maxReplicas", self.bounds[1])),
            )
            return self.handle("GET", path, None)
        if method == "PATCH" and route == f"{self.BASE}/scale":
            self.replicas = int(body["spec"]["replicas"])
            return 200, {
                "apiVersion": "autoscaling/v1",
                "kind": "Scale",
                "metadata": {"name": "nexus-api", "namespace": "nexus"},
                "spec": {"replicas": self.replicas},
                "status": {"replicas": self.replicas},
            }
        return 404, {"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404}


class FakeApi(FakeServer):
    """nexus-api's records API in one region."""

    def __init__(self, region: str) -> None:
        self.region = region
        self.records: dict[str, Any] = {}
        super().__init__()

    def handle(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        record_id = path.rsplit("/", 1)[-1]
        if method == "PUT":
            self.records.setdefault(record_id, {"id": record_id, "data": body["data"], "region": self.region})
            return 201, self.records[record_id]
        if record_id in self.records:
            return 200, self.records[record_id]
        return 404, {"error": "not found"}


# --- the minimal platform -----------------------------------------------------------------------------------


def _region(role: str, region: str, cidr: str) -> dict[str, Any]:
    """A region's VPC, security groups, KMS key, DB subnet group, EKS cluster and node group."""
    ec2 = boto3.client("ec2", region_name=region)
    vpc = ec2.create_vpc(CidrBlock=f"{cidr}.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"{cidr}.{i}.0/24", AvailabilityZone=f"{region}{z}")["Subnet"][
            "SubnetId"
        ]
        for i, z in enumerate("ab")
    ]

    def group(name: str) -> str:
        return str(ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"])

    db, nodes, bastion = group("db"), group("nodes"), group("bastion")
    for peer, description in ((nodes, APP_RULE), (bastion, "PostgreSQL from the bastion")):
        ec2.authorize_security_group_ingress(
            GroupId=db,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 5432,
                    "ToPort": 5432,
                    "UserIdGroupPairs": [{"GroupId": peer, "Description": description}],
                }
            ],
        )
    ec2.authorize_security_group_ingress(
        GroupId=db,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 5432,
                "ToPort": 5432,
                "IpRanges": [{"CidrIp": "10.99.0.0/16", "Description": "VPN"}],
            }
        ],
    )
    key = boto3.client("kms", region_name=region).create_key(Description=f"{role} key")["KeyMetadata"]["Arn"]
    rds = boto3.client("rds", region_name=region)
    subnet_group = f"nexus-sandbox-{region}-postgres"
    rds.create_db_subnet_group(
        DBSubnetGroupName=subnet_group, DBSubnetGroupDescription="db", SubnetIds=subnets
    )

    role_arn = boto3.client("iam", region_name=region).create_role(
        RoleName=f"eks-{region}", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    eks = boto3.client("eks", region_name=region)
    cluster = f"nexus-sandbox-{region}"
    eks.create_cluster(name=cluster, roleArn=role_arn, resourcesVpcConfig={"subnetIds": subnets})
    template = ec2.create_launch_template(
        LaunchTemplateName=f"{cluster}-general", LaunchTemplateData={"SecurityGroupIds": [nodes]}
    )["LaunchTemplate"]
    low, desired = (2, 2) if role == "primary" else (1, 1)
    eks.create_nodegroup(
        clusterName=cluster,
        nodegroupName=f"{cluster}-general",
        nodeRole=role_arn,
        subnets=subnets,
        scalingConfig={"minSize": low, "desiredSize": desired, "maxSize": 4},
        launchTemplate={"id": template["LaunchTemplateId"], "version": "1"},
    )
    return {
        "region": region,
        "db_group": db,
        "nodes_group": nodes,
        "bastion_group": bastion,
        "kms_key": key,
        "subnet_group": subnet_group,
        "cluster": cluster,
        "nodegroup": f"{cluster}-general",
    }


def _build() -> dict[str, Any]:
    cidrs = {"primary": "10.0", "dr": "10.1"}
    made = {role: _region(role, region, cidrs[role]) for role, region in REGIONS.items()}
    primary, dr = made["primary"], made["dr"]

    primary_db = boto3.client("rds", region_name=primary["region"]).create_db_instance(
        DBInstanceIdentifier=f"nexus-sandbox-{primary['region']}-postgres",
        DBInstanceClass="db.t4g.medium",
        Engine="postgres",
        EngineVersion="16.8",
        AllocatedStorage=20,
        MasterUsername="nexus_admin",
        MasterUserPassword="not-a-secret-1",
        DBSubnetGroupName=primary["subnet_group"],
        VpcSecurityGroupIds=[primary["db_group"]],
        StorageEncrypted=True,
        KmsKeyId=primary["kms_key"],
        BackupRetentionPeriod=30,
        DeletionProtection=True,
    )["DBInstance"]
    replica_db = boto3.client("rds", region_name=dr["region"]).create_db_instance_read_replica(
        DBInstanceIdentifier=f"nexus-sandbox-{dr['region']}-postgres",
        SourceDBInstanceIdentifier=primary_db["DBInstanceArn"],
        DBInstanceClass="db.t4g.medium",
        DBSubnetGroupName=dr["subnet_group"],
        VpcSecurityGroupIds=[dr["db_group"]],
        KmsKeyId=dr["kms_key"],
    )["DBInstance"]

    primary_cache = boto3.client("elasticache", region_name=primary["region"])
    primary_cache.create_replication_group(
        ReplicationGroupId="nexus-sandbox-us-east-1-redis",
        ReplicationGroupDescription="primary",
        NumCacheClusters=2,
        CacheNodeType="cache.m6g.large",
        Engine="redis",
        EngineVersion="7.1",
        AutomaticFailoverEnabled=True,
    )
    global_id = primary_cache.create_global_replication_group(
        GlobalReplicationGroupIdSuffix="nexus-sandbox-cache",
        PrimaryReplicationGroupId="nexus-sandbox-us-east-1-redis",
    )["GlobalReplicationGroup"]["GlobalReplicationGroupId"]
    boto3.client("elasticache", region_name=dr["region"]).create_replication_group(
        ReplicationGroupId="nexus-sandbox-eu-west-1-redis",
        ReplicationGroupDescription="dr",
        NumCacheClusters=2,
        GlobalReplicationGroupId=global_id,
    )

    route53 = boto3.client("route53", region_name="us-east-1")
    zone = route53.create_hosted_zone(Name=DOMAIN, CallerReference="zone")["HostedZone"]["Id"].split("/")[-1]
    checks: dict[str, str] = {}
    changes = []
    for role, facts in made.items():
        origin = f"{facts['region']}.origin.{DOMAIN}"
        checks[role] = route53.create_health_check(
            CallerReference=role,
            HealthCheckConfig={
                "Type": "HTTPS",
                "FullyQualifiedDomainName": origin,
                "Port": 443,
                "ResourcePath": "/readyz",
                "RequestInterval": 10,
                "FailureThreshold": 3,
                "EnableSNI": True,
                "Regions": ["us-east-1", "us-west-2", "eu-west-1"],
            },
        )["HealthCheck"]["Id"]
        alb = f"nexus-{role}.{facts['region']}.elb.amazonaws.com"
        changes += [
            {
                "Action": "CREATE",
                "ResourceRecordSet": {
                    "Name": origin,
                    "Type": "A",
                    "TTL": 30,
                    "ResourceRecords": [{"Value": "192.0.2.10" if role == "primary" else "192.0.2.20"}],
                },
            },
            {
                "Action": "CREATE",
                "ResourceRecordSet": {
                    "Name": f"api.{DOMAIN}",
                    "Type": "A",
                    "SetIdentifier": f"{'primary' if role == 'primary' else 'secondary'}-{facts['region']}",
                    "Failover": "PRIMARY" if role == "primary" else "SECONDARY",
                    "HealthCheckId": checks[role],
                    "AliasTarget": {
                        "HostedZoneId": "Z35SXDOTRQ7X7K",
                        "DNSName": alb,
                        "EvaluateTargetHealth": True,
                    },
                },
            },
        ]
        facts.update(origin=origin, alb=alb)
    changes.append(
        {
            "Action": "CREATE",
            "ResourceRecordSet": {
                "Name": f"app.{DOMAIN}",
                "Type": "CNAME",
                "TTL": 300,
                "ResourceRecords": [{"Value": "d111111abcdef8.cloudfront.net"}],
            },
        }
    )
    route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": changes})

    databases = {"primary": primary_db, "dr": replica_db}
    outputs = {
        "regions": {
            role: {
                "region": facts["region"],
                "cluster_name": facts["cluster"],
                "db_instance_identifier": databases[role]["DBInstanceIdentifier"],
                "db_instance_arn": databases[role]["DBInstanceArn"],
                "db_endpoint": f"{databases[role]['Endpoint']['Address']}:5432",
                "cache_replication_group_id": f"nexus-sandbox-{facts['region']}-redis",
                "health_check_id": checks[role],
                "origin_fqdn": facts["origin"],
                "alb_dns_name": facts["alb"],
                "backup_vault_name": f"{facts['region']}-vault",
                "backup_role_arn": "arn:aws:iam::123456789012:role/nexus-backup",
                "state_bucket": f"nexus-sandbox-{facts['region']}-state",
            }
            for role, facts in made.items()
        },
        "database": {"rpo_target_seconds": 300, "replica_lag_alarm_s": 60, "backup_retention_days": 30},
        "health_check": {"path": "/readyz", "request_interval": 10, "failure_threshold": 3},
        "api_fqdn": f"api.{DOMAIN}",
        "app_fqdn": f"app.{DOMAIN}",
        "zone_id": zone,
        "global_datastore_id": global_id,
        "cloudfront_distribution_id": "E2EXAMPLE",
    }
    return {"made": made, "outputs": outputs}


@dataclasses.dataclass
class Env:
    platform: Platform
    world: World
    made: dict[str, Any]
    kube: dict[str, FakeKubernetes]
    apis: dict[str, FakeApi]

    def rds(self, role: str) -> Any:
        return boto3.client("rds", region_name=REGIONS[role])

    def instance(self, role: str, identifier: str | None = None) -> dict[str, Any]:
        name = identifier or self.platform.region(role).db_instance_identifier
        found: dict[str, Any] = self.rds(role).describe_db_instances(DBInstanceIdentifier=name)[
            "DBInstances"
        ][0]
        return found

    def db_rules(self, role: str) -> set[tuple[str, str]]:
        """(peer, description) of the ingress rules of `role`'s DB security group."""
        ec2 = boto3.client("ec2", region_name=REGIONS[role])
        rules = ec2.describe_security_group_rules(
            Filters=[{"Name": "group-id", "Values": [self.made[role]["db_group"]]}]
        )["SecurityGroupRules"]
        return {
            ((r.get("ReferencedGroupInfo") or {}).get("GroupId") or r.get("CidrIpv4"), r.get("Description"))
            for r in rules
            if not r["IsEgress"]
        }

    def calls(self, service: str, role: str, operation: str) -> list[dict[str, Any]]:
        """Record the world's `operation` calls on its (cached) client for `service` in `role`'s region."""
        seen: list[dict[str, Any]] = []
        client = self.world.database.clients(service, REGIONS[role])  # type: ignore[attr-defined]
        client.meta.events.register(
            f"before-parameter-build.{client.meta.service_model.service_name}.{operation}",
            lambda params, **_: seen.append(dict(params)),
        )
        return seen


def kube_access(
    platform: Platform, fakes: dict[str, FakeKubernetes], credentials: Any = None
) -> dict[str, kube.KubeAccess]:
    """Each region's Kubernetes API: its fake, with a real EKS bearer token (signed with `credentials`, a
    callable; default: boto3's chain)."""
    sign = credentials or (lambda: boto3.Session().get_credentials())
    return {
        role: kube.KubeAccess(
            host=fake.url,
            token=kube.EksTokens(platform.region(role).cluster_name, platform.region(role).region, sign),
        )
        for role, fake in fakes.items()
    }


@pytest.fixture
def env(aws: None) -> Iterator[Env]:
    built = _build()
    # The sandbox model's endpoint is the emulator's port; moto in-process answers the default endpoints.
    platform = dataclasses.replace(
        platform_model.from_outputs("sandbox", built["outputs"]), endpoint_url=None
    )
    fakes = {"primary": FakeKubernetes(replicas=2), "dr": FakeKubernetes(replicas=1)}
    apis = {role: FakeApi(region) for role, region in REGIONS.items()}
    world = adapters.aws_world(platform, kube=kube_access(platform, fakes))
    world = dataclasses.replace(
        world, probe=AwsProbe(apis["dr"].url, {role: api.url for role, api in apis.items()}, timeout=2.0)
    )
    try:
        yield Env(platform, world, built["made"], fakes, apis)
    finally:
        for server in (*fakes.values(), *apis.values()):
            server.close()


# --- database -----------------------------------------------------------------------------------------------


def test_database_roles_lag_and_positions(env: Env) -> None:
    db = env.world.database
    assert db.role("primary") == "primary"
    assert db.role("dr") == "replica"
    assert db.lag("dr") == Lag(bytes=None, seconds=0.0, streaming=True)
    assert db.lag("primary") == Lag(None, None, False)  # a primary lags nothing
    assert db.caught_up("dr") is True  # ReplicaLag == 0
    assert db.caught_up("primary") is False
    assert db.is_fenced("dr") is True  # a replica takes no writes
    assert db.is_fenced("primary") is False


def test_a_missing_instance_is_down(env: Env) -> None:
    identifier = env.platform.region("dr").db_instance_identifier
    env.rds("dr").modify_db_instance(
        DBInstanceIdentifier=identifier, DeletionProtection=False, ApplyImmediately=True
    )
    env.rds("dr").delete_db_instance(DBInstanceIdentifier=identifier, SkipFinalSnapshot=True)
    assert env.world.database.role("dr") == "down"
    assert env.world.database.lag("dr") == Lag(None, None, False)
    with pytest.raises(NexusError) as exc:
        env.world.database.promote("dr")
    assert "\n" not in str(exc.value)
    assert "nexus-sandbox-eu-west-1-postgres" in str(exc.value)


def test_fence_removes_exactly_the_apps_ingress(env: Env) -> None:
    db, made = env.world.database, env.made["primary"]
    before = env.db_rules("primary")
    assert (made["nodes_group"], APP_RULE) in before
    dr_before = env.db_rules("dr")

    removed = db.revoke_app_ingress("primary")  # type: ignore[attr-defined]
    assert [(r.peer_group_id, r.from_port, r.to_port, r.description) for r in removed] == [
        (made["nodes_group"], 5432, 5432, APP_RULE)
    ]
    assert env.db_rules("primary") == before - {(made["nodes_group"], APP_RULE)}  # bastion and VPN stay
    assert env.db_rules("dr") == dr_before
    assert db.is_fenced("primary") is True
    assert db.role("primary") == "primary"  # fenced, not demoted

    db.fence("primary")  # idempotent
    assert env.db_rules("primary") == before - {(made["nodes_group"], APP_RULE)}

    # The fence is recorded on the DB security group, so that another run can restore it.
    tags = boto3.client("ec2", region_name="us-east-1").describe_security_groups(GroupIds=[made["db_group"]])
    record = json.loads({t["Key"]: t["Value"] for t in tags["SecurityGroups"][0]["Tags"]}[adapters.FENCE_TAG])
    assert record["rules"] == [[made["nodes_group"], "tcp", 5432, 5432, APP_RULE]]
    assert record["lag"] == 0.0

    restored = db.unfence("primary")  # type: ignore[attr-defined]
    assert [r.peer_group_id for r in restored] == [made["nodes_group"]]
    assert env.db_rules("primary") == before
    assert db.is_fenced("primary") is False
    assert db.unfence("primary") == []  # type: ignore[attr-defined]


def test_a_fence_record_longer_than_a_tag_is_split_not_truncated(env: Env) -> None:
    """Six node security groups with long descriptions: more than one 256-character tag value holds. Each
    part is valid JSON and the unfence restores every rule (a truncated value would lose them all)."""
    db, made = env.world.database, env.made["primary"]
    ec2 = boto3.client("ec2", region_name="us-east-1")
    vpc = ec2.describe_security_groups(GroupIds=[made["db_group"]])["SecurityGroups"][0]["VpcId"]
    extra = []
    for n in range(5):
        peer = ec2.create_security_group(GroupName=f"nodes-{n}", Description="nodes", VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(
            GroupId=made["db_group"],
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 5432,
                    "ToPort": 5432,
                    "UserIdGroupPairs": [{"GroupId": peer, "Description": f"{APP_RULE} ({'x' * 200}) {n}"}],
                }
            ],
        )
        extra.append(peer)
    before = env.db_rules("primary")
    nodes = {made["nodes_group"], *extra}
    db._node_groups = lambda role: nodes  # type: ignore[attr-defined,method-assign]

    removed = db.revoke_app_ingress("primary")  # type: ignore[attr-defined]
    assert {r.peer_group_id for r in removed} == nodes
    tags = {
        t["Key"]: t["Value"]
        for t in ec2.describe_security_groups(GroupIds=[made["db_group"]])["SecurityGroups"][0]["Tags"]
    }
    parts = [value for key, value in tags.items() if key.startswith(adapters.FENCE_TAG)]
    assert len(parts) > 1 and all(len(value) <= 256 for value in parts)
    recorded = {rule[0] for value in parts for rule in json.loads(value)["rules"]}
    assert recorded == nodes

    db.unfence("primary")  # type: ignore[attr-defined]
    assert {peer for peer, _ in env.db_rules("primary")} == {peer for peer, _ in before}
    after = ec2.describe_security_groups(GroupIds=[made["db_group"]])["SecurityGroups"][0].get("Tags", [])
    assert not [t for t in after if t["Key"].startswith(adapters.FENCE_TAG)]


def test_promote_makes_the_replica_standalone_once(env: Env) -> None:
    db = env.world.database
    promotions = env.calls("rds", "dr", "PromoteReadReplica")
    db.promote("dr")
    assert len(promotions) == 1
    assert promotions[0]["BackupRetentionPeriod"] == env.platform.backup_retention_days

    promoted = env.instance("dr")
    assert "ReadReplicaSourceDBInstanceIdentifier" not in promoted
    assert promoted["DBInstanceStatus"] == "available"
    assert env.instance("primary").get("ReadReplicaDBInstanceIdentifiers", []) == []
    assert db.role("dr") == "primary"
    assert db.lag("dr") == Lag(None, None, False)

    db.promote("dr")  # a second promote is a no-op
    assert len(promotions) == 1
    assert db.role("dr") == "primary"


def test_reseed_rebuilds_the_old_primary_as_a_replica(env: Env) -> None:
    db, facts = env.world.database, env.platform.region("primary")
    db.fence("primary")
    db.promote("dr")

    creations = env.calls("rds", "primary", "CreateDBInstanceReadReplica")
    db.reseed_as_replica("primary", source="dr")
    assert len(creations) == 1

    rebuilt = env.instance("primary")
    assert rebuilt["ReadReplicaSourceDBInstanceIdentifier"] == env.platform.region("dr").db_instance_arn
    assert rebuilt["DBInstanceArn"] == facts.db_instance_arn  # the model's names stay true
    assert rebuilt["KmsKeyId"] == env.made["primary"]["kms_key"]  # the region's key
    assert rebuilt["DBSubnetGroup"]["DBSubnetGroupName"] == env.made["primary"]["subnet_group"]
    assert [g["VpcSecurityGroupId"] for g in rebuilt["VpcSecurityGroups"]] == [
        env.made["primary"]["db_group"]
    ]
    assert rebuilt["DbiResourceId"] != env.instance("dr")["DbiResourceId"]

    # The old primary is kept aside, renamed.
    names = [i["DBInstanceIdentifier"] for i in env.rds("primary").describe_db_instances()["DBInstances"]]
    aside = [n for n in names if n.startswith(f"{facts.db_instance_identifier}-old-")]
    assert len(aside) == 1
    assert "ReadReplicaSourceDBInstanceIdentifier" not in env.instance("primary", aside[0])

    assert db.role("primary") == "replica"
    assert db.lag("primary").streaming is True
    assert db.caught_up("primary") is True
    # A replica takes no writes: the region's (read-only) application may reach it again.
    assert (env.made["primary"]["nodes_group"], APP_RULE) in env.db_rules("primary")

    db.reseed_as_replica("primary", source="dr")  # done already: nothing more
    assert len(creations) == 1

    with pytest.raises(NexusError, match="is a replica itself"):
        db.reseed_as_replica("dr", source="primary")


# --- cache --------------------------------------------------------------------------------------------------


def test_cache_failover_swaps_the_global_datastores_primary(env: Env) -> None:
    cache = env.world.cache
    assert (cache.role("primary"), cache.role("dr")) == ("primary", "replica")
    cache.follow("dr", "primary")  # a secondary follows by itself: nothing to do
    assert (cache.role("primary"), cache.role("dr")) == ("primary", "replica")

    cache.promote("dr")
    assert (cache.role("primary"), cache.role("dr")) == ("replica", "primary")
    members = boto3.client("elasticache", region_name="eu-west-1").describe_global_replication_groups(
        GlobalReplicationGroupId=env.platform.global_datastore_id, ShowMemberInfo=True
    )["GlobalReplicationGroups"][0]["Members"]
    assert {m["ReplicationGroupRegion"]: m["Role"] for m in members} == {
        "eu-west-1": "PRIMARY",
        "us-east-1": "SECONDARY",
    }
    cache.promote("dr")  # already the primary
    assert cache.role("dr") == "primary"

    cache.follow("dr", "primary")  # the other way round: fail over to the source
    assert (cache.role("primary"), cache.role("dr")) == ("primary", "replica")


# --- traffic ------------------------------------------------------------------------------------------------


def _check_config(check_id: str) -> dict[str, Any]:
    config: dict[str, Any] = boto3.client("route53", region_name="us-east-1").get_health_check(
        HealthCheckId=check_id
    )["HealthCheck"]["HealthCheckConfig"]
    return config


def test_drain_forces_exactly_that_health_check_unhealthy(env: Env) -> None:
    traffic = env.world.traffic
    primary_check, dr_check = (env.platform.region(r).health_check_id for r in ("primary", "dr"))
    assert (traffic.health("primary"), traffic.health("dr")) == ("healthy", "healthy")
    assert traffic.serving() == "primary"

    traffic.drain("primary")
    assert (_check_config(primary_check)["Inverted"], _check_config(primary_check)["Disabled"]) == (
        True,
        True,
    )
    assert (_check_config(dr_check)["Inverted"], _check_config(dr_check)["Disabled"]) == (False, False)
    assert traffic.health("primary") == "drained"
    assert traffic.serving() == "dr"
    traffic.drain("primary")  # idempotent
    assert traffic.health("primary") == "drained"

    traffic.drain("dr")
    assert traffic.serving() is None

    traffic.restore("primary")
    traffic.restore("dr")
    assert (_check_config(primary_check)["Inverted"], _check_config(primary_check)["Disabled"]) == (
        False,
        False,
    )
    assert traffic.serving() == "primary"


def test_record_ttls(env: Env) -> None:
    ttls = env.world.traffic.record_ttls()  # type: ignore[attr-defined]
    assert ttls == {
        f"us-east-1.origin.{DOMAIN} A": 30,
        f"eu-west-1.origin.{DOMAIN} A": 30,
        f"api.{DOMAIN} A primary-us-east-1": 60,  # an alias: the load balancer's TTL
        f"api.{DOMAIN} A secondary-eu-west-1": 60,
        f"app.{DOMAIN} CNAME": 300,
    }


# --- compute ------------------------------------------------------------------------------------------------


def _nodegroup(env: Env, role: str) -> dict[str, int]:
    made = env.made[role]
    scaling: dict[str, int] = boto3.client("eks", region_name=made["region"]).describe_nodegroup(
        clusterName=made["cluster"], nodegroupName=made["nodegroup"]
    )["nodegroup"]["scalingConfig"]
    return scaling


def test_scale_sets_the_node_groups_and_the_deployment(env: Env) -> None:
    compute = env.world.compute
    assert compute.capacity("dr") == Capacity(ready=1, desired=1, nodes=1)
    assert compute.capacity("primary") == Capacity(ready=2, desired=2, nodes=2)

    compute.scale("dr", 6)  # 6 pods at 2 a node: 3 nodes, within [1, 4]
    assert env.kube["dr"].replicas == 6
    assert _nodegroup(env, "dr") == {"minSize": 1, "maxSize": 4, "desiredSize": 3}
    assert compute.capacity("dr") == Capacity(ready=6, desired=6, nodes=3)

    compute.scale("dr", 20)  # clamped to the group's maximum
    assert _nodegroup(env, "dr")["desiredSize"] == 4
    assert env.kube["dr"].replicas == 20

    compute.scale("primary", 0)  # the old primary: no pods, its node groups at their minimum
    assert env.kube["primary"].replicas == 0
    assert _nodegroup(env, "primary") == {"minSize": 2, "maxSize": 4, "desiredSize": 2}
    assert compute.capacity("primary") == Capacity(ready=0, desired=0, nodes=2)

    # The official client sent the EKS bearer token and patched the scale subresource.
    _, path, headers, body = next(r for r in env.kube["dr"].requests if r[0] == "PATCH")
    assert path == "/apis/apps/v1/namespaces/nexus/deployments/nexus-api/scale"
    assert body == {"spec": {"replicas": 6}}
    assert {k.lower(): v for k, v in headers.items()}["authorization"].startswith("Bearer k8s-aws-v1.")


def test_an_unreachable_kubernetes_api_is_one_line(env: Env) -> None:
    env.kube["dr"].close()
    with pytest.raises(NexusError) as exc:
        env.world.compute.capacity("dr")
    assert "\n" not in str(exc.value)
    assert "does not answer" in str(exc.value)


def test_the_eks_token_is_a_presigned_get_caller_identity() -> None:
    token = kube.eks_token("nexus-sandbox-eu-west-1", "eu-west-1", Credentials("AKIDEXAMPLE", "secret"))
    assert token.startswith("k8s-aws-v1.")
    assert "=" not in token
    encoded = token.removeprefix("k8s-aws-v1.")
    url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    split = urlsplit(url)
    query = parse_qs(split.query)
    assert split.netloc == "sts.eu-west-1.amazonaws.com"
    assert query["Action"] == ["GetCallerIdentity"]
    assert query["X-Amz-Expires"] == ["60"]
    assert "x-k8s-aws-id" in query["X-Amz-SignedHeaders"][0].split(";")
    assert query["X-Amz-Credential"][0].startswith("AKIDEXAMPLE/")


def test_kube_access_from_the_emulated_cluster(env: Env) -> None:
    described = boto3.client("eks", region_name="eu-west-1").describe_cluster(name=env.made["dr"]["cluster"])
    access = kube.from_cluster(described["cluster"], "eu-west-1", lambda: boto3.Session().get_credentials())
    assert access.ca_pem is not None and access.ca_pem.startswith(b"-----BEGIN CERTIFICATE-----")
    assert access.host.startswith("https://")
    assert access.token().startswith("k8s-aws-v1.")
    assert kube.apps_api(access).api_client.configuration.ssl_ca_cert.endswith(".pem")


def test_kube_access_from_describe_cluster() -> None:
    pem = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    described = {
        "name": "c",
        "endpoint": "https://ABC.gr7.eu-west-1.eks.amazonaws.com/",
        "certificateAuthority": {"data": base64.b64encode(pem).decode()},
    }
    access = kube.from_cluster(described, "eu-west-1", lambda: None)
    assert access.host == "https://ABC.gr7.eu-west-1.eks.amazonaws.com"
    assert access.ca_pem == pem
    with pytest.raises(NexusError):
        kube.from_cluster(
            {**described, "certificateAuthority": {"data": "not base64!"}}, "eu-west-1", lambda: None
        )


# --- probe --------------------------------------------------------------------------------------------------


def test_probe_writes_and_reads_through_the_endpoints(env: Env) -> None:
    probe = env.world.probe
    written = probe.write("probe-1")
    assert (written.ok, written.status, written.region) == (True, 201, "eu-west-1")
    read = probe.read("probe-1")
    assert (read.ok, read.status, read.region) == (True, 200, "eu-west-1")
    method, path, headers, _ = env.apis["dr"].requests[-1]
    assert (method, path, headers.get("Cache-Control")) == ("GET", "/api/v1/records/probe-1", "no-cache")

    missing = probe.read("probe-1", role="primary")  # one region's API, which has not got it
    assert (missing.ok, missing.status) == (False, 404)

    env.apis["dr"].close()
    down = probe.write("probe-2")
    assert (down.ok, down.status, down.region) == (False, None, None)
    assert down.detail


# --- what ReplicaLag proves ---------------------------------------------------------------------------------


def test_caught_up_from_replica_lag() -> None:
    at = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    fence = at.timestamp() - 100
    assert caught_up(None) is False
    assert caught_up(LagSample(at, 0.0)) is True
    assert caught_up(LagSample(at, 3.0)) is False  # behind, and no fence to judge against
    # After a fence the lag grows though nothing is missing: a commit replayed after the fence proves it.
    assert caught_up(LagSample(at, 50.0), fenced_at=fence) is True
    assert caught_up(LagSample(at, 120.0), fenced_at=fence) is False
    # No commit after the fence: the lag at the fence plus two metric periods must have passed.
    assert caught_up(LagSample(at, 120.0), fenced_at=fence, lag_at_fence=2.0, now=fence + 60) is False
    assert caught_up(LagSample(at, 120.0), fenced_at=fence, lag_at_fence=2.0, now=fence + 125) is True


# --- an unplanned failover with the primary region down -------------------------------------------------


def test_failover_completes_when_the_primary_regions_apis_do_not_answer(env: Env, tmp_path: Any) -> None:
    """The primary region's regional endpoints refuse every connection (Clients' `outage`: its RDS, EC2,
    ElastiCache, EKS and CloudWatch calls go to a closed port; Route 53, a global API, answers). The failover
    fences what is in its hands (the health check: out of DNS), records what it could not (the database's
    security groups, the node groups) and completes in the DR region."""
    from nexus_platform.ops.context import Context  # noqa: PLC0415
    from nexus_platform.ops.run import execute  # noqa: PLC0415
    from nexus_platform.runbooks import dr  # noqa: PLC0415

    down = adapters.aws_world(
        env.platform, kube=kube_access(env.platform, env.kube), outage=frozenset({REGIONS["primary"]})
    )
    down = dataclasses.replace(down, probe=env.world.probe)
    target = dr.Target(world=down, platform=env.platform)
    assert down.database.role("primary") == "down"
    with pytest.raises(Unreachable):
        down.compute.capacity("primary")

    ctx = Context(env="sandbox", params={"planned": False}, world=target, quiet=True)
    report = execute(dr.failover(), ctx, state_dir=tmp_path)

    assert report.outcome == "complete"
    steps = {step.name: step for step in report.steps}
    assert steps["readiness"].result is not None
    assert steps["readiness"].result["topology"]["compute"]["primary"] == dr.UNREACHABLE
    fence = steps["fence-primary"].result
    assert fence is not None and set(fence["unfenced"]) == {"database", "compute"}
    # Read back through boto3 (the region is up for the test, only the world was cut off from it).
    assert _check_config(env.platform.region("primary").health_check_id)["Inverted"] is True
    assert "ReadReplicaSourceDBInstanceIdentifier" not in env.instance("dr")
    assert env.world.cache.role("dr") == "primary"
    assert env.kube["dr"].replicas == 1  # the primary's size was unknown: DR keeps its own (at least 1)
    assert env.kube["primary"].replicas == 2  # never reached
    assert env.world.database.is_fenced("primary") is False  # its ingress could not be revoked: reported


def test_the_watch_sees_failures_through_the_aws_world(env: Env) -> None:
    """The emulator's knobs for what it cannot observe (the health checkers' status by a tag, ReplicaLag by
    PutMetricData) reach the watch's detector through the AWS adapters: the primary fails; a replica beyond
    the RPO budget refuses the failover."""
    from datetime import timedelta  # noqa: PLC0415

    from nexus_platform.runbooks import dr, watch  # noqa: PLC0415
    from nexus_platform.sandbox.emulator_patches.route53 import CHECKER_STATUS_TAG  # noqa: PLC0415

    boto3.client("route53", region_name="us-east-1").change_tags_for_resource(
        ResourceType="healthcheck",
        ResourceId=env.platform.region("primary").health_check_id,
        AddTags=[{"Key": CHECKER_STATUS_TAG, "Value": "failure"}],
    )
    target = dr.Target(world=env.world, platform=env.platform)

    def decide() -> watch.Decision:
        detector = watch.Detector(target, threshold=3, cooldown_seconds=3600, last_failover=lambda: None)
        return [detector.check() for _ in range(3)][-1]

    assert env.world.traffic.health("primary") == "unhealthy"
    assert decide().action == "fail-over"

    identifier = env.platform.region("dr").db_instance_identifier
    boto3.client("cloudwatch", region_name=REGIONS["dr"]).put_metric_data(
        Namespace="AWS/RDS",
        MetricData=[
            {
                "MetricName": "ReplicaLag",
                "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": identifier}],
                "Timestamp": datetime.now(UTC) - timedelta(seconds=1),
                "Value": env.platform.rpo_target_seconds + 300.0,
                "Unit": "Seconds",
            }
        ],
    )
    refused = decide()
    assert refused.action == "refuse"
    assert "beyond the RPO budget" in refused.detail


def test_the_scaling_view_reads_node_groups_the_autoscaler_and_the_replicas(env: Env) -> None:
    """`nexus scale show` on AWS: node groups (EKS), the Deployment and its HorizontalPodAutoscaler (the
    Kubernetes API, faked at the HTTP boundary), read replicas (RDS) and replicas per shard (ElastiCache)."""
    assert env.world.scaling is not None
    primary = env.world.scaling.show("primary")
    groups = eks_probes.node_groups(
        boto3.client("eks", region_name=REGIONS["primary"]), env.platform.region("primary").cluster_name
    )
    assert [(g.name, g.min, g.desired, g.max) for g in primary.node_groups] == [
        (g.name, g.min_size, g.desired_size, g.max_size) for g in groups
    ]
    assert (primary.api_ready, primary.api_desired) == (2, 2)
    assert (primary.api_min, primary.api_max) == (2, 10)
    assert primary.db_read_replicas == 1  # the cross-region replica
    assert primary.cache_replicas_per_shard is not None and primary.cache_replicas_per_shard >= 0
    dr = env.world.scaling.show("dr")
    assert dr.db_read_replicas == 0 and dr.api_desired == 1
    env.kube["dr"].bounds = None  # autoscaling off in the chart: no HPA
    dr = env.world.scaling.show("dr")
    assert (dr.api_min, dr.api_max) == (None, None) and dr.notes


def test_scale_set_changes_each_thing_through_its_api(env: Env) -> None:
    """`nexus scale set` on AWS: EKS UpdateNodegroupConfig, a merge PATCH of the HorizontalPodAutoscaler
    (Kubernetes API faked at the HTTP boundary), RDS read replicas made and removed (only ours: the DR replica
    stays), ElastiCache replicas per shard."""
    scaling = env.world.scaling
    assert scaling is not None
    group = scaling.show("primary").node_groups[0].name
    scaling.set_nodes("primary", group, 2, 3, 6)
    assert _nodegroup(env, "primary") == {"minSize": 2, "desiredSize": 3, "maxSize": 6}

    scaling.set_api_bounds("primary", 3, 12)
    assert env.kube["primary"].bounds == (3, 12)
    method, path, headers, body = env.kube["primary"].requests[-1]
    assert (method, path.split("?")[0], body) == (
        "PATCH",
        FakeKubernetes.HPA,
        {"spec": {"minReplicas": 3, "maxReplicas": 12}},
    )
    assert "merge-patch" in headers.get("Content-Type", "")
    assert (scaling.show("primary").api_min, scaling.show("primary").api_max) == (3, 12)

    source = env.platform.region("primary").db_instance_identifier
    scaling.set_db_read_replicas("primary", 3)
    assert scaling.show("primary").db_read_replicas == 3
    made = [env.instance("primary", f"{source}-read-{n}") for n in (2, 3)]
    assert all({"Key": "nexus:made-by", "Value": "nexus-scale"} in m["TagList"] for m in made)
    assert all(m["ReadReplicaSourceDBInstanceIdentifier"] == source for m in made)
    scaling.set_db_read_replicas("primary", 1)
    assert scaling.show("primary").db_read_replicas == 1
    assert env.instance("dr")["ReadReplicaSourceDBInstanceIdentifier"]  # the DR replica is untouched
    with pytest.raises(NexusError, match="made by `nexus scale`"):
        scaling.set_db_read_replicas("primary", 0)

    scaling.set_cache_replicas("primary", 3)
    assert scaling.show("primary").cache_replicas_per_shard == 3
    scaling.set_cache_replicas("primary", 1)
    assert scaling.show("primary").cache_replicas_per_shard == 1


def test_the_doctor_names_restarted_pods_with_their_last_log_lines(env: Env) -> None:
    """Restarts within the hour are reported with the previous container's log (Kubernetes API faked at the
    HTTP boundary); an older one is not."""
    from nexus_platform.doctor import application  # noqa: PLC0415
    from nexus_platform.runbooks.dr import Target  # noqa: PLC0415

    target = Target(world=env.world, platform=env.platform)
    env.kube["primary"].pod_state = {
        "nexus-api-0": (3, True, ("OOMKilled", 137, 120.0)),
        "nexus-api-1": (1, True, ("Error", 1, 7200.0)),  # two hours ago: outside the window
    }
    env.kube["primary"].logs[("nexus-api-0", "nexus-api")] = "starting\nconnecting [db]\nMemoryError\n"
    found = {f.scope: f for f in application.restarts(target)}
    primary, dr = found["primary (us-east-1) nexus-api"], found["dr (eu-west-1) nexus-api"]
    assert dr.ok and not primary.ok
    assert primary.detail.splitlines() == [
        "nexus-api-0/nexus-api: 3 restart(s), OOMKilled (exit 137), 2 min ago",
        "  | starting",
        "  | connecting [db]",
        "  | MemoryError",
    ]
    del env.kube["primary"].logs[("nexus-api-0", "nexus-api")]
    assert "(no previous log: 400" in application.restarts(target)[0].detail


def test_the_doctor_checks_the_mesh_by_istios_precedence(env: Env) -> None:
    from nexus_platform.doctor import application  # noqa: PLC0415
    from nexus_platform.runbooks.dr import Target  # noqa: PLC0415

    target = Target(world=env.world, platform=env.platform)
    fake = env.kube["dr"]
    fake.pod_state = {"nexus-api-0": (0, False, None)}
    [_, dr] = application.mesh(target)
    assert not dr.ok and "no istio-proxy sidecar in nexus-api-0" in dr.detail
    fake.pod_state = {}
    # The workload's own policy wins over the namespace's and the mesh's.
    fake.peer_authentications["istio-system"] = [{"spec": {"mtls": {"mode": "STRICT"}}}]
    fake.peer_authentications["nexus"] = [
        {"spec": {"mtls": {"mode": "STRICT"}}},
        {
            "spec": {
                "selector": {"matchLabels": {"app.kubernetes.io/name": "nexus"}},
                "mtls": {"mode": "PERMISSIVE"},
            }
        },
    ]
    [_, dr] = application.mesh(target)
    assert not dr.ok and "mTLS PERMISSIVE, not STRICT" in dr.detail
    fake.peer_authentications["nexus"] = []  # then the mesh-wide one applies
    assert application.mesh(target)[1].ok
    fake.peer_authentications["istio-system"] = []  # none at all: Istio's default
    [_, dr] = application.mesh(target)
    assert not dr.ok and "Istio's default is PERMISSIVE" in dr.detail


def test_the_doctor_reads_the_aws_world(env: Env) -> None:
    """`nexus doctor`'s application and performance sections over the AWS adapters (moto, the Kubernetes API
    and nexus-api faked at the HTTP boundary): healthy, then a replica not ready and the autoscaler at its
    maximum each fail their own check."""
    from nexus_platform.doctor import application, performance  # noqa: PLC0415
    from nexus_platform.runbooks.dr import Target  # noqa: PLC0415

    target = Target(world=env.world, platform=env.platform)
    assert all(f.ok for f in application.workload(target)), application.workload(target)
    assert all(f.ok for f in application.restarts(target)), application.restarts(target)
    assert [f.detail for f in application.mesh(target)] == ["sidecar in all 2 pods, mTLS STRICT",
                                                            "sidecar in all 1 pods, mTLS STRICT"]  # fmt: skip
    assert all(f.ok for f in performance.headroom(target))
    assert [f.ok for f in performance.api_latency(target)] == [True, True]

    env.kube["dr"].bounds = (1, 1)  # the DR autoscaler at its maximum
    failed = [f.scope for f in performance.headroom(target) if not f.ok]
    assert failed == ["dr (eu-west-1)"]
