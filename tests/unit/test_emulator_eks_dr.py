"""EKS patches for disaster recovery: UpdateNodegroupConfig refuses sizes outside [min, max], DescribeCluster
returns a real CA certificate (boto3 against moto with the patches applied)."""

from __future__ import annotations

import base64

import boto3
import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.x509.oid import NameOID


def test_scaling_config_is_validated(aws: None) -> None:
    ec2 = boto3.client("ec2", region_name="eu-west-1")
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.1.{i}.0/24", AvailabilityZone=f"eu-west-1{z}")["Subnet"][
            "SubnetId"
        ]
        for i, z in enumerate("ab")
    ]
    role = boto3.client("iam", region_name="eu-west-1").create_role(
        RoleName="eks", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    eks = boto3.client("eks", region_name="eu-west-1")
    eks.create_cluster(name="c", roleArn=role, resourcesVpcConfig={"subnetIds": subnets})
    eks.create_nodegroup(
        clusterName="c",
        nodegroupName="general",
        nodeRole=role,
        subnets=subnets,
        scalingConfig={"minSize": 1, "maxSize": 4, "desiredSize": 1},
    )
    eks.update_nodegroup_config(
        clusterName="c", nodegroupName="general", scalingConfig={"minSize": 1, "maxSize": 4, "desiredSize": 4}
    )
    for bad in ({"desiredSize": 5}, {"minSize": 5}, {"minSize": 3, "desiredSize": 2}):
        with pytest.raises(ClientError) as exc:
            eks.update_nodegroup_config(clusterName="c", nodegroupName="general", scalingConfig=bad)
        assert exc.value.response["Error"]["Code"] == "InvalidParameterException"
    scaling = eks.describe_nodegroup(clusterName="c", nodegroupName="general")["nodegroup"]["scalingConfig"]
    assert scaling == {"minSize": 1, "maxSize": 4, "desiredSize": 4}

    data = eks.describe_cluster(name="c")["cluster"]["certificateAuthority"]["data"]
    certificate = x509.load_pem_x509_certificate(base64.b64decode(data))
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "kubernetes"
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
