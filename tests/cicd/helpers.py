"""Shared helpers of the delivery-pipeline tests: repository paths, YAML loading, the pipeline's make targets,
and an emulation of the ApplicationSet list and cluster generators (goTemplate with ``{{.key.path}}`` and
``{{index .map "key"}}`` references)."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from nexus_platform import model

REPO = Path(__file__).resolve().parents[2]
CICD = REPO / "cicd"
ARGOCD = CICD / "argocd"
PIPELINE_MK = CICD / "pipeline.mk"
JENKINSFILE = CICD / "Jenkinsfile"
PYTHON = Path(sys.executable)

GIT_REPO_URL = "https://git.nexus-platform.example.com/platform/nexus-platform.git"

PRODUCTION = model.environment("production")
# Per region role, the EKS cluster Argo CD deploys to and its AWS region, from production.tfvars: Terraform
# names each region's cluster "<name prefix>-<role>" (terraform/aws/networking.tf, local.regions[*].name).
CLUSTERS = {
    region.role: {"cluster": f"{PRODUCTION.name_prefix}-{region.role}", "region": region.name}
    for region in PRODUCTION.regions
}


def load_docs(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


LOCAL_CHARTS = ARGOCD / "addons" / "charts"


def argocd_resources() -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every Argo CD resource in cicd/argocd (values files, ECK resources, versions.yaml and the local Helm
    charts under addons/charts, whose templates are not YAML, are not)."""
    for path in sorted(ARGOCD.rglob("*.yaml")):
        if path.is_relative_to(LOCAL_CHARTS):
            continue
        for doc in load_docs(path):
            if str(doc.get("apiVersion", "")).startswith("argoproj.io/"):
                yield path, doc


def load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# --- make ---------------------------------------------------------------------------------------------------


def make_targets() -> set[str]:
    """Targets defined in cicd/pipeline.mk (rule lines ``name: ...``, not variable assignments)."""
    targets = set()
    for line in PIPELINE_MK.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", line)
        if match and not line.startswith((".PHONY", "\t")):
            targets.add(match.group(1))
    return targets


def make_default(variable: str) -> str:
    match = re.search(rf"^{re.escape(variable)}\s*\?=\s*(.*)$", PIPELINE_MK.read_text(), re.MULTILINE)
    assert match, f"{variable} has no default in cicd/pipeline.mk"
    return match.group(1).strip()


def run_make(
    *args: str, cwd: Path = REPO, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``make -f cicd/pipeline.mk ARGS`` with the test's interpreter as the pipeline's Python."""
    full_env = {**os.environ, **(env or {})}
    cmd = ["make", "--no-print-directory", "-f", str(PIPELINE_MK), f"CI_PYTHON={PYTHON}", *args]
    return subprocess.run(
        cmd, check=False, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout
    )


# --- ApplicationSet -----------------------------------------------------------------------------------------

_REF = re.compile(r'\{\{\s*(?:\.([A-Za-z0-9_.]+)|index\s+\.([A-Za-z0-9_.]+)\s+"([^"]+)")\s*\}\}')


def _lookup(params: dict[str, Any], path: str) -> Any:
    node: Any = params
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(f"template refers to .{path}, which the generator does not provide")
        node = node[part]
    return node


def render(node: Any, params: dict[str, Any]) -> Any:
    """Substitute ``{{.key}}`` / ``{{.a.b}}`` (missingkey=error) and ``{{index .a.b "key"}}`` in strings (Go's
    index of a map: the zero value, "", for a missing key); other template syntax is refused."""
    if isinstance(node, dict):
        return {render(k, params): render(v, params) for k, v in node.items()}
    if isinstance(node, list):
        return [render(item, params) for item in node]
    if not isinstance(node, str):
        return node

    def sub(match: re.Match[str]) -> str:
        path, mapping, key = match.groups()
        if path:
            return str(_lookup(params, path))
        found = _lookup(params, mapping)
        assert isinstance(found, dict), f"index of .{mapping}, which is not a map"
        return str(found.get(key, ""))

    out = _REF.sub(sub, node)
    assert "{{" not in out, f"unsupported template syntax left in {node!r}"
    return out


# What Terraform registers for each cluster (terraform/aws/outputs.tf, argocd_cluster_secrets; its shape is
# asserted by terraform test, and the real apply's by tests/integration/test_sandbox_up.py): the Secret the
# cluster generator reads, with the region facts as labels and the ALB target group's ARN as an annotation.
TARGET_GROUP_ANNOTATION = "nexus-platform/target-group-arn"


def cluster_secret(role: str, cluster: str, region: str, target_group_arn: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": f"cluster-{cluster}",
            "namespace": "argocd",
            "labels": {
                "argocd.argoproj.io/secret-type": "cluster",
                "nexus-platform/region": region,
                "nexus-platform/region-role": role,
            },
            "annotations": {TARGET_GROUP_ANNOTATION: target_group_arn},
        },
        "stringData": {
            "name": cluster,
            "server": f"https://{role}.eks.{region}.example",
            "config": json.dumps(
                {"awsAuthConfig": {"clusterName": cluster}, "tlsClientConfig": {"caData": "LS0t"}}
            ),
        },
    }


CLUSTER_SECRETS = [
    cluster_secret(
        role,
        c["cluster"],
        c["region"],
        f"arn:aws:elasticloadbalancing:{c['region']}:123456789012:targetgroup/{c['cluster']}-app/"
        f"{index + 1:016x}",
    )
    for index, (role, c) in enumerate(CLUSTERS.items())
]


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    return selected_by({"matchExpressions": selector.get("matchExpressions", [])}, labels)


def cluster_params(secret: dict[str, Any]) -> dict[str, Any]:
    """The cluster generator's parameters for one cluster Secret (Argo CD docs, "Cluster Generator")."""
    data, metadata = secret["stringData"], secret["metadata"]
    return {
        "name": data["name"],
        "nameNormalized": re.sub(r"[^a-z0-9.-]", "-", data["name"].lower()),
        "server": data["server"],
        "project": data.get("project", ""),
        "metadata": {"labels": metadata.get("labels", {}), "annotations": metadata.get("annotations", {})},
    }


def generate(appset: dict[str, Any], clusters: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The Applications an ApplicationSet with list or cluster generators yields (the cluster generator reads
    `clusters`, the registered cluster Secrets: CLUSTER_SECRETS unless given)."""
    spec = appset["spec"]
    assert spec.get("goTemplate") is True
    assert "missingkey=error" in spec.get("goTemplateOptions", [])
    apps = []
    for generator in spec["generators"]:
        (kind,) = generator
        if kind == "list":
            elements = generator["list"]["elements"]
        else:
            assert kind == "clusters", "only list and cluster generators are used here"
            assert "values" not in generator["clusters"], "not emulated"
            selector = generator["clusters"].get("selector", {})
            registered = CLUSTER_SECRETS if clusters is None else clusters
            secrets = [s for s in registered if s["metadata"]["labels"].get("argocd.argoproj.io/secret-type")]
            elements = [cluster_params(s) for s in secrets if _selects(selector, s["metadata"]["labels"])]
        for element in elements:
            template = copy.deepcopy(spec["template"])
            rendered = render(template, element)
            metadata = {**rendered["metadata"], "namespace": appset["metadata"]["namespace"]}
            apps.append(
                {
                    "apiVersion": "argoproj.io/v1alpha1",
                    "kind": "Application",
                    "metadata": metadata,
                    "spec": rendered["spec"],
                }
            )
    return apps


def sources(app: dict[str, Any]) -> list[dict[str, Any]]:
    spec = app["spec"]
    return list(spec["sources"]) if "sources" in spec else [spec["source"]]


def selected_by(step: dict[str, Any], labels: dict[str, str]) -> bool:
    """A RollingSync step's matchExpressions (AND of In/NotIn) against an Application's labels."""
    for expr in step["matchExpressions"]:
        value = labels.get(expr["key"])
        if expr["operator"] == "In" and value not in expr["values"]:
            return False
        if expr["operator"] == "NotIn" and value in expr["values"]:
            return False
    return True
