"""Reads: a cluster's node groups and their sizes, the security groups its nodes run in, and a Deployment's
wanted and ready replicas through the Kubernetes API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nexus_platform.world.aws.ec2 import probes as ec2_probes


@dataclass(frozen=True)
class NodeGroup:
    name: str
    min_size: int
    desired_size: int
    max_size: int
    status: str


def node_groups(eks: Any, cluster: str) -> list[NodeGroup]:
    groups = []
    for page in eks.get_paginator("list_nodegroups").paginate(clusterName=cluster):
        for name in page.get("nodegroups", []):
            described = eks.describe_nodegroup(clusterName=cluster, nodegroupName=name)["nodegroup"]
            scaling = described.get("scalingConfig", {})
            groups.append(
                NodeGroup(
                    name=name,
                    min_size=int(scaling.get("minSize", 0)),
                    desired_size=int(scaling.get("desiredSize", 0)),
                    max_size=int(scaling.get("maxSize", 0)),
                    status=str(described.get("status", "")),
                )
            )
    return groups


def node_security_groups(eks: Any, ec2: Any, cluster: str) -> set[str]:
    """The security groups the cluster's nodes (and so its pods) run in: those of each managed node group's
    launch template; the cluster security group EKS creates for a group whose template names none (EKS then
    attaches that one)."""
    described = eks.describe_cluster(name=cluster)["cluster"]
    cluster_group = (described.get("resourcesVpcConfig") or {}).get("clusterSecurityGroupId")
    groups: set[str] = set()
    for page in eks.get_paginator("list_nodegroups").paginate(clusterName=cluster):
        for name in page.get("nodegroups", []):
            nodegroup = eks.describe_nodegroup(clusterName=cluster, nodegroupName=name)["nodegroup"]
            template = nodegroup.get("launchTemplate") or {}
            found = (
                ec2_probes.launch_template_groups(ec2, template["id"], template.get("version"))
                if template.get("id")
                else []
            )
            groups.update(found)
            if not found and cluster_group:
                groups.add(cluster_group)
    return groups


@dataclass(frozen=True)
class Workload:
    desired: int
    ready: int


def deployment(apps: Any, namespace: str, name: str, timeout: float) -> Workload:
    """The Deployment's spec.replicas and status.readyReplicas."""
    found = apps.read_namespaced_deployment(name, namespace, _request_timeout=timeout)
    return Workload(
        desired=int(found.spec.replicas or 0) if found.spec else 0,
        ready=int(found.status.ready_replicas or 0) if found.status else 0,
    )


@dataclass(frozen=True)
class Autoscaler:
    min_replicas: int
    max_replicas: int
    current: int
    desired: int


def autoscaler(autoscaling: Any, namespace: str, name: str, timeout: float) -> Autoscaler | None:
    """The HorizontalPodAutoscaler's bounds and replicas; None when there is none (autoscaling off)."""
    from kubernetes.client.exceptions import ApiException  # noqa: PLC0415

    try:
        found = autoscaling.read_namespaced_horizontal_pod_autoscaler(
            name, namespace, _request_timeout=timeout
        )
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return Autoscaler(
        min_replicas=int(found.spec.min_replicas or 1),
        max_replicas=int(found.spec.max_replicas),
        current=int(found.status.current_replicas or 0) if found.status else 0,
        desired=int(found.status.desired_replicas or 0) if found.status else 0,
    )
