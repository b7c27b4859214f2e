"""Install order on a new cluster: every custom resource the platform deploys belongs to a CRD group that an
add-on of an earlier sync wave brings, and what needs another add-on running comes after it
(cicd/argocd/README.md, "Install order")."""

from __future__ import annotations

import pytest
from tests.cicd.helpers import ARGOCD, REPO, load_docs
from tests.helm.helmchart import KUBE_VERSIONS, VALUES_FILES, render_file

WAVE = "argocd.argoproj.io/sync-wave"
APPSETS = {p.stem: p for p in sorted((ARGOCD / "addons").glob("*.yaml"))} | {
    "nexus": ARGOCD / "apps" / "nexus.yaml"
}
TGB_TEMPLATE = (
    ARGOCD / "addons" / "charts" / "alb-target-group-binding" / "templates" / "targetgroupbinding.yaml"
)

# The CRD groups each add-on's chart installs (crds/ or templates), and the core groups nobody has to bring.
PROVIDES = {
    "istio-base": {"networking.istio.io", "security.istio.io", "telemetry.istio.io", "extensions.istio.io"},
    "external-secrets": {"external-secrets.io", "generators.external-secrets.io"},
    "kube-prometheus-stack": {"monitoring.coreos.com"},
    "eck-operator": {"elasticsearch.k8s.elastic.co", "kibana.k8s.elastic.co"},
    "aws-load-balancer-controller": {"elbv2.k8s.aws"},
}
BUILT_IN = {"", "apps", "policy", "autoscaling", "networking.k8s.io", "rbac.authorization.k8s.io", "batch"}

# Needs that are not CRDs: a webhook or a service of another add-on that must be running first.
RUNS_AFTER = {
    "istiod": {"istio-base"},
    "istio-cni": {"istio-base"},
    "istio-ingressgateway": {"istiod"},  # its pods are injected by istiod's webhook
    "fluentd": {"elastic-stack"},  # ships to that Elasticsearch
    "nexus": {"istiod", "istio-cni", "istio-ingressgateway"},  # sidecars need injection and the CNI plugin
}


def wave(name: str) -> int:
    (doc,) = load_docs(APPSETS[name])
    value = doc["metadata"].get("annotations", {}).get(WAVE)
    assert value is not None, f"{APPSETS[name]}: no {WAVE} annotation"
    return int(value)


def group(api_version: str) -> str:
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def used_groups() -> dict[str, set[str]]:
    """Per ApplicationSet, the API groups of the resources it deploys from this repository."""
    nexus = {
        group(doc["apiVersion"])
        for name in VALUES_FILES
        for doc in render_file(name, KUBE_VERSIONS[-1]).docs
        if doc["kind"] != "Pod"  # the Helm test pod is not synced by Argo CD
    }
    elastic = {
        group(d["apiVersion"])
        for p in (ARGOCD / "addons" / "elastic-stack").glob("*.yaml")
        for d in load_docs(p)
    }
    tgb = {
        group(line.split(":", 1)[1].strip())
        for line in TGB_TEMPLATE.read_text().splitlines()
        if line.startswith("apiVersion:")
    }
    deploy = REPO / "monitoring" / "deploy"
    monitoring = {
        group(d["apiVersion"])
        for p in sorted(deploy.glob("*.yaml"))
        if p.name != "kustomization.yaml"
        for d in load_docs(p)
        if "apiVersion" in d
    }
    return {
        "nexus": nexus,
        "elastic-stack": elastic,
        "istio-ingressgateway": tgb,
        "kube-prometheus-stack": monitoring,
    }


def test_every_application_set_has_a_wave() -> None:
    assert {name: wave(name) for name in APPSETS}


@pytest.mark.parametrize(("consumer", "groups"), sorted(used_groups().items()))
def test_custom_resources_come_after_their_crds(consumer: str, groups: set[str]) -> None:
    providers = {g: name for name, provided in PROVIDES.items() for g in provided}
    custom = groups - BUILT_IN
    assert custom, f"{consumer}: no custom resource found, the check would be empty"
    for needed in sorted(custom):
        assert needed in providers, f"{consumer} uses {needed}: which add-on brings it? (PROVIDES)"
        if providers[needed] == consumer:
            continue  # its own chart's CRDs: Argo CD applies them first in the same sync
        assert wave(providers[needed]) < wave(consumer), f"{consumer} uses {needed} from {providers[needed]}"


@pytest.mark.parametrize(("consumer", "needs"), sorted(RUNS_AFTER.items()))
def test_add_ons_come_after_what_they_need_running(consumer: str, needs: set[str]) -> None:
    for need in needs:
        assert wave(need) < wave(consumer), f"{consumer} needs {need} running first"


def test_the_app_tolerates_crds_that_are_not_served_yet() -> None:
    (doc,) = load_docs(APPSETS["nexus"])
    options = doc["spec"]["template"]["spec"]["syncPolicy"]["syncOptions"]
    assert "SkipDryRunOnMissingResource=true" in options
    assert doc["spec"]["template"]["spec"]["syncPolicy"]["retry"]["limit"] >= 3


def test_the_ordering_check_notices_a_late_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    real = wave

    def late(name: str) -> int:
        return 5 if name == "istio-base" else real(name)

    monkeypatch.setattr(f"{__name__}.wave", late)
    with pytest.raises(AssertionError, match="from istio-base"):
        test_custom_resources_come_after_their_crds("nexus", used_groups()["nexus"])
