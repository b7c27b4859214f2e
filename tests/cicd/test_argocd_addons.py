"""Cluster add-ons: each pinned exactly as cicd/argocd/versions.yaml says, every component at or above the
platform's minimum (Istio 1.18, Prometheus 2.45, Grafana 9.5, Elasticsearch/Kibana 8.8), and every version the
repository pins itself (image tags, ECK spec.version) equal to the table."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from packaging.version import Version
from tests.cicd.helpers import ARGOCD, GIT_REPO_URL, REPO, generate, load_docs, sources
from tests.support import tfvars

LOCAL_CHARTS = "cicd/argocd/addons/charts/"
# Configuration an add-on deploys from this repository beside its chart (Fluentd's pipeline: logging/fluentd).
CONFIG_SOURCES = ("logging/", "monitoring/deploy")
TABLE = yaml.safe_load((ARGOCD / "versions.yaml").read_text())
ADDON_FILES = {p.stem: p for p in sorted((ARGOCD / "addons").glob("*.yaml"))}
MINIMUMS = {name: Version(v) for name, v in TABLE["minimums"].items()}


def version(text: str) -> Version:
    """A component version from an image tag or version string: v2.14.0, v1.16.2-debian-elasticsearch8-1.0."""
    match = re.match(r"^v?(\d+\.\d+\.\d+)", str(text))
    assert match, f"not a version: {text!r}"
    return Version(match.group(1))


def appset(addon: str) -> dict[str, Any]:
    (doc,) = load_docs(ADDON_FILES[addon])
    assert doc["kind"] == "ApplicationSet"
    assert doc["metadata"]["name"] == f"addon-{addon}"
    return doc


def dig(doc: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        doc = doc[key]
    return doc


def test_table_and_addon_files_match_one_to_one() -> None:
    assert set(TABLE["addons"]) == set(ADDON_FILES)


def test_the_required_addons_are_there() -> None:
    charts = {entry.get("chart") for entry in TABLE["addons"].values()}
    assert {
        "base",
        "istiod",
        "gateway",
        "kube-prometheus-stack",
        "fluentd",
        "eck-operator",
        "external-secrets",
        "aws-load-balancer-controller",
        "cluster-autoscaler",
    } <= charts
    assert set(MINIMUMS) == {"istio", "prometheus", "grafana", "elasticsearch", "kibana"}


@pytest.mark.parametrize("addon", sorted(TABLE["addons"]))
def test_addon_pins_exactly_the_table_version(addon: str) -> None:
    """The add-on's main source: its chart at the table's version, or the table's path in this repository.

    Besides it an Application may have the values ref and sources from this repository's local charts
    (addons/charts/, e.g. the ingress gateway's TargetGroupBinding), which are not versioned separately.
    """
    entry = TABLE["addons"][addon]
    for app in generate(appset(addon)):
        charts = [s for s in sources(app) if "chart" in s]
        paths = [s for s in sources(app) if "path" in s]
        local = [s for s in paths if s["path"].startswith((LOCAL_CHARTS, *CONFIG_SOURCES))]
        assert len(charts) + len(paths) - len(local) == 1, "exactly one main source"
        if "chart" in entry:
            (main,) = charts
            assert main["repoURL"] == entry["repoURL"]
            assert main["chart"] == entry["chart"]
            assert main["targetRevision"] == entry["version"]
            assert re.fullmatch(r"\d+\.\d+\.\d+", main["targetRevision"])
        else:
            (main,) = [s for s in paths if s not in local]
            assert main["path"] == entry["path"]
            assert (REPO / entry["path"]).is_dir()
        for source in local:
            assert source["repoURL"] == GIT_REPO_URL
            kind = "kustomization.yaml" if source["path"].startswith(CONFIG_SOURCES) else "Chart.yaml"
            assert (REPO / source["path"] / kind).is_file(), source["path"]


@pytest.mark.parametrize("component", sorted(TABLE["minimums"]))
def test_every_component_meets_the_minimum(component: str) -> None:
    shipped = [
        (addon, version(entry["ships"][component]))
        for addon, entry in TABLE["addons"].items()
        if component in entry["ships"]
    ]
    assert shipped, f"no add-on ships {component}"
    for addon, found in shipped:
        assert found >= MINIMUMS[component], f"{addon} ships {component} {found} < {MINIMUMS[component]}"


def test_istio_charts_are_one_release() -> None:
    istio = {addon: e["version"] for addon, e in TABLE["addons"].items() if "istio" in e["ships"]}
    assert set(istio) == {"istio-base", "istio-cni", "istiod", "istio-ingressgateway"}
    assert len(set(istio.values())) == 1
    assert all(e["ships"]["istio"] == e["version"] for e in TABLE["addons"].values() if "istio" in e["ships"])


def pinned() -> list[tuple[str, str, dict[str, str]]]:
    return [
        (addon, component, where)
        for addon, entry in TABLE["addons"].items()
        for component, where in entry.get("pinned", {}).items()
    ]


@pytest.mark.parametrize(("addon", "component", "where"), pinned(), ids=[f"{a}:{c}" for a, c, _ in pinned()])
def test_versions_pinned_in_the_repository_equal_the_table(
    addon: str, component: str, where: dict[str, str]
) -> None:
    (doc,) = load_docs(ARGOCD / where["file"])
    assert version(dig(doc, where["path"])) == version(TABLE["addons"][addon]["ships"][component])


def test_minimum_components_are_pinned_by_the_repository() -> None:
    """Prometheus, Grafana, Elasticsearch and Kibana run the versions written here, not a chart default."""
    pinned_components = {component for _, component, _ in pinned()}
    assert {"prometheus", "grafana", "elasticsearch", "kibana"} <= pinned_components


def test_values_files_referenced_by_addons_exist() -> None:
    for addon in TABLE["addons"]:
        for app in generate(appset(addon)):
            for source in sources(app):
                for values in source.get("helm", {}).get("valueFiles", []):
                    assert values.startswith("$values/")
                    assert (REPO / values.removeprefix("$values/")).is_file(), values
                    assert any(s.get("ref") == "values" for s in sources(app))


def test_cluster_autoscaler_matches_the_clusters_kubernetes_minor() -> None:
    kubernetes = tfvars("production")["kubernetes_version"]
    ca = version(TABLE["addons"]["cluster-autoscaler"]["ships"]["cluster-autoscaler"])
    assert f"{ca.major}.{ca.minor}" == kubernetes


def minor(text: str) -> tuple[int, int]:
    major, minor_ = str(text).split(".")
    return int(major), int(minor_)


def test_every_addon_states_its_kubernetes_range_and_its_source() -> None:
    for addon, entry in TABLE["addons"].items():
        supported = entry.get("kubernetes")
        assert supported is not None, f"{addon} has no kubernetes range"
        assert set(supported) == {"min", "max", "source"}, addon
        assert str(supported["source"]).strip(), f"{addon}: the range needs its source"
        bounds = [minor(b) for b in (supported["min"], supported["max"]) if b is not None]
        assert bounds == sorted(bounds), f"{addon}: min above max"


def outside(cluster: str) -> list[str]:
    """The add-ons whose supported Kubernetes range does not include `cluster` (MAJOR.MINOR)."""
    found = []
    for addon, entry in TABLE["addons"].items():
        low, high = entry["kubernetes"]["min"], entry["kubernetes"]["max"]
        if (low is not None and minor(cluster) < minor(low)) or (
            high is not None and minor(cluster) > minor(high)
        ):
            found.append(addon)
    return found


@pytest.mark.parametrize("environment", ["production", "sandbox"])
def test_the_clusters_kubernetes_version_is_within_every_addons_range(environment: str) -> None:
    cluster = tfvars(environment)["kubernetes_version"]
    assert outside(cluster) == [], f"Kubernetes {cluster} ({environment}.tfvars) is outside their ranges"


def test_a_version_outside_an_addons_range_is_caught() -> None:
    """The check itself: the EKS versions before and after the pinned set's common range are refused."""
    assert "istiod" in outside("1.31") and "cluster-autoscaler" in outside("1.34")
    assert "external-secrets" in outside("1.36") and "cluster-autoscaler" in outside("1.36")


def test_elastic_stack_resources_share_one_version_and_connect() -> None:
    docs = {
        d["kind"]: d
        for p in sorted((ARGOCD / "addons" / "elastic-stack").glob("*.yaml"))
        for d in load_docs(p)
    }
    # the stack, Fluentd's user (tests/cicd/test_fluentd_deploy.py) and Grafana's, with who may copy it
    # (tests/monitoring/test_deploy.py)
    assert set(docs) == {
        "Elasticsearch",
        "Kibana",
        "Password",
        "ExternalSecret",
        "Secret",
        "Role",
        "RoleBinding",
    }
    assert docs["Kibana"]["spec"]["version"] == docs["Elasticsearch"]["spec"]["version"]
    assert docs["Kibana"]["spec"]["elasticsearchRef"]["name"] == docs["Elasticsearch"]["metadata"]["name"]
    fluentd = load_docs(ARGOCD / "addons" / "values" / "fluentd.yaml")[0]
    hosts = next(e["value"] for e in fluentd["env"] if e["name"] == "FLUENT_ELASTICSEARCH_HOSTS")
    es = docs["Elasticsearch"]["metadata"]
    assert hosts == f"https://{es['name']}-es-http.{es['namespace']}.svc:9200"


def test_replicated_controllers_elect_a_leader() -> None:
    """Issue 11 item 7: a controller run as several replicas must elect a leader (external-secrets chart
    2.4.1's top-level `leaderElect`; its default is false), or every replica reconciles everything."""
    values = yaml.safe_load((ARGOCD / "addons" / "values" / "external-secrets.yaml").read_text())
    assert values["replicaCount"] > 1
    assert values["leaderElect"] is True
