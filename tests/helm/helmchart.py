"""Rendering of helm/nexus with the Helm engine (helm-python-sdk embeds Helm's Go SDK; no helm binary).

Each (values file, Kubernetes version) combination is rendered once per session and shared by every test.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml
from helm_python import _native
from tests.support import tfvars

ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = ROOT / "helm" / "nexus"
RELEASE = "nexus"
NAMESPACE = "nexus"

# The chart's oldest supported release, one in between, and the version the platform's clusters run
# (terraform/aws/production.tfvars), so the chart is validated against the API the clusters serve.
KUBE_VERSIONS = ("1.27", "1.31", str(tfvars("production")["kubernetes_version"]))
VALUES_FILES = ("values.yaml", "values-primary.yaml", "values-dr.yaml")


def component_of(doc: dict[str, Any]) -> str | None:
    labels = doc.get("metadata", {}).get("labels") or {}
    return labels.get("app.kubernetes.io/component")


@dataclass(frozen=True)
class Rendered:
    values_file: str
    kube_version: str
    templates: dict[str, str]  # template path -> rendered text (NOTES.txt included)
    docs: list[dict[str, Any]] = field(default_factory=list)  # every manifest, NOTES excluded, hooks included

    @property
    def notes(self) -> str:
        return next(text for path, text in self.templates.items() if path.endswith("/NOTES.txt"))

    def kinds(self) -> list[str]:
        return [d["kind"] for d in self.docs]

    def all_of(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.docs if d["kind"] == kind]

    def one(self, kind: str, component: str | None = None) -> dict[str, Any]:
        found = [d for d in self.all_of(kind) if component is None or component_of(d) == component]
        assert len(found) == 1, f"expected one {kind} (component {component}), found {len(found)}"
        return found[0]

    def maybe(self, kind: str) -> dict[str, Any] | None:
        found = self.all_of(kind)
        assert len(found) <= 1, f"more than one {kind}"
        return found[0] if found else None


@functools.cache
def load_chart(chart_dir: Path) -> helm.Chart:
    return helm.Chart.load(chart_dir)


def chart() -> helm.Chart:
    return load_chart(CHART_DIR)


def load_values_file(name: str) -> dict[str, Any]:
    """The overrides in a values file ({} for values.yaml: the engine applies the chart's own anyway)."""
    if name == "values.yaml":
        return {}
    data = yaml.safe_load((CHART_DIR / name).read_text())
    assert isinstance(data, dict)
    return data


def render_values(
    values: dict[str, Any],
    kube_version: str = "1.29",
    *,
    chart_dir: Path = CHART_DIR,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
) -> Rendered:
    """Render like `helm template --kube-version` (native call: Chart.render() cannot set the version).

    helm/nexus unless chart_dir names another chart (with its release and namespace). Raises
    helm_python.HelmValuesError when the values break values.schema.json.
    """
    opts = {"name": release, "namespace": namespace, "is_install": True, "kube_version": f"v{kube_version}.0"}
    raw = _native.call_string(
        "helm_render", load_chart(chart_dir)._raw(), json.dumps(values), json.dumps(opts)
    )
    templates: dict[str, str] = json.loads(raw)
    docs: list[dict[str, Any]] = []
    for path, text in sorted(templates.items()):
        if path.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                assert isinstance(doc, dict), f"{path}: a manifest is not a mapping"
                docs.append(doc)
    return Rendered("<values>", kube_version, templates, docs)


@functools.cache
def render_file(values_file: str, kube_version: str) -> Rendered:
    r = render_values(load_values_file(values_file), kube_version)
    return Rendered(values_file, kube_version, r.templates, r.docs)
