"""The AWS world's view of the workload's pods (`nexus doctor`'s application section), through the official
Kubernetes client: which nexus-api pods restarted recently and their previous container's last log lines;
whether every pod carries Istio's sidecar and which PeerAuthentication mode is in force for them.

The mode is Istio's precedence: a policy in the workload's namespace whose selector matches the pods, else the
namespace's policy without selector, else the mesh-wide one (no selector, in the root namespace istio-system);
none at all is Istio's default, PERMISSIVE."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from nexus_platform.world.aws.compute import AwsCompute, kubernetes_errors
from nexus_platform.world.aws.eks import kube as eks_kube
from nexus_platform.world.base import Mesh, Restart

SIDECAR = "istio-proxy"
CONTAINER = "nexus-api"  # helm/nexus's container in the Deployment
ISTIO_ROOT = "istio-system"
PEER_AUTHENTICATION = ("security.istio.io", "v1beta1", "peerauthentications")
LOG_LINES = 5


def _selector(labels: Mapping[str, str]) -> str:
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


class AwsWorkloads:
    def __init__(self, compute: AwsCompute) -> None:
        self.compute = compute

    def _pods(self, role: str) -> tuple[Any, list[Any], dict[str, str]]:
        access = self.compute.access(role)
        namespace, name, timeout = (
            self.compute.namespace,
            self.compute.deployment,
            self.compute.request_timeout,
        )
        with kubernetes_errors(f"reading Deployment {namespace}/{name}", access.host):
            deployment = eks_kube.apps_api(access).read_namespaced_deployment(
                name, namespace, _request_timeout=timeout
            )
        labels = dict(deployment.spec.selector.match_labels or {})
        core = eks_kube.core_api(access)
        with kubernetes_errors(f"listing the pods of {namespace}/{name}", access.host):
            pods = core.list_namespaced_pod(
                namespace, label_selector=_selector(labels), _request_timeout=timeout
            )
        return core, list(pods.items or []), labels

    def restarts(self, role: str, window_seconds: float) -> list[Restart]:
        core, pods, _ = self._pods(role)
        found = []
        now = time.time()
        for pod in pods:
            for status in (pod.status.container_statuses or []) if pod.status else []:
                ended = status.last_state.terminated if status.last_state else None
                if not status.restart_count or ended is None:
                    continue
                ago = now - ended.finished_at.timestamp() if ended.finished_at else None
                if ago is not None and ago > window_seconds:
                    continue
                reason = f"{ended.reason or 'terminated'} (exit {ended.exit_code})"
                found.append(
                    Restart(
                        name=f"{pod.metadata.name}/{status.name}",
                        restarts=int(status.restart_count),
                        reason=reason,
                        seconds_ago=ago,
                        log_tail=self._previous_log(core, pod.metadata.name, status.name),
                    )
                )
        return found

    def _previous_log(self, core: Any, pod: str, container: str) -> tuple[str, ...]:
        from kubernetes.client.exceptions import ApiException  # noqa: PLC0415

        try:
            text = core.read_namespaced_pod_log(
                pod,
                self.compute.namespace,
                container=container,
                previous=True,
                tail_lines=LOG_LINES,
                _request_timeout=self.compute.request_timeout,
            )
        except ApiException as exc:
            return (f"(no previous log: {exc.status} {exc.reason})",)
        return tuple(line for line in str(text).splitlines() if line.strip())[-LOG_LINES:]

    def deployed(self, role: str) -> str | None:
        """The image of the Deployment's nexus-api container."""
        access = self.compute.access(role)
        namespace, name = self.compute.namespace, self.compute.deployment
        with kubernetes_errors(f"reading Deployment {namespace}/{name}", access.host):
            found = eks_kube.apps_api(access).read_namespaced_deployment(
                name, namespace, _request_timeout=self.compute.request_timeout
            )
        containers = found.spec.template.spec.containers or []
        image = next((c.image for c in containers if c.name == CONTAINER), None)
        return str(image) if image else None

    def mesh(self, role: str) -> Mesh:
        _, pods, labels = self._pods(role)
        bare = []
        for pod in pods:
            spec = pod.spec
            names = {c.name for c in (spec.containers or [])} | {c.name for c in (spec.init_containers or [])}
            if SIDECAR not in names:  # a native sidecar (Istio on Kubernetes 1.29+) is an init container
                bare.append(pod.metadata.name)
        mode = self._mode(role, labels)
        return Mesh(
            applicable=True,
            pods=len(pods),
            without_sidecar=tuple(bare),
            mtls=mode,
            detail="" if mode else "no PeerAuthentication applies: Istio's default is PERMISSIVE",
        )

    def _mode(self, role: str, labels: Mapping[str, str]) -> str | None:
        access = self.compute.access(role)
        custom = eks_kube.custom_objects_api(access)
        group, version, plural = PEER_AUTHENTICATION
        policies: dict[str, list[dict[str, Any]]] = {}
        for namespace in (self.compute.namespace, ISTIO_ROOT):
            with kubernetes_errors(f"listing PeerAuthentications in {namespace}", access.host):
                listed = custom.list_namespaced_custom_object(
                    group, version, namespace, plural, _request_timeout=self.compute.request_timeout
                )
            policies[namespace] = list(listed.get("items") or [])

        def mode_of(policy: Mapping[str, Any]) -> str | None:
            mode = ((policy.get("spec") or {}).get("mtls") or {}).get("mode")
            return str(mode) if mode and mode != "UNSET" else None

        def selects(policy: Mapping[str, Any]) -> bool | None:
            wanted = ((policy.get("spec") or {}).get("selector") or {}).get("matchLabels")
            if not wanted:
                return None  # no selector: the whole namespace
            return all(labels.get(k) == v for k, v in wanted.items())

        own = policies[self.compute.namespace]
        for candidates in (
            [p for p in own if selects(p)],
            [p for p in own if selects(p) is None],
            [p for p in policies[ISTIO_ROOT] if selects(p) is None],
        ):
            modes = [m for p in candidates if (m := mode_of(p))]
            if modes:
                return modes[0]
        return None
