"""`nexus doctor`'s infrastructure checks on a small two-AZ region built in moto: healthy, then broken one way
at a time (each break must be named, and nothing else may fail). The sandbox integration test runs them on the
real apply."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from nexus_platform.doctor import infrastructure

REGION = "us-east-1"
ZONES = ("us-east-1a", "us-east-1b")


def client(service: str, region: str) -> Any:
    return boto3.client(service, region_name=region)


def build_region() -> dict[str, Any]:
    """A VPC shaped like terraform/modules/region: per AZ a public and a private subnet and a NAT, an ALB
    whose security group is open on 443, nodes admitting the ALB only."""
    ec2 = client("ec2", REGION)
    vpc = ec2.create_vpc(CidrBlock="10.10.0.0/16")["Vpc"]["VpcId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    public_rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    subnets: dict[str, dict[str, str]] = {}
    nats: dict[str, str] = {}
    for index, zone in enumerate(ZONES):
        made = {}
        for tier, offset in (("public", 0), ("private", 10)):
            subnet = ec2.create_subnet(
                VpcId=vpc,
                CidrBlock=f"10.10.{offset + index}.0/24",
                AvailabilityZone=zone,
                TagSpecifications=[{"ResourceType": "subnet", "Tags": [{"Key": "Tier", "Value": tier}]}],
            )["Subnet"]["SubnetId"]
            made[tier] = subnet
        ec2.associate_route_table(RouteTableId=public_rt, SubnetId=made["public"])
        eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
        nats[zone] = ec2.create_nat_gateway(SubnetId=made["public"], AllocationId=eip)["NatGateway"][
            "NatGatewayId"
        ]
        private_rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        ec2.create_route(RouteTableId=private_rt, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nats[zone])
        ec2.associate_route_table(RouteTableId=private_rt, SubnetId=made["private"])
        subnets[zone] = made
    alb_sg = ec2.create_security_group(GroupName="alb", Description="alb", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=alb_sg,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
        ],
    )
    nodes_sg = ec2.create_security_group(GroupName="nodes", Description="nodes", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=nodes_sg,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "UserIdGroupPairs": [{"GroupId": alb_sg}]}
        ],
    )
    alb = client("elbv2", REGION).create_load_balancer(
        Name="alb", Subnets=[subnets[z]["public"] for z in ZONES], SecurityGroups=[alb_sg]
    )["LoadBalancers"][0]["LoadBalancerArn"]
    outputs = {"regions": {"primary": {"region": REGION, "vpc_id": vpc, "alb_arn": alb}}}
    return {"outputs": outputs, "subnets": subnets, "nats": nats, "nodes_sg": nodes_sg, "igw": igw}


@pytest.fixture
def region(aws: None) -> dict[str, Any]:
    return build_region()


def failures(outputs: dict[str, Any]) -> list[infrastructure.Finding]:
    return [f for f in infrastructure.run(outputs, client) if not f.ok]


def test_a_healthy_region_passes_every_check(region: dict[str, Any]) -> None:
    findings = infrastructure.run(region["outputs"], client)
    assert findings and all(f.ok for f in findings), [f for f in findings if not f.ok]
    by_check = {name: [f for f in findings if f.check == name] for name in infrastructure.CHECKS}
    assert len(by_check["aws-api"]) == 1
    assert len(by_check["vpc-routes"]) == 4, "two public and two private subnets"
    (exposed,) = by_check["security-groups"]
    assert exposed.scope == f"primary ({REGION}) security group {region_alb_group(region)} (alb)"


def region_alb_group(region: dict[str, Any]) -> str:
    arn = region["outputs"]["regions"]["primary"]["alb_arn"]
    lb = client("elbv2", REGION).describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]
    group: str = lb["SecurityGroups"][0]
    return group


def private_route_table(subnet_id: str) -> str:
    ec2 = client("ec2", REGION)
    tables = ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}])
    table: str = tables["RouteTables"][0]["RouteTableId"]
    return table


def test_private_subnet_egress_through_the_other_zones_nat_is_named(region: dict[str, Any]) -> None:
    subnet = region["subnets"]["us-east-1a"]["private"]
    client("ec2", REGION).replace_route(
        RouteTableId=private_route_table(subnet),
        DestinationCidrBlock="0.0.0.0/0",
        NatGatewayId=region["nats"]["us-east-1b"],
    )
    (failed,) = failures(region["outputs"])
    assert failed.check == "vpc-routes" and subnet in failed.scope
    assert failed.detail == f"NAT {region['nats']['us-east-1b']} is in us-east-1b, not us-east-1a"


def test_private_subnet_straight_to_the_internet_gateway_is_named(region: dict[str, Any]) -> None:
    subnet = region["subnets"]["us-east-1b"]["private"]
    client("ec2", REGION).replace_route(
        RouteTableId=private_route_table(subnet), DestinationCidrBlock="0.0.0.0/0", GatewayId=region["igw"]
    )
    (failed,) = failures(region["outputs"])
    assert failed.check == "vpc-routes" and subnet in failed.scope
    assert "expected a NAT gateway of this VPC" in failed.detail


def test_a_private_subnet_without_egress_is_named(region: dict[str, Any]) -> None:
    subnet = region["subnets"]["us-east-1a"]["private"]
    client("ec2", REGION).delete_route(
        RouteTableId=private_route_table(subnet), DestinationCidrBlock="0.0.0.0/0"
    )
    (failed,) = failures(region["outputs"])
    assert (failed.check, failed.detail) == ("vpc-routes", "no default route (0.0.0.0/0)")


@pytest.mark.parametrize(
    ("cidr", "port"),
    [({"IpRanges": [{"CidrIp": "0.0.0.0/0"}]}, 22), ({"Ipv6Ranges": [{"CidrIpv6": "::/0"}]}, 8080)],
)
def test_a_node_group_open_to_the_internet_is_named(
    region: dict[str, Any], cidr: dict[str, Any], port: int
) -> None:
    client("ec2", REGION).authorize_security_group_ingress(
        GroupId=region["nodes_sg"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": port, "ToPort": port, **cidr}],
    )
    (failed,) = failures(region["outputs"])
    assert failed.check == "security-groups" and region["nodes_sg"] in failed.scope
    assert failed.detail == f"open to the internet on {port}-{port}: only the ALB may be, and only on 443"


def test_the_alb_open_beyond_https_is_named(region: dict[str, Any]) -> None:
    alb_sg = region_alb_group(region)
    client("ec2", REGION).authorize_security_group_ingress(
        GroupId=alb_sg,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
        ],
    )
    (failed,) = failures(region["outputs"])
    assert failed.check == "security-groups" and alb_sg in failed.scope


def test_a_check_that_cannot_run_is_a_finding_not_a_crash(region: dict[str, Any]) -> None:
    broken = {
        "regions": {
            "primary": {"region": REGION, "vpc_id": region["outputs"]["regions"]["primary"]["vpc_id"]}
        }
    }
    findings = infrastructure.run(broken, client)
    (failed,) = [f for f in findings if not f.ok]
    assert failed.check == "security-groups" and failed.detail.startswith("check could not run: KeyError")


# --- application and performance: the rules, over a world that says what the test wants --------------------


def _target(
    *, ready: dict[str, int], desired: dict[str, int], streaming: bool = True, lag: float = 0.5
) -> Any:
    from nexus_platform.runbooks.dr import Target  # noqa: PLC0415
    from nexus_platform.world.base import Lag, ProbeResult, Scale  # noqa: PLC0415

    class Database:
        def role(self, role: str) -> str:
            return "primary" if role == "primary" else "replica"

        def lag(self, role: str) -> Lag:
            return Lag(0, lag, streaming)

    class Scaling:
        def show(self, role: str) -> Scale:
            return Scale(role, role, (), ready[role], desired[role], 2, 4, 1, 0)

    class Probe:
        def read(self, record_id: str, role: str | None = None) -> ProbeResult:
            return ProbeResult(False, role, 404, 1.0)

    class Region:
        def __init__(self, role: str) -> None:
            self.region = role

    class Platform:
        replica_lag_alarm_seconds = 60

        def region(self, role: str) -> Region:
            return Region(role)

    world = type("World", (), {"database": Database(), "scaling": Scaling(), "probe": Probe()})()
    return Target(world=world, platform=Platform())  # type: ignore[arg-type]


def test_workload_fails_where_a_wanted_replica_is_not_ready() -> None:
    from nexus_platform.doctor import application  # noqa: PLC0415

    found = application.workload(_target(ready={"primary": 1, "dr": 1}, desired={"primary": 2, "dr": 1}))
    assert [(f.scope, f.ok) for f in found] == [
        ("primary (primary) nexus-api", False),
        ("dr (dr) nexus-api", True),
    ]
    assert "1 of 2 replicas ready" in found[0].detail
    # The writer's region running nothing is a failure even with nothing "not ready".
    found = application.workload(_target(ready={"primary": 0, "dr": 1}, desired={"primary": 0, "dr": 1}))
    assert [f.ok for f in found] == [False, True]


def test_replication_fails_when_not_streaming_or_past_the_alarm() -> None:
    from nexus_platform.doctor import performance  # noqa: PLC0415

    steady = {"primary": 2, "dr": 2}
    assert performance.replication(_target(ready=steady, desired=steady))[0].ok
    stopped = performance.replication(_target(ready=steady, desired=steady, streaming=False))[0]
    assert not stopped.ok and "not streaming" in stopped.detail
    behind = performance.replication(_target(ready=steady, desired=steady, lag=90.0))[0]
    assert not behind.ok and "alarm at 60 s" in behind.detail
    at_max = performance.headroom(_target(ready={"primary": 4, "dr": 2}, desired={"primary": 4, "dr": 2}))
    assert [f.ok for f in at_max] == [False, True]
