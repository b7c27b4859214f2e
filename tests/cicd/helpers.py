"""Shared helpers of the delivery-pipeline tests: repository paths, YAML loading, the pipeline's make targets,
and an emulation of the ApplicationSet list generator (goTemplate with plain ``{{.key}}`` references)."""

from __future__ import annotations

import copy
import importlib.util
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

_REF = re.compile(r"\{\{\s*\.([A-Za-z0-9_]+)\s*\}\}")


def render(node: Any, params: dict[str, Any]) -> Any:
    """Substitute ``{{.key}}`` in strings (goTemplate, missingkey=error); other template syntax is refused."""
    if isinstance(node, dict):
        return {render(k, params): render(v, params) for k, v in node.items()}
    if isinstance(node, list):
        return [render(item, params) for item in node]
    if not isinstance(node, str):
        return node

    def sub(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in params:
            raise KeyError(f"template refers to .{key}, which the generator does not provide")
        return str(params[key])

    out = _REF.sub(sub, node)
    assert "{{" not in out, f"unsupported template syntax left in {node!r}"
    return out


def generate(appset: dict[str, Any]) -> list[dict[str, Any]]:
    """The Applications an ApplicationSet with list generators yields."""
    spec = appset["spec"]
    assert spec.get("goTemplate") is True
    assert "missingkey=error" in spec.get("goTemplateOptions", [])
    apps = []
    for generator in spec["generators"]:
        assert set(generator) == {"list"}, "only list generators are used here"
        for element in generator["list"]["elements"]:
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
