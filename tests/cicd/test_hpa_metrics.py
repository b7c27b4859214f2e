"""Every metric an HPA scales on has a provider on the clusters, or the HPA stays at its minimum for ever.

Resource metrics (cpu, memory) come from metrics.k8s.io: the metrics-server EKS add-on (Terraform: its
presence and the control plane's path to it on 10251 are asserted by `terraform test`, regions.tftest.hcl).
Pods and Object metrics come from custom.metrics.k8s.io: prometheus-adapter (Argo CD add-on), whose rule must
name the metric and read a series that the workload really exports.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from nexus_api.metrics import Metrics
from tests.cicd.helpers import ARGOCD, REPO
from tests.helm.helmchart import KUBE_VERSIONS, VALUES_FILES, render_file

ADAPTER_VALUES = yaml.safe_load((ARGOCD / "addons" / "values" / "prometheus-adapter.yaml").read_text())
COMPUTE_TF = REPO / "terraform" / "modules" / "region" / "compute.tf"
ADDON_VALUES = ARGOCD / "addons" / "values"


def nexus_hpa_metrics() -> list[dict[str, Any]]:
    metrics = []
    for name in VALUES_FILES:
        for doc in render_file(name, KUBE_VERSIONS[-1]).docs:
            if doc["kind"] == "HorizontalPodAutoscaler":
                metrics += doc["spec"]["metrics"]
    assert metrics, "helm/nexus renders no HPA metric"
    return metrics


def exported_by_nexus_api() -> set[str]:
    """Series names nexus-api exposes, labelled families included (they have no sample until first used)."""
    registry = Metrics(version="test", region="us-east-1", role="primary").registry
    names = set()
    for family in registry.collect():
        names |= {sample.name for sample in family.samples}
        names.add(f"{family.name}_total" if family.type == "counter" else family.name)
    return names


def adapter_rules() -> dict[str, dict[str, Any]]:
    """The custom metrics the adapter serves, by the name an HPA asks for."""
    rules = ADAPTER_VALUES["rules"]
    assert rules["default"] is False, "the chart's default rules would serve every series"
    return {rule["name"]["as"]: rule for rule in rules["custom"]}


def metrics_server_in_terraform() -> bool:
    return bool(re.search(r'addon_name\s*=\s*"metrics-server"', COMPUTE_TF.read_text()))


def test_resource_metrics_have_metrics_server() -> None:
    kinds = {m["type"] for m in nexus_hpa_metrics()}
    assert "Resource" in kinds
    assert metrics_server_in_terraform(), (
        "no metrics-server EKS add-on in terraform/modules/region/compute.tf"
    )
    # the add-ons' own HPAs (ingress gateway, istiod) scale on CPU: the same provider
    gateway = yaml.safe_load((ADDON_VALUES / "istio-ingressgateway.yaml").read_text())
    assert gateway["autoscaling"]["enabled"] is True


@pytest.mark.parametrize("metric", [m for m in nexus_hpa_metrics() if m["type"] != "Resource"], ids=str)
def test_custom_metrics_are_served_by_the_adapter(metric: dict[str, Any]) -> None:
    assert metric["type"] == "Pods", f"no provider modelled for {metric['type']} metrics"
    name = metric["pods"]["metric"]["name"]
    rules = adapter_rules()
    assert name in rules, f"prometheus-adapter serves no {name!r} (addons/values/prometheus-adapter.yaml)"
    rule = rules[name]
    series = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)", rule["seriesQuery"])
    assert series, rule["seriesQuery"]
    assert series.group(1) in exported_by_nexus_api(), f"nexus-api exports no {series.group(1)}"
    # per pod: the series must carry the pod and namespace labels that the HPA's selector resolves to
    assert rule["resources"]["overrides"] == {
        "namespace": {"resource": "namespace"},
        "pod": {"resource": "pod"},
    }
    assert re.fullmatch(rule["name"]["matches"], series.group(1))
    assert "<<.Series>>" in rule["metricsQuery"] and "<<.GroupBy>>" in rule["metricsQuery"]


def test_the_adapter_does_not_take_over_resource_metrics() -> None:
    """Two APIServices for metrics.k8s.io replace each other: resource metrics stay with metrics-server."""
    assert not ADAPTER_VALUES["rules"].get("resource")


def test_a_metric_nobody_serves_is_caught() -> None:
    """The check itself fails on an HPA metric the adapter does not serve (e.g. a renamed metricName)."""
    unserved = {"type": "Pods", "pods": {"metric": {"name": "nexus_api_requests_per_fortnight"}}}
    with pytest.raises(AssertionError, match="serves no 'nexus_api_requests_per_fortnight'"):
        test_custom_metrics_are_served_by_the_adapter(unserved)
