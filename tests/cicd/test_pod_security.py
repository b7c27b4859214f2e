"""Pod Security Standards for the upstream add-ons: what a pinned chart renders with our values must pass the
namespace's level, or the add-on's pods are refused and (for the ingress gateway) neither region serves.

The upstream chart templates cannot be fetched on these machines, so each chart version's relevant facts are
written down below with their source: which values key becomes which securityContext, the chart's defaults for
those keys, and what the template writes itself. Our values file is merged over the defaults as Helm merges it
(maps deep-merged, anything else replaced) and the result is checked against the "restricted" controls. A
version bump in cicd/argocd/versions.yaml fails here until the facts are re-checked for the new version.

The manifests this repository renders itself (helm/nexus) are checked by checkov's Kubernetes checks
(tests/helm/test_checkov.py); the local TargetGroupBinding chart renders no pod.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml
from tests.cicd.helpers import ARGOCD, generate, load_docs

TABLE = yaml.safe_load((ARGOCD / "versions.yaml").read_text())
VALUES = ARGOCD / "addons" / "values"
LEVEL_LABEL = "pod-security.kubernetes.io/enforce"
RESTRICTED_SECCOMP = {"RuntimeDefault", "Localhost"}


@dataclass(frozen=True)
class Workload:
    """One pod the chart renders: the values keys its templates copy into the pod's and the container's
    securityContext (None: not configurable), a key copied in as the container's seccompProfile, and the
    securityContext fields the template writes itself whatever the values say."""

    name: str
    pod: str | None = None
    container: str | None = None
    seccomp: str | None = None
    template_container: dict[str, Any] = field(default_factory=dict)
    # what the template writes as the container's securityContext when the `container` key is empty
    container_when_empty: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Chart:
    version: str
    source: str
    defaults: dict[str, Any]
    workloads: tuple[Workload, ...]


_DROP_ALL = {"capabilities": {"drop": ["ALL"]}}
_ESO_DEFAULTS = {
    "securityContext": {
        "allowPrivilegeEscalation": False,
        **_DROP_ALL,
        "enabled": True,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": 1000,
        "seccompProfile": {"type": "RuntimeDefault"},
    },
    "podSecurityContext": {"enabled": True},
}

# Every add-on whose namespace is labelled restricted (or baseline). Facts per chart version, from the chart's
# values.yaml and templates at that tag.
CHARTS: dict[str, Chart] = {
    "istio-base": Chart(
        version="1.30.4",
        source="istio/istio manifests/charts/base: CRDs, cluster roles and a validating webhook, no pod",
        defaults={},
        workloads=(),
    ),
    "istiod": Chart(
        version="1.30.4",
        source="istio/istio manifests/charts/istio-control/istio-discovery (values.yaml"
        " `pilot.seccompProfile: {}`, 'Set to `type: RuntimeDefault` to use the default profile';"
        " templates/deployment.yaml)",
        defaults={"pilot": {"seccompProfile": {}}},
        workloads=(
            Workload(
                name="istiod",
                seccomp="pilot.seccompProfile",
                template_container={"runAsNonRoot": True, "allowPrivilegeEscalation": False, **_DROP_ALL},
            ),
        ),
    ),
    "istio-ingressgateway": Chart(
        version="1.30.4",
        source="istio/istio manifests/charts/gateway templates/deployment.yaml: pod securityContext ="
        " `securityContext` (empty: the unprivileged-port sysctl only), istio-proxy's ="
        " `containerSecurityContext` (empty: non-root, no privilege escalation, drop ALL, no seccomp)",
        defaults={"securityContext": {}, "containerSecurityContext": {}},
        workloads=(
            Workload(
                name="gateway",
                pod="securityContext",
                container="containerSecurityContext",
                container_when_empty={
                    **_DROP_ALL,
                    "allowPrivilegeEscalation": False,
                    "privileged": False,
                    "readOnlyRootFilesystem": True,
                    "runAsUser": 1337,
                    "runAsGroup": 1337,
                    "runAsNonRoot": True,
                },
            ),
        ),
    ),
    "eck-operator": Chart(
        version="3.5.0",
        source="elastic/cloud-on-k8s deploy/eck-operator values.yaml: `podSecurityContext` (pod, default"
        " runAsNonRoot only), `securityContext` (operator container)",
        defaults={"podSecurityContext": {"runAsNonRoot": True}, "securityContext": {}},
        workloads=(Workload(name="elastic-operator", pod="podSecurityContext", container="securityContext"),),
    ),
    "external-secrets": Chart(
        version="2.4.1",
        source="external-secrets/external-secrets deploy/charts/external-secrets values.yaml:"
        " `securityContext` of the controller (top level), webhook and certController defaults to drop ALL,"
        " no privilege escalation, runAsNonRoot, seccomp RuntimeDefault",
        defaults={
            **_ESO_DEFAULTS,
            "webhook": copy.deepcopy(_ESO_DEFAULTS),
            "certController": copy.deepcopy(_ESO_DEFAULTS),
        },
        workloads=tuple(
            Workload(name=name, pod=f"{prefix}podSecurityContext", container=f"{prefix}securityContext")
            for name, prefix in (
                ("controller", ""),
                ("webhook", "webhook."),
                ("cert-controller", "certController."),
            )
        ),
    ),
}


def merge(defaults: Any, override: Any) -> Any:
    """Helm's coalescing of a values file over the chart's: maps merge key by key, the rest replaces."""
    if isinstance(defaults, dict) and isinstance(override, dict):
        out = copy.deepcopy(defaults)
        for key, value in override.items():
            out[key] = merge(defaults.get(key), value)
        return out
    return copy.deepcopy(override)


def dig(values: dict[str, Any], dotted: str | None) -> Any:
    if dotted is None:
        return None
    node: Any = values
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def effective_values(addon: str, ours: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = merge(CHARTS[addon].defaults, ours)
    return result


def violations(workload: Workload, values: dict[str, Any]) -> list[str]:
    """The Pod Security Standards' "restricted" controls this workload's rendered pod fails."""
    pod = dict(dig(values, workload.pod) or {})
    configured = dig(values, workload.container) or workload.container_when_empty
    container = {**workload.template_container, **configured}
    if workload.seccomp and dig(values, workload.seccomp):
        container["seccompProfile"] = dig(values, workload.seccomp)
    problems = []
    seccomp = (container.get("seccompProfile") or pod.get("seccompProfile") or {}).get("type")
    if seccomp not in RESTRICTED_SECCOMP:
        problems.append(f"seccompProfile.type is {seccomp!r}, not RuntimeDefault or Localhost")
    if container.get("allowPrivilegeEscalation") is not False:
        problems.append("allowPrivilegeEscalation is not false")
    if "ALL" not in ((container.get("capabilities") or {}).get("drop") or []):
        problems.append("capabilities.drop does not include ALL")
    if (container.get("capabilities") or {}).get("add") not in (None, [], ["NET_BIND_SERVICE"]):
        problems.append("capabilities.add beyond NET_BIND_SERVICE")
    if container.get("runAsNonRoot", pod.get("runAsNonRoot")) is not True:
        problems.append("runAsNonRoot is not true")
    if container.get("privileged"):
        problems.append("privileged")
    return problems


def namespace_level(addon: str) -> str | None:
    (appset,) = load_docs(ARGOCD / "addons" / f"{addon}.yaml")
    levels = set()
    for app in generate(appset):
        labels = app["spec"]["syncPolicy"].get("managedNamespaceMetadata", {}).get("labels", {})
        levels.add(labels.get(LEVEL_LABEL))
    assert len(levels) == 1, f"{addon}: regions disagree on the namespace's level: {levels}"
    level = levels.pop()
    return None if level is None else str(level)


def our_values(addon: str) -> dict[str, Any]:
    path = VALUES / f"{addon}.yaml"
    loaded = yaml.safe_load(path.read_text()) if path.exists() else None
    return loaded or {}


def test_every_restricted_addon_has_its_chart_facts() -> None:
    """An add-on put into a restricted or baseline namespace must be modelled here, at its pinned version."""
    guarded = {a for a in TABLE["addons"] if namespace_level(a) in ("restricted", "baseline")}
    assert guarded == set(CHARTS), (
        f"model the chart facts of {guarded - set(CHARTS)}; drop {set(CHARTS) - guarded}"
    )
    for addon, chart in CHARTS.items():
        assert TABLE["addons"][addon]["version"] == chart.version, (
            f"{addon} moved to {TABLE['addons'][addon]['version']}: re-check its templates"
            f" ({chart.source}) and update CHARTS"
        )


@pytest.mark.parametrize("addon", sorted(CHARTS))
def test_our_values_meet_restricted(addon: str) -> None:
    values = effective_values(addon, our_values(addon))
    for workload in CHARTS[addon].workloads:
        assert violations(workload, values) == [], f"{addon} ({workload.name}) with {VALUES / addon}.yaml"


@pytest.mark.parametrize(
    ("addon", "ours", "expected"),
    [
        # the chart defaults alone: what the issue found on a real cluster
        ("istiod", {}, "seccompProfile"),
        ("istio-ingressgateway", {}, "seccompProfile"),
        ("eck-operator", {}, "allowPrivilegeEscalation"),
        # overriding a safe default is caught too
        (
            "external-secrets",
            {"securityContext": {"allowPrivilegeEscalation": True}},
            "allowPrivilegeEscalation",
        ),
        ("istio-ingressgateway", {"containerSecurityContext": {"privileged": True}}, "privileged"),
    ],
)
def test_the_check_fails_without_our_settings(addon: str, ours: dict[str, Any], expected: str) -> None:
    values = effective_values(addon, ours)
    found = [p for w in CHARTS[addon].workloads for p in violations(w, values)]
    assert any(expected in p for p in found), found
