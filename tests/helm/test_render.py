"""helm/nexus renders (Helm engine) for every values file and Kubernetes version; lint; schema; yamllint."""

from __future__ import annotations

import json

import helm_python as helm
import pytest
import yaml
from tests.helm.helmchart import (
    CHART_DIR,
    KUBE_VERSIONS,
    NAMESPACE,
    RELEASE,
    VALUES_FILES,
    Rendered,
    chart,
    load_values_file,
    render_values,
)
from yamllint import linter
from yamllint.config import YamlLintConfig

EXPECTED_KINDS = {
    "Namespace",
    "ServiceAccount",
    "Service",
    "Deployment",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "NetworkPolicy",
    "SecretStore",
    "ExternalSecret",
    "Gateway",
    "VirtualService",
    "DestinationRule",
    "PeerAuthentication",
    "AuthorizationPolicy",
    "ServiceMonitor",
    "PrometheusRule",
    "Pod",  # the helm test hook
}


def test_renders_every_resource(rendered: Rendered) -> None:
    assert set(rendered.kinds()) == EXPECTED_KINDS
    names = [(d["kind"], d["metadata"]["name"]) for d in rendered.docs]
    assert len(names) == len(set(names)), f"duplicate resources: {names}"


def test_every_namespaced_resource_is_in_the_release_namespace(rendered: Rendered) -> None:
    for doc in rendered.docs:
        if doc["kind"] == "Namespace":
            assert doc["metadata"]["name"] == NAMESPACE
            assert "namespace" not in doc["metadata"]
        else:
            assert doc["metadata"].get("namespace") == NAMESPACE, f"{doc['kind']} outside the namespace"


def test_app_kubernetes_io_labels_everywhere(rendered: Rendered) -> None:
    for doc in rendered.docs:
        labels = doc["metadata"]["labels"]
        for key in ("name", "instance", "version", "managed-by", "part-of"):
            assert labels.get(f"app.kubernetes.io/{key}"), f"{doc['kind']} lacks app.kubernetes.io/{key}"
        assert labels["app.kubernetes.io/instance"] == RELEASE
        assert labels["helm.sh/chart"] == "nexus-0.1.0"


def test_notes_name_the_release_and_region(rendered: Rendered) -> None:
    values = load_values_file(rendered.values_file) or chart().values
    assert f"release {RELEASE} in namespace {NAMESPACE}" in rendered.notes
    assert f"Region {values['region']}, role {values['role']}" in rendered.notes
    assert f"helm test {RELEASE} -n {NAMESPACE}" in rendered.notes


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("values_file", VALUES_FILES)
def test_lint_passes(values_file: str, kube_version: str) -> None:
    report = helm.lint(
        CHART_DIR,
        load_values_file(values_file),
        strict=True,
        namespace=NAMESPACE,
        kube_version=f"v{kube_version}.0",
    )
    assert report["total_charts_linted"] == 1
    assert report["errors"] == []
    problems = [m for m in report["messages"] if m["severity"] >= 2]  # 2 = warning, 3 = error
    assert problems == []


def test_install_dry_run_matches_template_render() -> None:
    """`helm install --dry-run=client` (Helm's install order, hooks apart) yields the same resources."""
    values = load_values_file("values-primary.yaml")
    # In-memory release storage and an API server nobody listens on: nothing leaves the process.
    offline = {"storage_driver": "memory", "kube_apiserver": "https://127.0.0.1:9"}
    with helm.Config(namespace=NAMESPACE, **offline) as cfg:
        release = cfg.install(CHART_DIR, RELEASE, values, namespace=NAMESPACE, dry_run="client")
    installed = [d for d in yaml.safe_load_all(release["manifest"]) if d]
    kinds = [d["kind"] for d in installed]
    # Helm's install order: the namespace and the policies first, workloads after their service account.
    assert kinds[0] == "Namespace"
    assert kinds.index("ServiceAccount") < kinds.index("Deployment")
    rendered = render_values(values)
    not_hooks = [d for d in rendered.docs if "helm.sh/hook" not in d["metadata"].get("annotations", {})]
    key = lambda d: (d["kind"], d["metadata"]["name"])  # noqa: E731
    assert sorted(map(key, installed)) == sorted(map(key, not_hooks))
    assert "role primary" in release["notes"]


# --- values.schema.json: one test per class of bad value ---------------------------------------------------


def test_schema_accepts_every_values_file() -> None:
    for name in VALUES_FILES:
        chart().validate_schema(load_values_file(name))


def test_schema_allows_global() -> None:
    chart().validate_schema({"global": {"imageRegistry": "example"}})
    assert render_values({"global": {"anything": True}}).one("Deployment")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        pytest.param({"replicaCount": "3"}, "/replicaCount", id="wrong-type-string-for-int"),
        pytest.param({"autoscaling": {"enabled": "yes"}}, "/autoscaling/enabled", id="wrong-type-bool"),
        pytest.param({"networkPolicy": {"egress": {"dns": {"podLabels": []}}}}, "/networkPolicy", id="map"),
    ],
)
def test_schema_rejects_wrong_type(values: dict[str, object], message: str) -> None:
    with pytest.raises(helm.HelmValuesError, match=message):
        chart().validate_schema(values)
    with pytest.raises(helm.HelmValuesError):  # and the engine refuses to render them
        render_values(values)


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({"replicaCount": -1}, id="replicaCount"),
        pytest.param({"autoscaling": {"minReplicas": -2}}, id="minReplicas"),
        pytest.param({"autoscaling": {"maxReplicas": 0}}, id="maxReplicas-zero"),
    ],
)
def test_schema_rejects_negative_replicas(values: dict[str, object]) -> None:
    with pytest.raises(helm.HelmValuesError, match="minimum"):
        chart().validate_schema(values)
    with pytest.raises(helm.HelmValuesError):
        render_values(values)


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({"replicas": 3}, id="top-level-typo"),
        pytest.param({"image": {"repository": "r", "pullPolicy": "Always", "tags": "x"}}, id="nested-typo"),
        pytest.param({"istio": {"virtualService": {"retries": {"attempt": 3}}}}, id="deep-typo"),
    ],
)
def test_schema_rejects_unknown_key(values: dict[str, object]) -> None:
    with pytest.raises(helm.HelmValuesError, match="additional properties"):
        chart().validate_schema(values)
    with pytest.raises(helm.HelmValuesError):
        render_values(values)


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({"role": "leader"}, id="role-enum"),
        pytest.param({"region": "US East"}, id="region-pattern"),
        pytest.param({"image": {"repository": "r", "pullPolicy": "Always", "digest": "sha1:a"}}, id="digest"),
        pytest.param({"networkPolicy": {"egress": {"database": {"port": 5432, "cidrs": []}}}}, id="no-cidrs"),
        pytest.param({"networkPolicy": {"egress": {"cache": {"port": 6379, "cidrs": ["10.0"]}}}}, id="cidr"),
    ],
)
def test_schema_rejects_bad_values(values: dict[str, object]) -> None:
    with pytest.raises(helm.HelmValuesError):
        chart().validate_schema(values)


def _schema_keys(schema: dict[str, object], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    props = schema.get("properties")
    if isinstance(props, dict):
        for name, sub in props.items():
            keys.add(prefix + name)
            if isinstance(sub, dict):
                keys |= _schema_keys(sub, f"{prefix}{name}.")
    return keys


def _value_keys(values: object, prefix: str = "") -> set[str]:
    keys: set[str] = set()
    if isinstance(values, dict):
        for name, sub in values.items():
            keys.add(prefix + name)
            keys |= _value_keys(sub, f"{prefix}{name}.")
    return keys


def test_schema_describes_every_value_and_closes_every_object() -> None:
    schema = json.loads((CHART_DIR / "values.schema.json").read_text())
    described = _schema_keys(schema)
    free_form = ("global", "podAnnotations", "podLabels", "nodeSelector", "affinity", "namespace.labels")
    free_form += ("serviceAccount.annotations", "metrics.prometheusRule.additionalLabels")
    for name in VALUES_FILES:
        values = yaml.safe_load((CHART_DIR / name).read_text())
        undescribed = {k for k in _value_keys(values) if k not in described and not k.startswith(free_form)}
        undescribed = {k for k in undescribed if ".podLabels." not in k and ".selector." not in k}
        assert undescribed == set(), f"{name}: values without a schema entry"

    def closed(node: object, path: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                assert node.get("additionalProperties") is False, f"{path} accepts unknown keys"
            for key, sub in node.items():
                closed(sub, f"{path}/{key}")

    closed(schema, "")


# --- yamllint on the values files (templates are Go templates, not YAML) ---------------------------------

YAMLLINT = YamlLintConfig(
    """
extends: default
rules:
  line-length: {max: 120}
  document-start: disable
  truthy: {check-keys: false}
  comments: {min-spaces-from-content: 1}
"""
)


@pytest.mark.parametrize("name", [*VALUES_FILES, "Chart.yaml"])
def test_yamllint_clean(name: str) -> None:
    path = CHART_DIR / name
    problems = list(linter.run(path.read_text(), YAMLLINT, str(path)))
    assert problems == [], "\n".join(f"{name}:{p.line}:{p.column} {p.rule} {p.message}" for p in problems)
