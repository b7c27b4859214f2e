"""Infrastructure checks (troubleshooting guide, section 1): AWS reachable, VPC egress, internet exposure.

Each check reads the applied platform through the AWS APIs, starting from Terraform's `regions` output, and
returns one finding per thing it looked at. Nothing here changes anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

ClientFactory = Callable[[str, str], Any]  # (service, region) -> boto3 client

INTERNET = {"0.0.0.0/0", "::/0"}
HTTPS = 443


@dataclass(frozen=True)
class Finding:
    check: str
    scope: str  # "<role> (<region>)" plus the resource looked at
    ok: bool
    detail: str


def _regions(outputs: Mapping[str, Any]) -> Iterable[tuple[str, Mapping[str, Any]]]:
    regions: Mapping[str, Mapping[str, Any]] = outputs["regions"]
    return sorted(regions.items())


def _scope(role: str, facts: Mapping[str, Any], what: str = "") -> str:
    base = f"{role} ({facts['region']})"
    return f"{base} {what}".rstrip()


def aws_api(outputs: Mapping[str, Any], client: ClientFactory) -> list[Finding]:
    """Each region's EC2 API answers and has available zones."""
    findings = []
    for role, facts in _regions(outputs):
        try:
            zones = client("ec2", facts["region"]).describe_availability_zones()["AvailabilityZones"]
        except (BotoCoreError, ClientError) as exc:
            findings.append(Finding("aws-api", _scope(role, facts), False, f"EC2 API error: {exc}"))
            continue
        available = [z["ZoneName"] for z in zones if z.get("State") == "available"]
        findings.append(
            Finding(
                "aws-api",
                _scope(role, facts),
                bool(available),
                f"{len(available)} availability zone(s) available" if available else "no zone available",
            )
        )
    return findings


def _tier(subnet: Mapping[str, Any]) -> str | None:
    return next((t["Value"] for t in subnet.get("Tags", []) if t["Key"] == "Tier"), None)


def _default_route(ec2: Any, vpc_id: str, subnet_id: str) -> Mapping[str, Any] | None:
    """The IPv4 default route of the subnet's route table (its explicit one, else the VPC's main table)."""
    tables = ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}])
    found = tables["RouteTables"]
    if not found:
        found = ec2.describe_route_tables(
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "association.main", "Values": ["true"]}]
        )["RouteTables"]
    for table in found:
        for route in table.get("Routes", []):
            if route.get("DestinationCidrBlock") == "0.0.0.0/0":
                return dict(route)
    return None


def vpc_routes(outputs: Mapping[str, Any], client: ClientFactory) -> list[Finding]:
    """Public subnets leave through the internet gateway; private ones through an available NAT in their own
    AZ (so one zone's outage does not take the other's egress with it)."""
    findings = []
    for role, facts in _regions(outputs):
        ec2 = client("ec2", facts["region"])
        vpc_id = facts["vpc_id"]
        in_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
        subnets = ec2.describe_subnets(Filters=in_vpc)["Subnets"]
        nats = {nat["NatGatewayId"]: nat for nat in ec2.describe_nat_gateways(Filters=in_vpc)["NatGateways"]}
        zone_of = {s["SubnetId"]: s["AvailabilityZone"] for s in subnets}
        for subnet in sorted(subnets, key=lambda s: (str(_tier(s)), s["AvailabilityZone"])):
            tier, zone, subnet_id = _tier(subnet), subnet["AvailabilityZone"], subnet["SubnetId"]
            if tier not in {"public", "private"}:
                continue
            scope = _scope(role, facts, f"{tier} subnet {subnet_id} ({zone})")
            route = _default_route(ec2, vpc_id, subnet_id)
            if route is None:
                findings.append(Finding("vpc-routes", scope, False, "no default route (0.0.0.0/0)"))
            elif tier == "public":
                gateway = str(route.get("GatewayId", ""))
                ok = gateway.startswith("igw-")
                expected = "" if ok else ": expected an internet gateway"
                detail = f"default route to {gateway or route}{expected}"
                findings.append(Finding("vpc-routes", scope, ok, detail))
            else:
                nat_id = route.get("NatGatewayId")
                nat = nats.get(str(nat_id)) if nat_id else None
                if nat is None:
                    detail = f"default route to {nat_id or route}: expected a NAT gateway of this VPC"
                    findings.append(Finding("vpc-routes", scope, False, detail))
                    continue
                nat_zone = zone_of.get(nat["SubnetId"], "?")
                problems = []
                if nat.get("State") != "available":
                    problems.append(f"NAT {nat_id} is {nat.get('State')}")
                if nat_zone != zone:
                    problems.append(f"NAT {nat_id} is in {nat_zone}, not {zone}")
                detail = "; ".join(problems) or f"default route to {nat_id} (available, same zone)"
                findings.append(Finding("vpc-routes", scope, not problems, detail))
    return findings


def _internet_ports(permission: Mapping[str, Any]) -> tuple[int | None, int | None] | None:
    cidrs = {r.get("CidrIp") for r in permission.get("IpRanges", [])}
    cidrs |= {r.get("CidrIpv6") for r in permission.get("Ipv6Ranges", [])}
    if not cidrs & INTERNET:
        return None
    return permission.get("FromPort"), permission.get("ToPort")


def security_groups(outputs: Mapping[str, Any], client: ClientFactory) -> list[Finding]:
    """Only the ALB is open to the internet, and only on HTTPS; every other group admits only other groups or
    private ranges."""
    findings = []
    for role, facts in _regions(outputs):
        ec2 = client("ec2", facts["region"])
        elbv2 = client("elbv2", facts["region"])
        balancers = elbv2.describe_load_balancers(LoadBalancerArns=[facts["alb_arn"]])
        alb_groups = {g for lb in balancers["LoadBalancers"] for g in lb.get("SecurityGroups", [])}
        groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [facts["vpc_id"]]}])
        for group in sorted(groups["SecurityGroups"], key=lambda g: g["GroupName"]):
            open_ports = [p for p in map(_internet_ports, group.get("IpPermissions", [])) if p is not None]
            if not open_ports:
                continue
            scope = _scope(role, facts, f"security group {group['GroupId']} ({group['GroupName']})")
            allowed = group["GroupId"] in alb_groups and all(p == (HTTPS, HTTPS) for p in open_ports)
            shown = ", ".join("all" if p[0] in (None, -1) else f"{p[0]}-{p[1]}" for p in open_ports)
            detail = f"open to the internet on {shown}" + (
                "" if allowed else ": only the ALB may be, and only on 443"
            )
            findings.append(Finding("security-groups", scope, allowed, detail))
        if not alb_groups:
            no_group = Finding("security-groups", _scope(role, facts), False, "the ALB has no security group")
            findings.append(no_group)
    return findings


CHECKS: dict[str, Callable[[Mapping[str, Any], ClientFactory], list[Finding]]] = {
    "aws-api": aws_api,
    "vpc-routes": vpc_routes,
    "security-groups": security_groups,
}


def run(outputs: Mapping[str, Any], client: ClientFactory) -> list[Finding]:
    """Every infrastructure check; a check that cannot run is itself a failed finding, never an exception."""
    findings: list[Finding] = []
    for name, check in CHECKS.items():
        try:
            findings.extend(check(outputs, client))
        except (BotoCoreError, ClientError, KeyError) as exc:
            findings.append(Finding(name, "-", False, f"check could not run: {type(exc).__name__}: {exc}"))
    return findings
