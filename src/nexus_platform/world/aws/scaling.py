"""The AWS world's scaling (`nexus scale show|set`): each region's EKS managed node groups
(UpdateNodegroupConfig), nexus-api's HorizontalPodAutoscaler (PATCHed through the Kubernetes API), the RDS
instance's read replicas (CreateDBInstanceReadReplica / DeleteDBInstance, only the ones this command made)
and the ElastiCache replication group's replicas per shard (IncreaseReplicaCount / DecreaseReplicaCount).

The quotas are AWS's documented defaults: 450 nodes per managed node group (EKS service quotas), 15 read
replicas per RDS for PostgreSQL source instance, 5 replicas per ElastiCache shard."""

from __future__ import annotations

from typing import Any

from nexus_platform.errors import NexusError
from nexus_platform.platform import Platform
from nexus_platform.world.aws.clients import Clients, translated
from nexus_platform.world.aws.compute import AwsCompute, kubernetes_errors
from nexus_platform.world.aws.eks import kube as eks_kube
from nexus_platform.world.aws.eks import probes as eks_probes
from nexus_platform.world.aws.rds import actions as rds_actions
from nexus_platform.world.aws.rds import probes as rds_probes
from nexus_platform.world.base import NodeGroupSize, Quotas, Scale

#: The tag on the read replicas `nexus scale set` creates: the only ones it deletes again.
MADE_BY = {"Key": "nexus:made-by", "Value": "nexus-scale"}
QUOTAS = Quotas(api_replicas=None, node_group_size=450, db_read_replicas=15, cache_replicas_per_shard=5)


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

    def quotas(self, role: str) -> Quotas:
        return QUOTAS

    def set_nodes(self, role: str, group: str, low: int, desired: int, high: int) -> None:
        facts = self.platform.region(role)
        eks = self.clients("eks", facts.region)
        with translated(f"resizing node group {group} of {facts.cluster_name} to {low}:{desired}:{high}"):
            eks.update_nodegroup_config(
                clusterName=facts.cluster_name,
                nodegroupName=group,
                scalingConfig={"minSize": low, "maxSize": high, "desiredSize": desired},
            )

    def set_api_bounds(self, role: str, low: int, high: int) -> None:
        access = self.compute.access(role)
        name, namespace = self.compute.deployment, self.compute.namespace
        with kubernetes_errors(f"patching HorizontalPodAutoscaler {namespace}/{name}", access.host):
            eks_kube.autoscaling_api(access).patch_namespaced_horizontal_pod_autoscaler(
                name,
                namespace,
                {"spec": {"minReplicas": low, "maxReplicas": high}},
                _request_timeout=self.compute.request_timeout,
            )

    def set_db_read_replicas(self, role: str, count: int) -> None:
        """Add in-region replicas shaped like the source, or delete this command's own, newest first; the
        other region's replica counts among them and is never touched."""
        facts = self.platform.region(role)
        rds = self.clients("rds", facts.region)
        source = facts.db_instance_identifier
        with translated(f"describing {source}"):
            described = rds_probes.instance(rds, source) or {}
        replicas = list(described.get("ReadReplicaDBInstanceIdentifiers") or [])
        if count > len(replicas):
            # In-region: the source's key (no KmsKeyId), the source's tags and ours.
            settings = {
                k: v
                for k, v in rds_actions.replica_parameters(rds, described).items()
                if k not in ("Tags", "KmsKeyId")
            }
            # A read replica holds no data of its own: `scale set` must be able to remove it again.
            settings["DeletionProtection"] = False
            for n in range(len(replicas) + 1, count + 1):
                name = self._free_name(rds, source, n)
                with translated(f"creating read replica {name} of {source}"):
                    rds.create_db_instance_read_replica(
                        DBInstanceIdentifier=name,
                        SourceDBInstanceIdentifier=source,
                        Tags=[*(described.get("TagList") or []), MADE_BY],
                        **settings,
                    )
            return
        ours = [r for r in replicas if ":" not in r and self._made_here(rds, r)]
        surplus = len(replicas) - count
        if surplus > len(ours):
            raise NexusError(
                f"{source} has {len(replicas)} read replicas, {len(ours)} of them made by `nexus scale`: "
                f"cannot go down to {count}",
                hint="the others (the DR replica among them) are Terraform's",
            )
        for name in sorted(ours, reverse=True)[:surplus]:
            with translated(f"deleting read replica {name}"):
                rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True)

    @staticmethod
    def _free_name(rds: Any, source: str, n: int) -> str:
        taken = {i["DBInstanceIdentifier"] for i in rds_probes.instances(rds)}
        while f"{source}-read-{n}" in taken:
            n += 1
        return f"{source}-read-{n}"

    @staticmethod
    def _made_here(rds: Any, name: str) -> bool:
        found = rds_probes.instance(rds, name) or {}
        return MADE_BY in (found.get("TagList") or [])

    def set_cache_replicas(self, role: str, count: int) -> None:
        facts = self.platform.region(role)
        elasticache = self.clients("elasticache", facts.region)
        group = facts.cache_replication_group_id
        now = self._cache(facts.region, group)
        if now is None or now == count:
            return
        call = elasticache.increase_replica_count if count > now else elasticache.decrease_replica_count
        with translated(f"changing the replicas per shard of {group} from {now} to {count}"):
            call(ReplicationGroupId=group, NewReplicaCount=count, ApplyImmediately=True)
