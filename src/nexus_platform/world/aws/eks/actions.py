"""Changes: node-group sizes (EKS UpdateNodegroupConfig, then the nodegroup_active waiter) and a Deployment's
replicas (its scale subresource, through the Kubernetes API).

How many nodes n pods want is this module's call, as EKS cannot know the pods' requests:

- n = 0: every node group goes down to its minimum (min and max stay what Terraform set; they are Terraform's,
  while desired is the cluster autoscaler's: `ignore_changes` in modules/region/compute.tf);
- n > 0: ceil(n / pods_per_node) nodes, split evenly over the groups, each clamped to [min, max] and never
  below its current desired size (the autoscaler may have added nodes for other workloads; it also removes the
  ones left idle, so scaling up generously costs little and scaling down is left to it).

pods_per_node defaults to 2: nexus-api requests 250m CPU / 256 MiB, and a node also runs the DaemonSets, the
mesh's sidecars and the other add-ons; with it a failover to 6 replicas asks for 3 nodes, the primary's size.
"""

from __future__ import annotations

import math
from typing import Any

from nexus_platform.world.aws.clients import Waiting, translated, wait
from nexus_platform.world.aws.eks.probes import NodeGroup

DEFAULT_PODS_PER_NODE = 2


def wanted_sizes(groups: list[NodeGroup], replicas: int, pods_per_node: int) -> dict[str, int]:
    """The desired size of each group for `replicas` pods (see the module's docstring)."""
    if not groups:
        return {}
    if replicas <= 0:
        return {group.name: group.min_size for group in groups}
    per_group = math.ceil(math.ceil(replicas / max(1, pods_per_node)) / len(groups))
    return {
        group.name: min(group.max_size, max(group.min_size, group.desired_size, per_group))
        for group in groups
    }


def resize(eks: Any, cluster: str, groups: list[NodeGroup], sizes: dict[str, int], waiting: Waiting) -> None:
    """Set each group's desired size (min and max as they are) and wait until the groups are ACTIVE again."""
    changed = [group for group in groups if sizes.get(group.name, group.desired_size) != group.desired_size]
    for group in changed:
        with translated(f"resizing node group {group.name} of {cluster} to {sizes[group.name]}"):
            eks.update_nodegroup_config(
                clusterName=cluster,
                nodegroupName=group.name,
                scalingConfig={
                    "minSize": group.min_size,
                    "maxSize": group.max_size,
                    "desiredSize": sizes[group.name],
                },
            )
    for group in changed:
        wait(eks.get_waiter("nodegroup_active"), f"node group {group.name} to be ACTIVE", waiting,
             clusterName=cluster, nodegroupName=group.name)  # fmt: skip


def scale_deployment(apps: Any, namespace: str, name: str, replicas: int, timeout: float) -> None:
    """PATCH the Deployment's scale subresource: spec.replicas = `replicas`."""
    apps.patch_namespaced_deployment_scale(
        name, namespace, {"spec": {"replicas": replicas}}, _request_timeout=timeout
    )
