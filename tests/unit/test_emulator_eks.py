"""EKS patches of the sandbox emulator, driven through boto3 against moto with the patches applied."""

from __future__ import annotations

import re
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

REGION = "eu-west-1"
ROLE = "arn:aws:iam::123456789012:role/eks"


@pytest.fixture
def eks(aws: None) -> tuple[Any, Any]:
    return boto3.client("eks", region_name=REGION), boto3.client("ec2", region_name=REGION)


def _cluster(eks: Any, ec2: Any, **extra: Any) -> tuple[dict[str, Any], str, list[str]]:
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.1.{i}.0/24", AvailabilityZone=f"{REGION}{z}")["Subnet"][
            "SubnetId"
        ]
        for i, z in enumerate("ab")
    ]
    cluster = eks.create_cluster(
        name="c1", roleArn=ROLE, version="1.31", resourcesVpcConfig={"subnetIds": subnets}, **extra
    )["cluster"]
    return cluster, vpc, subnets


def test_addon_lifecycle(eks: tuple[Any, Any]) -> None:
    client, ec2 = eks
    _cluster(client, ec2)
    created = client.create_addon(clusterName="c1", addonName="vpc-cni", tags={"team": "core"})["addon"]
    assert created["addonName"] == "vpc-cni"
    assert created["addonArn"].startswith(f"arn:aws:eks:{REGION}:123456789012:addon/c1/vpc-cni/")
    assert created["addonVersion"]

    described = client.describe_addon(clusterName="c1", addonName="vpc-cni")["addon"]
    assert described["status"] == "ACTIVE"
    assert described["tags"] == {"team": "core"}
    assert client.list_addons(clusterName="c1")["addons"] == ["vpc-cni"]
    assert client.list_tags_for_resource(resourceArn=created["addonArn"])["tags"] == {"team": "core"}

    with pytest.raises(ClientError) as exc:
        client.create_addon(clusterName="c1", addonName="vpc-cni")
    assert exc.value.response["Error"]["Code"] == "ResourceInUseException"

    update = client.update_addon(clusterName="c1", addonName="vpc-cni", addonVersion="v1.20.0-eksbuild.1")[
        "update"
    ]
    assert update["type"] == "AddonUpdate"
    described_update = client.describe_update(name="c1", updateId=update["id"], addonName="vpc-cni")["update"]
    assert described_update["status"] == "Successful"
    assert client.describe_addon(clusterName="c1", addonName="vpc-cni")["addon"]["addonVersion"] == (
        "v1.20.0-eksbuild.1"
    )

    deleted = client.delete_addon(clusterName="c1", addonName="vpc-cni")["addon"]
    assert deleted["status"] == "DELETING"
    with pytest.raises(ClientError) as exc:
        client.describe_addon(clusterName="c1", addonName="vpc-cni")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert client.list_addons(clusterName="c1")["addons"] == []


def test_describe_addon_versions(eks: tuple[Any, Any]) -> None:
    client, _ = eks
    addons = client.describe_addon_versions(addonName="coredns", kubernetesVersion="1.31")["addons"]
    assert [a["addonName"] for a in addons] == ["coredns"]
    compat = addons[0]["addonVersions"][0]["compatibilities"]
    assert compat[0]["clusterVersion"] == "1.31"
    assert compat[0]["defaultVersion"] is True


def test_cluster_access_config_and_vpc_defaults(eks: tuple[Any, Any]) -> None:
    client, ec2 = eks
    _, vpc, _ = _cluster(
        client,
        ec2,
        accessConfig={
            "authenticationMode": "API_AND_CONFIG_MAP",
            "bootstrapClusterCreatorAdminPermissions": False,
        },
    )
    cluster = client.describe_cluster(name="c1")["cluster"]
    assert cluster["accessConfig"] == {
        "authenticationMode": "API_AND_CONFIG_MAP",
        "bootstrapClusterCreatorAdminPermissions": False,
    }
    vpc_config = cluster["resourcesVpcConfig"]
    assert vpc_config["vpcId"] == vpc
    assert vpc_config["endpointPublicAccess"] is True
    assert vpc_config["endpointPrivateAccess"] is False
    assert vpc_config["publicAccessCidrs"] == ["0.0.0.0/0"]
    group = ec2.describe_security_groups(GroupIds=[vpc_config["clusterSecurityGroupId"]])["SecurityGroups"][0]
    assert group["VpcId"] == vpc
    assert cluster["kubernetesNetworkConfig"]["ipFamily"] == "ipv4"

    update = client.update_cluster_config(name="c1", accessConfig={"authenticationMode": "API"})["update"]
    assert update["status"] == "Successful"
    assert client.describe_update(name="c1", updateId=update["id"])["update"]["type"] == "ConfigUpdate"
    access = client.describe_cluster(name="c1")["cluster"]["accessConfig"]
    assert access == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False}


def test_cluster_access_config_defaults(eks: tuple[Any, Any]) -> None:
    client, ec2 = eks
    _cluster(client, ec2)
    access = client.describe_cluster(name="c1")["cluster"]["accessConfig"]
    assert access == {"authenticationMode": "CONFIG_MAP", "bootstrapClusterCreatorAdminPermissions": True}


def test_nodegroup_update_config(eks: tuple[Any, Any]) -> None:
    client, ec2 = eks
    _, _, subnets = _cluster(client, ec2)
    client.create_nodegroup(
        clusterName="c1",
        nodegroupName="ng",
        nodeRole=ROLE,
        subnets=subnets,
        scalingConfig={"minSize": 1, "maxSize": 3, "desiredSize": 2},
        updateConfig={"maxUnavailable": 2},
        tags={"a": "b"},
    )
    nodegroup = client.describe_nodegroup(clusterName="c1", nodegroupName="ng")["nodegroup"]
    assert nodegroup["updateConfig"] == {"maxUnavailable": 2}

    update = client.update_nodegroup_config(
        clusterName="c1", nodegroupName="ng", updateConfig={"maxUnavailablePercentage": 25}
    )["update"]
    assert client.describe_update(name="c1", updateId=update["id"], nodegroupName="ng")["update"][
        "status"
    ] == ("Successful")
    nodegroup = client.describe_nodegroup(clusterName="c1", nodegroupName="ng")["nodegroup"]
    assert nodegroup["updateConfig"] == {"maxUnavailablePercentage": 25}

    client.tag_resource(resourceArn=nodegroup["nodegroupArn"], tags={"c": "d"})
    assert client.list_tags_for_resource(resourceArn=nodegroup["nodegroupArn"])["tags"] == {
        "a": "b",
        "c": "d",
    }


def test_nodegroup_update_config_default(eks: tuple[Any, Any]) -> None:
    client, ec2 = eks
    _, _, subnets = _cluster(client, ec2)
    client.create_nodegroup(clusterName="c1", nodegroupName="ng", nodeRole=ROLE, subnets=subnets)
    nodegroup = client.describe_nodegroup(clusterName="c1", nodegroupName="ng")["nodegroup"]
    assert nodegroup["updateConfig"] == {"maxUnavailable": 1}
    # No invented remote access; the cluster's Kubernetes version.
    assert "remoteAccess" not in nodegroup
    assert "remoteAccessSecurityGroup" not in nodegroup["resources"]
    assert nodegroup["version"] == "1.31"
    assert nodegroup["releaseVersion"].startswith("1.31.")


def test_update_cluster_version(eks: tuple[Any, Any]) -> None:
    client, ec2 = eks
    _cluster(client, ec2)
    update = client.update_cluster_version(name="c1", version="1.32")["update"]
    assert update["type"] == "VersionUpdate"
    assert client.describe_cluster(name="c1")["cluster"]["version"] == "1.32"
    assert client.list_updates(name="c1")["updateIds"] == [update["id"]]


def _pod_role(name: str = "addon") -> str:
    iam = boto3.client("iam", region_name=REGION)
    trust = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},'
        '"Action":["sts:AssumeRole","sts:TagSession"]}]}'
    )
    arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    return arn


def test_pod_identity_association_lifecycle(eks: tuple[Any, Any]) -> None:
    client, ec2 = eks
    _cluster(client, ec2)
    role = _pod_role()
    created = client.create_pod_identity_association(
        clusterName="c1",
        namespace="kube-system",
        serviceAccount="cluster-autoscaler",
        roleArn=role,
        tags={"team": "core"},
    )["association"]
    association_id = created["associationId"]
    assert re.fullmatch(r"a-[a-z0-9]{17}", association_id)
    assert created["associationArn"] == (
        f"arn:aws:eks:{REGION}:123456789012:podidentityassociation/c1/{association_id}"
    )
    assert created["disableSessionTags"] is False
    assert "externalId" not in created

    described = client.describe_pod_identity_association(clusterName="c1", associationId=association_id)[
        "association"
    ]
    assert described["clusterName"] == "c1"
    assert (described["namespace"], described["serviceAccount"]) == ("kube-system", "cluster-autoscaler")
    assert described["roleArn"] == role
    assert described["tags"] == {"team": "core"}
    assert client.list_tags_for_resource(resourceArn=created["associationArn"])["tags"] == {"team": "core"}
    client.tag_resource(resourceArn=created["associationArn"], tags={"cost": "platform"})
    client.untag_resource(resourceArn=created["associationArn"], tagKeys=["team"])
    assert client.describe_pod_identity_association(clusterName="c1", associationId=association_id)[
        "association"
    ]["tags"] == {"cost": "platform"}

    other = _pod_role("other")
    updated = client.update_pod_identity_association(
        clusterName="c1", associationId=association_id, roleArn=other
    )["association"]
    assert updated["roleArn"] == other
    assert (updated["namespace"], updated["serviceAccount"]) == ("kube-system", "cluster-autoscaler")

    deleted = client.delete_pod_identity_association(clusterName="c1", associationId=association_id)[
        "association"
    ]
    assert deleted["associationId"] == association_id
    with pytest.raises(ClientError) as exc:
        client.describe_pod_identity_association(clusterName="c1", associationId=association_id)
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert client.list_pod_identity_associations(clusterName="c1")["associations"] == []


def test_pod_identity_association_one_per_service_account(eks: tuple[Any, Any]) -> None:
    client, ec2 = eks
    _cluster(client, ec2)
    role = _pod_role()
    args = {"clusterName": "c1", "namespace": "external-secrets", "serviceAccount": "external-secrets"}
    client.create_pod_identity_association(roleArn=role, **args)
    with pytest.raises(ClientError) as exc:
        client.create_pod_identity_association(roleArn=role, **args)
    assert exc.value.response["Error"]["Code"] == "ResourceInUseException"


def test_pod_identity_association_needs_an_existing_role_and_cluster(eks: tuple[Any, Any]) -> None:
    client, ec2 = eks
    _cluster(client, ec2)
    missing = "arn:aws:iam::123456789012:role/missing"
    with pytest.raises(ClientError) as exc:
        client.create_pod_identity_association(
            clusterName="c1", namespace="kube-system", serviceAccount="sa", roleArn=missing
        )
    assert exc.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "Role provided in the request does not exist" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        client.create_pod_identity_association(
            clusterName="nope", namespace="kube-system", serviceAccount="sa", roleArn=_pod_role()
        )
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_list_pod_identity_associations_filters_and_pages(eks: tuple[Any, Any]) -> None:
    client, ec2 = eks
    _cluster(client, ec2)
    role = _pod_role()
    accounts = [
        ("kube-system", "aws-load-balancer-controller"),
        ("kube-system", "cluster-autoscaler"),
        ("external-secrets", "external-secrets"),
    ]
    for namespace, service_account in accounts:
        client.create_pod_identity_association(
            clusterName="c1", namespace=namespace, serviceAccount=service_account, roleArn=role
        )

    everything = client.list_pod_identity_associations(clusterName="c1")["associations"]
    assert [(a["namespace"], a["serviceAccount"]) for a in everything] == accounts
    assert set(everything[0]) == {
        "clusterName",
        "namespace",
        "serviceAccount",
        "associationArn",
        "associationId",
    }

    kube_system = client.list_pod_identity_associations(clusterName="c1", namespace="kube-system")
    assert [a["serviceAccount"] for a in kube_system["associations"]] == [
        "aws-load-balancer-controller",
        "cluster-autoscaler",
    ]
    one = client.list_pod_identity_associations(
        clusterName="c1", namespace="kube-system", serviceAccount="cluster-autoscaler"
    )["associations"]
    assert [a["serviceAccount"] for a in one] == ["cluster-autoscaler"]

    first = client.list_pod_identity_associations(clusterName="c1", maxResults=2)
    assert len(first["associations"]) == 2
    rest = client.list_pod_identity_associations(clusterName="c1", maxResults=2, nextToken=first["nextToken"])
    assert [a["serviceAccount"] for a in rest["associations"]] == ["external-secrets"]
    assert "nextToken" not in rest


ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


def test_access_entry_and_policy_lifecycle(eks: tuple[Any, Any]) -> None:
    """aws_eks_access_entry + aws_eks_access_policy_association: an entry per principal, a cluster-wide admin
    policy associated, listed, replaced, removed; the entry is taggable; deleting it removes it."""
    client, ec2 = eks
    _cluster(client, ec2, accessConfig={"authenticationMode": "API_AND_CONFIG_MAP"})
    role = _pod_role()
    entry = client.create_access_entry(clusterName="c1", principalArn=role, type="STANDARD", tags={"t": "1"})[
        "accessEntry"
    ]
    assert entry["principalArn"] == role and entry["type"] == "STANDARD"
    assert entry["accessEntryArn"].startswith(f"arn:aws:eks:{REGION}:123456789012:access-entry/c1/role/")
    assert client.describe_access_entry(clusterName="c1", principalArn=role)["accessEntry"]["tags"] == {
        "t": "1"
    }
    assert client.list_access_entries(clusterName="c1")["accessEntries"] == [role]
    with pytest.raises(ClientError) as taken:
        client.create_access_entry(clusterName="c1", principalArn=role)
    assert taken.value.response["Error"]["Code"] == "ResourceInUseException"

    associated = client.associate_access_policy(
        clusterName="c1", principalArn=role, policyArn=ADMIN_POLICY, accessScope={"type": "cluster"}
    )["associatedAccessPolicy"]
    assert associated["policyArn"] == ADMIN_POLICY and associated["accessScope"]["type"] == "cluster"
    listed = client.list_associated_access_policies(clusterName="c1", principalArn=role)[
        "associatedAccessPolicies"
    ]
    assert [(p["policyArn"], p["accessScope"]["type"]) for p in listed] == [(ADMIN_POLICY, "cluster")]
    assert client.list_access_entries(clusterName="c1", associatedPolicyArn=ADMIN_POLICY)[
        "accessEntries"
    ] == [role]
    with pytest.raises(ClientError) as bad:
        client.associate_access_policy(
            clusterName="c1",
            principalArn=role,
            policyArn="arn:aws:iam::aws:policy/AdministratorAccess",
            accessScope={"type": "cluster"},
        )
    assert bad.value.response["Error"]["Code"] == "InvalidParameterException"

    client.disassociate_access_policy(clusterName="c1", principalArn=role, policyArn=ADMIN_POLICY)
    assert (
        client.list_associated_access_policies(clusterName="c1", principalArn=role)[
            "associatedAccessPolicies"
        ]
        == []
    )
    client.delete_access_entry(clusterName="c1", principalArn=role)
    with pytest.raises(ClientError) as gone:
        client.describe_access_entry(clusterName="c1", principalArn=role)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_access_entries_need_the_api_authentication_mode_and_an_existing_role(eks: tuple[Any, Any]) -> None:
    client, ec2 = eks
    _cluster(client, ec2)  # AWS's default authentication mode: CONFIG_MAP only
    with pytest.raises(ClientError) as mode:
        client.create_access_entry(clusterName="c1", principalArn=_pod_role())
    assert mode.value.response["Error"]["Code"] == "InvalidRequestException"
    client.update_cluster_config(name="c1", accessConfig={"authenticationMode": "API_AND_CONFIG_MAP"})
    with pytest.raises(ClientError) as missing:
        client.create_access_entry(clusterName="c1", principalArn="arn:aws:iam::123456789012:role/missing")
    assert missing.value.response["Error"]["Code"] == "InvalidParameterException"
