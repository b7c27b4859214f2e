"""What exists: Terraform's outputs read back through the AWS APIs (the emulator's, in the sandbox)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

# (service, region) -> a boto3 client pointed at the environment being inspected.
ClientFactory = Callable[[str, str], Any]


@dataclass(frozen=True)
class Row:
    scope: str  # the region role, or "global"
    kind: str
    name: str
    detail: str


def _safe(scope: str, kind: str, name: str, probe: Callable[[], str]) -> Row:
    try:
        return Row(scope, kind, name, probe())
    except (ClientError, BotoCoreError, KeyError, IndexError) as exc:
        return Row(scope, kind, name, f"MISSING ({type(exc).__name__})")


def regional_rows(role: str, info: dict[str, Any], client: ClientFactory) -> list[Row]:
    region = info["region"]
    ec2 = client("ec2", region)
    eks = client("eks", region)
    rds = client("rds", region)
    cache = client("elasticache", region)
    elbv2 = client("elbv2", region)
    scope = f"{role} ({region})"

    def vpc() -> str:
        found = ec2.describe_vpcs(VpcIds=[info["vpc_id"]])["Vpcs"][0]
        subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [info["vpc_id"]]}])["Subnets"]
        zones = sorted({subnet["AvailabilityZone"] for subnet in subnets})
        return f"{found['CidrBlock']}, {len(subnets)} subnets in {', '.join(zones)}"

    def nats() -> str:
        ids = list(info["nat_gateway_ids"].values())
        found = ec2.describe_nat_gateways(NatGatewayIds=ids)["NatGateways"]
        return ", ".join(f"{nat['SubnetId']}: {nat['State']}" for nat in found)

    def cluster() -> str:
        found = eks.describe_cluster(name=info["cluster_name"])["cluster"]
        groups = eks.list_nodegroups(clusterName=info["cluster_name"])["nodegroups"]
        scaling = []
        for group in groups:
            config = eks.describe_nodegroup(clusterName=info["cluster_name"], nodegroupName=group)[
                "nodegroup"
            ]
            size = config["scalingConfig"]
            scaling.append(f"{group} {size['minSize']}/{size['desiredSize']}/{size['maxSize']}")
        return f"{found['status']} v{found['version']}; node groups (min/desired/max): {'; '.join(scaling)}"

    def database() -> str:
        found = rds.describe_db_instances(DBInstanceIdentifier=info["db_instance_identifier"])["DBInstances"][
            0
        ]
        source = found.get("ReadReplicaSourceDBInstanceIdentifier")
        kind = f"replica of {source}" if source else f"primary, Multi-AZ={found['MultiAZ']}"
        return f"{found['DBInstanceStatus']} {found['Engine']} {found['EngineVersion']}, {kind}"

    def redis() -> str:
        found = cache.describe_replication_groups(ReplicationGroupId=info["cache_replication_group_id"])
        group = found["ReplicationGroups"][0]
        member = group.get("GlobalReplicationGroupInfo", {})
        role_text = f", global {member['GlobalReplicationGroupMemberRole']}" if member else ""
        return f"{group['Status']}, {len(group.get('MemberClusters', []))} nodes{role_text}"

    def alb() -> str:
        found = elbv2.describe_load_balancers(LoadBalancerArns=[info["alb_arn"]])["LoadBalancers"][0]
        return f"{found['State']['Code']} {found['DNSName']}"

    return [
        _safe(scope, "VPC", info.get("vpc_id", "?"), vpc),
        _safe(scope, "NAT gateways", str(len(info.get("nat_gateway_ids", {}))), nats),
        _safe(scope, "EKS cluster", info.get("cluster_name", "?"), cluster),
        _safe(scope, "RDS PostgreSQL", info.get("db_instance_identifier", "?"), database),
        _safe(scope, "ElastiCache Redis", info.get("cache_replication_group_id", "?"), redis),
        _safe(scope, "ALB", info.get("alb_arn", "?").rsplit("/", 2)[-2] if "alb_arn" in info else "?", alb),
    ]


def global_rows(outputs: dict[str, Any], region: str, client: ClientFactory) -> list[Row]:
    route53 = client("route53", region)
    cloudfront = client("cloudfront", region)

    def records() -> str:
        sets = route53.list_resource_record_sets(HostedZoneId=outputs["zone_id"])["ResourceRecordSets"]
        failover = [f"{item['Name']} {item['Failover']}" for item in sets if item.get("Failover")]
        return f"{len(sets)} records; failover: {', '.join(failover) or 'none'}"

    def distribution() -> str:
        found = cloudfront.get_distribution(Id=outputs["cloudfront_distribution_id"])["Distribution"]
        groups = found["DistributionConfig"].get("OriginGroups", {}).get("Quantity", 0)
        return f"{found['Status']} {found['DomainName']}, {groups} origin group(s)"

    return [
        _safe("global", "Route 53 zone", str(outputs.get("zone_name", "?")), records),
        _safe("global", "CloudFront", str(outputs.get("cloudfront_distribution_id", "?")), distribution),
    ]


def collect(outputs: dict[str, Any], primary_region: str, client: ClientFactory) -> list[Row]:
    rows: list[Row] = []
    for role, info in sorted(outputs.get("regions", {}).items(), key=lambda item: item[0] != "primary"):
        rows += regional_rows(role, info, client)
    rows += global_rows(outputs, primary_region, client)
    return rows
