"""Helpers shared by the observability tests: paths, the PromQL expressions of rules and dashboards, the
metric names they reference, and runners for promtool/amtool."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from tests.cicd.helpers import GIT_REPO_URL

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "monitoring"
RULES_DIR = MONITORING / "rules"
RULE_TESTS_DIR = MONITORING / "tests"
DASHBOARDS_DIR = MONITORING / "dashboards"
RUNBOOKS_DIR = ROOT / "docs" / "runbooks"
# The project's own Git host (the repository Argo CD deploys from), not a public code host.
RUNBOOK_URL_PREFIX = GIT_REPO_URL.removesuffix(".git") + "/-/blob/main/docs/runbooks/"
NEXUS_API_README = ROOT / "services" / "nexus-api" / "README.md"

# Grafana's variables, replaced by values that make the expression valid PromQL for the parse check.
GRAFANA_VARIABLES = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1h",
    "${region}": ".*",
    "$region": ".*",
}

_KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "offset",
    "bool",
    "and",
    "or",
    "unless",
    "inf",
    "nan",
    "atan2",
}


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def rule_files() -> list[Path]:
    return sorted(RULES_DIR.glob("*.yaml"))


def rule_test_files() -> list[Path]:
    return sorted(RULE_TESTS_DIR.glob("*.yaml"))


def rules() -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every rule (alerting and recording) with the file it is in."""
    for path in rule_files():
        for group in load_yaml(path)["groups"]:
            for rule in group["rules"]:
                yield path, rule


def alerts() -> list[dict[str, Any]]:
    return [rule for _, rule in rules() if "alert" in rule]


def recording_rules() -> list[dict[str, Any]]:
    return [rule for _, rule in rules() if "record" in rule]


def dashboards() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS_DIR.glob("*.json"))}


def dashboard_panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


def dashboard_exprs() -> Iterator[tuple[str, str, str]]:
    """(dashboard, panel title, PromQL with Grafana's variables substituted) of every Prometheus target."""
    for name, board in dashboards().items():
        for panel in dashboard_panels(board):
            for target in panel.get("targets", []):
                if "expr" in target:
                    yield name, panel["title"], substitute_grafana_variables(target["expr"])
        for variable in board["templating"]["list"]:
            if variable["type"] == "query":
                yield name, f"variable {variable['name']}", variable["definition"]


def substitute_grafana_variables(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects (a small lexer, enough for the expressions of this repository:
    strings, label matchers, ranges and grouping clauses are removed, then every identifier that is not a
    function call or keyword is a metric name)."""
    if expr.startswith("label_values("):  # Grafana variable query: label_values(<selector>, <label>)
        expr = expr[len("label_values(") :].rsplit(",", 1)[0]
    text = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`', '""', expr)
    text = re.sub(r"\{[^}]*\}", "{}", text)
    text = re.sub(r"\[[^\]]*\]", "[]", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])", text):
        name = match.group(1)
        if name in _KEYWORDS or text[match.end() :].lstrip().startswith("("):
            continue
        names.add(name)
    return names


def nexus_api_metrics() -> set[str]:
    """The metric names of the service's README table (its contract), with a histogram's series names."""
    names: set[str] = set()
    for line in NEXUS_API_README.read_text().splitlines():
        match = re.match(r"^\| `(nexus_api_[a-z_]+)` \| (counter|gauge|histogram|gauge \(1\)) \|", line)
        if not match:
            continue
        name, kind = match.groups()
        names.add(name)
        if kind == "histogram":
            names.update(f"{name}_{suffix}" for suffix in ("bucket", "sum", "count"))
    return names


def exporter_metrics() -> dict[str, str]:
    """Metric name -> exporter, from monitoring/exporter_metrics.yaml."""
    doc = load_yaml(MONITORING / "exporter_metrics.yaml")
    out: dict[str, str] = {}
    for exporter, spec in doc["exporters"].items():
        for name in spec["metrics"]:
            out[name] = exporter
    return out


def run(
    *args: str, cwd: Path | None = None, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )
