"""EC2 patches of the sandbox emulator (boto3 against moto with the patches applied)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest


@pytest.fixture
def ec2(aws: None) -> Any:
    return boto3.client("ec2", region_name="us-east-1")


def test_rule_descriptions_for_every_peer(ec2: Any) -> None:
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    nodes = ec2.create_security_group(GroupName="nodes", Description="nodes", VpcId=vpc)["GroupId"]
    db = ec2.create_security_group(GroupName="db", Description="db", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=db,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 5432,
                "ToPort": 5432,
                "UserIdGroupPairs": [{"GroupId": nodes, "Description": "PostgreSQL from the nodes"}],
            },
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "IpRanges": [{"CidrIp": "10.0.0.0/16", "Description": "HTTPS from the VPC"}],
            },
        ],
    )
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [db]}])[
        "SecurityGroupRules"
    ]
    ingress = {r["FromPort"]: r for r in rules if not r["IsEgress"]}
    assert ingress[5432]["Description"] == "PostgreSQL from the nodes"
    assert ingress[5432]["ReferencedGroupInfo"]["GroupId"] == nodes
    assert ingress[443]["Description"] == "HTTPS from the VPC"


def test_launch_template_tags_stay_on_the_template(ec2: Any) -> None:
    created = ec2.create_launch_template(
        LaunchTemplateName="nodes",
        LaunchTemplateData={
            "InstanceType": "t3.medium",
            "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "node"}]}],
        },
        TagSpecifications=[{"ResourceType": "launch-template", "Tags": [{"Key": "team", "Value": "core"}]}],
    )["LaunchTemplate"]
    assert created["Tags"] == [{"Key": "team", "Value": "core"}]
    data = ec2.describe_launch_template_versions(LaunchTemplateId=created["LaunchTemplateId"])[
        "LaunchTemplateVersions"
    ][0]["LaunchTemplateData"]
    assert data["TagSpecifications"] == [
        {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "node"}]}
    ]
