"""The AWS world's compute: the region's EKS managed node groups and the nexus-api Deployment (namespace
nexus)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from nexus_platform.errors import NexusError, Unreachable
from nexus_platform.platform import Platform
from nexus_platform.world.aws.clients import Clients, Waiting, translated
from nexus_platform.world.aws.eks import actions as eks_actions
from nexus_platform.world.aws.eks import kube as eks_kube
from nexus_platform.world.aws.eks import probes as eks_probes
from nexus_platform.world.aws.eks.kube import KubeAccess
from nexus_platform.world.base import Capacity

# The chart's release: `helm install nexus-api helm/nexus -n nexus` names the Deployment nexus-api.
NAMESPACE = "nexus"
DEPLOYMENT = "nexus-api"


@contextmanager
def kubernetes_errors(what: str, host: str) -> Iterator[None]:
    """The Kubernetes client's errors as one-line NexusErrors."""
    from kubernetes.client.exceptions import ApiException  # noqa: PLC0415
    from urllib3.exceptions import HTTPError  # noqa: PLC0415

    try:
        yield
    except ApiException as exc:
        hint = {
            401: "the caller needs an EKS access entry in the cluster",
            403: "the caller's Kubernetes RBAC does not allow it",
            404: f"is the chart installed (Deployment {DEPLOYMENT} in namespace {NAMESPACE})?",
        }.get(int(exc.status or 0))
        raise NexusError(f"{what}: Kubernetes API {exc.status} {exc.reason}", hint=hint) from exc
    except (HTTPError, OSError) as exc:
        raise Unreachable(
            f"{what}: the Kubernetes API at {host} does not answer ({type(exc).__name__})",
            hint="the clusters' endpoints are private: run from inside the VPC or pass a KubeAccess",
        ) from exc


class AwsCompute:
    """A region's EKS managed node groups and the nexus-api Deployment (scaled through its scale
    subresource). How many nodes a number of pods gets is eks/actions.py's policy."""

    def __init__(
        self,
        platform: Platform,
        clients: Clients,
        *,
        kube: KubeAccess | Mapping[str, KubeAccess] | None = None,
        waiting: Waiting | None = None,
        pods_per_node: int = eks_actions.DEFAULT_PODS_PER_NODE,
        namespace: str = NAMESPACE,
        deployment: str = DEPLOYMENT,
        request_timeout: float = 15.0,
    ) -> None:
        self.platform, self.clients = platform, clients
        self.kube = kube
        self.waiting = waiting or Waiting(delay=15.0, timeout=1200.0)
        self.pods_per_node, self.namespace, self.deployment = pods_per_node, namespace, deployment
        self.request_timeout = request_timeout
        self._apps: dict[str, tuple[KubeAccess, Any]] = {}

    def _eks(self, role: str) -> Any:
        return self.clients("eks", self.platform.region(role).region)

    def access(self, role: str) -> KubeAccess:
        """How to reach `role`'s Kubernetes API: the one given, else from EKS DescribeCluster."""
        if isinstance(self.kube, KubeAccess):
            return self.kube
        if self.kube is not None and role in self.kube:
            return self.kube[role]
        facts = self.platform.region(role)
        with translated(f"describing EKS cluster {facts.cluster_name}"):
            described = self._eks(role).describe_cluster(name=facts.cluster_name)["cluster"]
        return eks_kube.from_cluster(described, facts.region, self.clients.credentials)

    def _api(self, role: str) -> tuple[str, Any]:
        if role not in self._apps:
            access = self.access(role)
            self._apps[role] = (access, eks_kube.apps_api(access))
        access, api = self._apps[role]
        return access.host, api

    def _node_groups(self, role: str) -> list[eks_probes.NodeGroup]:
        facts = self.platform.region(role)
        with translated(f"listing the node groups of {facts.cluster_name}"):
            return eks_probes.node_groups(self._eks(role), facts.cluster_name)

    def capacity(self, role: str) -> Capacity:
        """The Deployment's ready and wanted replicas, and the node groups' desired sizes."""
        groups = self._node_groups(role)
        host, api = self._api(role)
        with kubernetes_errors(f"reading Deployment {self.namespace}/{self.deployment}", host):
            workload = eks_probes.deployment(api, self.namespace, self.deployment, self.request_timeout)
        return Capacity(
            ready=workload.ready, desired=workload.desired, nodes=sum(g.desired_size for g in groups)
        )

    def desired(self, role: str) -> int:
        """The Deployment's wanted replicas: its status carries readiness at no extra cost, and the region's
        APIs are read as for `capacity` (a region whose EKS API does not answer is unreachable, even where
        a cluster endpoint is at hand)."""
        return self.capacity(role).desired

    def scale(self, role: str, replicas: int) -> None:
        """Node groups sized for `replicas` pods, and the Deployment scaled to `replicas`: nodes first when
        growing (the pods then have somewhere to run), the Deployment first when shrinking. With the chart's
        HorizontalPodAutoscaler on, it moves the replicas between its bounds afterwards; at 0 it stands still
        (an HPA does not scale a target with no replicas)."""
        if replicas < 0:
            raise NexusError(f"cannot scale to {replicas} replicas")
        facts = self.platform.region(role)
        groups = self._node_groups(role)
        sizes = eks_actions.wanted_sizes(groups, replicas, self.pods_per_node)
        host, api = self._api(role)

        def workload() -> None:
            with kubernetes_errors(
                f"scaling Deployment {self.namespace}/{self.deployment} to {replicas}", host
            ):
                eks_actions.scale_deployment(
                    api, self.namespace, self.deployment, replicas, self.request_timeout
                )

        if replicas == 0:
            workload()
        eks_actions.resize(self._eks(role), facts.cluster_name, groups, sizes, self.waiting)
        if replicas > 0:
            workload()
