"""The AWS world's scaling view (`nexus scale show`): each region's EKS managed node groups, nexus-api's
Deployment and HorizontalPodAutoscaler (Kubernetes API), the RDS instance's read replicas and the ElastiCache
replication group's replicas per shard."""

from __future__ import annotations

from typing import Any

from nexus_platform.platform import Platform
from nexus_platform.world.aws.clients import Clients, translated
from nexus_platform.world.aws.compute import AwsCompute, kubernetes_errors
from nexus_platform.world.aws.eks import kube as eks_kube
from nexus_platform.world.aws.eks import probes as eks_probes
from nexus_platform.world.aws.rds import probes as rds_probes
from nexus_platform.world.base import NodeGroupSize, Scale


class AwsScaling:
    def __init__(self, platform: Platform, clients: Clients, compute: AwsCompute) -> None:
        self.platform, self.clients, self.compute = platform, clients, compute

    def show(self, role: str) -> Scale:
        facts = self.platform.region(role)
        eks = self.clients("eks", facts.region)
        with translated(f"listing the node groups of {facts.cluster_name}"):
            groups = eks_probes.node_groups(eks, facts.cluster_name)
        capacity = self.compute.capacity(role)
        access = self.compute.access(role)
        with kubernetes_errors(
            f"reading HorizontalPodAutoscaler {self.compute.namespace}/{self.compute.deployment}", access.host
        ):
            hpa = eks_probes.autoscaler(
                eks_kube.autoscaling_api(access),
                self.compute.namespace,
                self.compute.deployment,
                self.compute.request_timeout,
            )
        with translated(f"describing {facts.db_instance_identifier}"):
            db = rds_probes.instance(self.clients("rds", facts.region), facts.db_instance_identifier) or {}
        with translated(f"describing replication group {facts.cache_replication_group_id}"):
            cache = self._cache(facts.region, facts.cache_replication_group_id)
        return Scale(
            role=role,
            region=facts.region,
            node_groups=tuple(NodeGroupSize(g.name, g.min_size, g.desired_size, g.max_size) for g in groups),
            api_ready=capacity.ready,
            api_desired=capacity.desired,
            api_min=hpa.min_replicas if hpa else None,
            api_max=hpa.max_replicas if hpa else None,
            db_read_replicas=len(db.get("ReadReplicaDBInstanceIdentifiers") or []) if db else None,
            cache_replicas_per_shard=cache,
            notes=() if hpa else ("no HorizontalPodAutoscaler: autoscaling is off in the chart",),
        )

    def _cache(self, region: str, group_id: str) -> int | None:
        described: list[dict[str, Any]] = self.clients("elasticache", region).describe_replication_groups(
            ReplicationGroupId=group_id
        )["ReplicationGroups"]
        shards = described[0].get("NodeGroups") or [] if described else []
        if not shards:
            return None
        return min(len(shard.get("NodeGroupMembers") or []) for shard in shards) - 1
