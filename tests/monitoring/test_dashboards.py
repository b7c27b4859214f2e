"""Grafana: the provisioning file and the generated dashboards (every PromQL expression parses with promtool
and uses only known metrics: see test_metrics.py)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import pytest
import yaml
from tests.monitoring import obslib

GENERATOR = obslib.DASHBOARDS_DIR / "generate.py"
GRAFANA = obslib.MONITORING / "grafana.yaml"
REQUIRED = {
    "platform-overview.json": "nexus-platform-overview",
    "nexus-api-golden-signals.json": "nexus-api-golden-signals",
    "data-stores.json": "nexus-data-stores",
    "dr-readiness.json": "nexus-dr-readiness",
    "kubernetes-capacity.json": "nexus-kubernetes-capacity",
}

_DATASOURCE = {
    "type": "object",
    "required": ["name", "uid", "type", "access", "url"],
    "properties": {
        "name": {"type": "string"},
        "uid": {"type": "string", "pattern": "^[a-zA-Z0-9_-]{1,40}$"},
        "type": {"enum": ["prometheus", "elasticsearch"]},
        "access": {"enum": ["proxy"]},
        "orgId": {"type": "integer"},
        "url": {"type": "string", "minLength": 1},
        "isDefault": {"type": "boolean"},
        "editable": {"type": "boolean"},
        "basicAuth": {"type": "boolean"},
        "basicAuthUser": {"type": "string"},
        "jsonData": {"type": "object"},
        "secureJsonData": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "additionalProperties": False,
}
# Grafana's provisioning format (grafana.com/docs/grafana/latest/administration/provisioning): apiVersion 1,
# datasources / deleteDatasources, and dashboard providers.
GRAFANA_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "datasources", "providers"],
    "properties": {
        "apiVersion": {"const": 1},
        "deleteDatasources": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "orgId"],
                "additionalProperties": False,
                "properties": {"name": {"type": "string"}, "orgId": {"type": "integer"}},
            },
        },
        "datasources": {"type": "array", "items": _DATASOURCE, "minItems": 1},
        "providers": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name", "type", "options"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string"},
                    "orgId": {"type": "integer"},
                    "folder": {"type": "string"},
                    "folderUid": {"type": "string"},
                    "type": {"const": "file"},
                    "disableDeletion": {"type": "boolean"},
                    "allowUiUpdates": {"type": "boolean"},
                    "updateIntervalSeconds": {"type": "integer", "minimum": 10},
                    "options": {
                        "type": "object",
                        "required": ["path"],
                        "additionalProperties": False,
                        "properties": {
                            "path": {"type": "string"},
                            "foldersFromFilesStructure": {"type": "boolean"},
                        },
                    },
                },
            },
        },
    },
    "additionalProperties": False,
}


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("nexus_dashboards_generate", GENERATOR)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their annotations through it
    spec.loader.exec_module(module)
    return module


def _grafana() -> dict[str, Any]:
    return obslib.load_yaml(GRAFANA)


def test_committed_dashboards_equal_the_generator_output() -> None:
    rendered = _generator().render_all()
    committed = {path.name: path.read_text() for path in obslib.DASHBOARDS_DIR.glob("*.json")}
    assert set(rendered) == set(committed)
    stale = [name for name in rendered if rendered[name] != committed[name]]
    assert not stale, f"run: .venv/bin/python {GENERATOR.relative_to(obslib.ROOT)}"


def test_generator_check_mode() -> None:
    result = obslib.run(sys.executable, str(GENERATOR), "--check")
    assert result.returncode == 0, result.stderr


def test_generator_is_typed_and_lint_clean() -> None:
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, MYPYPATH=str(obslib.ROOT / "src"))
    mypy = obslib.run(
        str(bin_dir / "mypy"), "--strict", "--no-error-summary", str(GENERATOR), cwd=obslib.ROOT, env=env
    )
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr
    for args in (["check"], ["format", "--check"]):
        ruff = obslib.run(str(bin_dir / "ruff"), *args, str(GENERATOR), cwd=obslib.ROOT)
        assert ruff.returncode == 0, ruff.stdout + ruff.stderr


def test_grafana_provisioning_schema() -> None:
    config = _grafana()
    jsonschema.validate(config, GRAFANA_SCHEMA)
    uids = [source["uid"] for source in config["datasources"]]
    assert len(uids) == len(set(uids))
    assert sum(bool(source.get("isDefault")) for source in config["datasources"]) == 1
    assert {source["type"] for source in config["datasources"]} == {"prometheus", "elasticsearch"}
    assert {"prometheus-us-east-1", "prometheus-eu-west-1"} <= set(uids)


def test_elasticsearch_datasource_reads_the_logging_data_stream() -> None:
    source = next(source for source in _grafana()["datasources"] if source["type"] == "elasticsearch")
    template = obslib.load_yaml(obslib.ROOT / "logging" / "elasticsearch" / "index-template.json")
    assert source["jsonData"]["index"] in template["index_patterns"]
    assert source["jsonData"]["timeField"] == "@timestamp"
    fields = template["template"]["mappings"]["properties"]
    assert source["jsonData"]["logMessageField"] in fields
    assert source["jsonData"]["logLevelField"] in fields


def test_the_required_dashboards_exist_with_stable_uids() -> None:
    boards = obslib.dashboards()
    assert {name: board["uid"] for name, board in boards.items()} == REQUIRED


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_dashboard_structure(name: str) -> None:
    board = obslib.dashboards()[name]
    uids = {source["uid"] for source in _grafana()["datasources"]}
    variables = {variable["name"]: variable for variable in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    prometheus_names = [
        source["name"] for source in _grafana()["datasources"] if source["type"] == "prometheus"
    ]
    assert all(source.startswith(variables["datasource"]["regex"].strip("/^")) for source in prometheus_names)
    ids = [panel["id"] for panel in obslib.dashboard_panels(board)]
    assert len(ids) == len(set(ids))
    assert board["title"].startswith("Nexus / ")
    for panel in obslib.dashboard_panels(board):
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["targets"], panel["title"]
        datasource = panel["datasource"]["uid"]
        assert datasource == "${datasource}" or datasource in uids, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"]
        refs = [target["refId"] for target in panel["targets"]]
        assert len(refs) == len(set(refs))


def test_platform_overview_shows_both_regions_and_the_global_endpoint() -> None:
    board = obslib.dashboards()["platform-overview.json"]
    (row,) = [panel for panel in board["panels"] if panel["type"] == "row"]
    assert row["repeat"] == "datasource"
    (variable,) = board["templating"]["list"]
    assert variable["multi"] and variable["includeAll"]
    exprs = " ".join(target["expr"] for panel in board["panels"] for target in panel.get("targets", []))
    assert 'endpoint="origin"' in exprs and 'endpoint="global"' in exprs


def test_every_dashboard_expression_parses(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: install the Debian package `prometheus`"
    exprs = [expr for _, _, expr in obslib.dashboard_exprs()]
    for expr in exprs:
        assert "$" not in expr.replace("${1}", ""), f"unsubstituted Grafana variable in {expr!r}"
    rules = [
        {
            "record": f"dashboard:expr_{index}",
            "expr": expr.removeprefix("label_values(").rsplit(",", 1)[0]
            if expr.startswith("label_values(")
            else expr,
        }
        for index, expr in enumerate(exprs)
    ]
    path = tmp_path / "dashboard-exprs.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = obslib.run(promtool, "check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


def test_the_parse_check_rejects_a_broken_expression(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    assert promtool
    path = tmp_path / "broken.yaml"
    path.write_text(
        yaml.safe_dump({"groups": [{"name": "x", "rules": [{"record": "x:y", "expr": "sum by (a (b)"}]}]})
    )
    assert obslib.run(promtool, "check", "rules", str(path)).returncode != 0
