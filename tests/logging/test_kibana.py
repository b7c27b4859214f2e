"""logging/kibana/saved-objects.ndjson: Kibana 8.x saved objects (the data view, the nexus-api errors
search, a visualization and the dashboard), validated against schemas of the saved-object export format
and for internal consistency: every reference resolves, every field used is mapped by the index template."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[2]
NDJSON = ROOT / "logging" / "kibana" / "saved-objects.ndjson"
TEMPLATE = ROOT / "logging" / "elasticsearch" / "index-template.json"

REFERENCE = {
    "type": "object",
    "required": ["id", "name", "type"],
    "additionalProperties": False,
    "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "type": {"type": "string"}},
}
SEARCH_SOURCE = {
    "type": "object",
    "required": ["kibanaSavedObjectMeta"],
    "properties": {
        "kibanaSavedObjectMeta": {
            "type": "object",
            "required": ["searchSourceJSON"],
            "properties": {"searchSourceJSON": {"type": "string"}},
        }
    },
}
ATTRIBUTES: dict[str, dict[str, Any]] = {
    "index-pattern": {
        "type": "object",
        "required": ["title", "timeFieldName"],
        "properties": {
            "title": {"type": "string"},
            "name": {"type": "string"},
            "timeFieldName": {"type": "string"},
            "allowNoIndex": {"type": "boolean"},
            "fieldAttrs": {"type": "string"},
            "fieldFormatMap": {"type": "string"},
            "runtimeFieldMap": {"type": "string"},
            "sourceFilters": {"type": "string"},
            "typeMeta": {"type": "string"},
            "fields": {"type": "string"},
        },
        "additionalProperties": False,
    },
    "search": {
        "allOf": [SEARCH_SOURCE],
        "type": "object",
        "required": ["title", "columns", "sort"],
        "properties": {
            "title": {"type": "string"},
            "description": {"type": "string"},
            "columns": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "sort": {
                "type": "array",
                "items": {"type": "array", "prefixItems": [{"type": "string"}, {"enum": ["asc", "desc"]}]},
            },
            "grid": {"type": "object"},
            "hideChart": {"type": "boolean"},
            "isTextBasedQuery": {"type": "boolean"},
            "timeRestore": {"type": "boolean"},
            "kibanaSavedObjectMeta": {"type": "object"},
        },
        "additionalProperties": False,
    },
    "visualization": {
        "allOf": [SEARCH_SOURCE],
        "type": "object",
        "required": ["title", "visState", "uiStateJSON"],
        "properties": {
            "title": {"type": "string"},
            "description": {"type": "string"},
            "visState": {"type": "string"},
            "uiStateJSON": {"type": "string"},
            "version": {"type": "integer"},
            "kibanaSavedObjectMeta": {"type": "object"},
        },
        "additionalProperties": False,
    },
    "dashboard": {
        "allOf": [SEARCH_SOURCE],
        "type": "object",
        "required": ["title", "panelsJSON"],
        "properties": {
            "title": {"type": "string"},
            "description": {"type": "string"},
            "panelsJSON": {"type": "string"},
            "optionsJSON": {"type": "string"},
            "timeRestore": {"type": "boolean"},
            "timeFrom": {"type": "string"},
            "timeTo": {"type": "string"},
            "refreshInterval": {
                "type": "object",
                "required": ["pause", "value"],
                "properties": {"pause": {"type": "boolean"}, "value": {"type": "integer"}},
            },
            "version": {"type": "integer"},
            "kibanaSavedObjectMeta": {"type": "object"},
        },
        "additionalProperties": False,
    },
}
SAVED_OBJECT = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["type", "id", "attributes", "references"],
    "properties": {
        "type": {"enum": sorted(ATTRIBUTES)},
        "id": {"type": "string", "pattern": "^[a-z0-9-]+$"},
        "attributes": {"type": "object"},
        "references": {"type": "array", "items": REFERENCE},
        "coreMigrationVersion": {"type": "string", "pattern": r"^8\.\d+\.\d+$"},
        "typeMigrationVersion": {"type": "string", "pattern": r"^\d+\.\d+\.\d+$"},
        "managed": {"type": "boolean"},
    },
    "additionalProperties": False,
}
PANEL = {
    "type": "object",
    "required": ["type", "gridData", "panelIndex", "panelRefName"],
    "properties": {
        "type": {"enum": ["search", "visualization", "lens"]},
        "gridData": {
            "type": "object",
            "required": ["x", "y", "w", "h", "i"],
            "properties": {
                "x": {"type": "integer", "minimum": 0},
                "y": {"type": "integer", "minimum": 0},
                "w": {"type": "integer", "minimum": 1, "maximum": 48},
                "h": {"type": "integer", "minimum": 1},
                "i": {"type": "string"},
            },
        },
    },
}


def _objects() -> list[dict[str, Any]]:
    lines = NDJSON.read_text().splitlines()
    assert all(line.strip() for line in lines), "no blank lines in NDJSON"
    return [json.loads(line) for line in lines]


def _by_type(kind: str) -> list[dict[str, Any]]:
    return [obj for obj in _objects() if obj["type"] == kind]


def _mapped_fields() -> set[str]:
    def walk(properties: dict[str, Any], prefix: str) -> set[str]:
        out: set[str] = set()
        for name, spec in properties.items():
            out.add(prefix + name)
            out |= walk(spec.get("properties", {}), f"{prefix}{name}.")
        return out

    return walk(json.loads(TEMPLATE.read_text())["template"]["mappings"]["properties"], "")


def test_every_object_matches_the_export_schema() -> None:
    objects = _objects()
    assert {obj["type"] for obj in objects} == {"index-pattern", "search", "visualization", "dashboard"}
    for obj in objects:
        jsonschema.validate(obj, SAVED_OBJECT)
        jsonschema.validate(obj["attributes"], ATTRIBUTES[obj["type"]])
    ids = [(obj["type"], obj["id"]) for obj in objects]
    assert len(ids) == len(set(ids))


def test_the_schema_rejects_a_broken_object() -> None:
    broken = dict(_by_type("search")[0])
    broken["attributes"] = dict(broken["attributes"], columns="msg")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken["attributes"], ATTRIBUTES["search"])


def test_every_reference_resolves_within_the_file() -> None:
    present = {(obj["type"], obj["id"]) for obj in _objects()}
    for obj in _objects():
        for reference in obj["references"]:
            assert (reference["type"], reference["id"]) in present, (obj["id"], reference)


def test_data_view_is_the_logging_data_stream() -> None:
    (view,) = _by_type("index-pattern")
    template = json.loads(TEMPLATE.read_text())
    assert view["attributes"]["title"] in template["index_patterns"]
    assert view["attributes"]["timeFieldName"] == "@timestamp"


def _search_source(obj: dict[str, Any]) -> dict[str, Any]:
    source: dict[str, Any] = json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
    if "indexRefName" in source:
        names = {reference["name"] for reference in obj["references"]}
        assert source["indexRefName"] in names, obj["id"]
    return source


def test_errors_search_finds_nexus_api_error_lines() -> None:
    (search,) = [obj for obj in _by_type("search") if obj["id"] == "nexus-api-errors"]
    source = _search_source(search)
    query = source["query"]
    assert query["language"] == "kuery"
    assert 'kubernetes.container_name : "nexus-api"' in query["query"]
    assert '"error"' in query["query"] and '"critical"' in query["query"]
    fields = _mapped_fields()
    for column in search["attributes"]["columns"]:
        assert column in fields, column
    assert search["attributes"]["sort"] == [["@timestamp", "desc"]]


def test_visualization_aggregates_mapped_fields() -> None:
    (vis,) = _by_type("visualization")
    _search_source(vis)
    state = json.loads(vis["attributes"]["visState"])
    fields = _mapped_fields()
    for agg in state["aggs"]:
        if "field" in agg["params"]:
            assert agg["params"]["field"] in fields, agg


def test_dashboard_panels_reference_the_search_and_the_visualization() -> None:
    (dashboard,) = _by_type("dashboard")
    _search_source(dashboard)
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    references = {reference["name"]: reference for reference in dashboard["references"]}
    kinds = set()
    for panel in panels:
        jsonschema.validate(panel, PANEL)
        reference = references[f"{panel['panelIndex']}:{panel['panelRefName']}"]
        assert reference["type"] == panel["type"]
        kinds.add(panel["type"])
        grid = panel["gridData"]
        assert grid["x"] + grid["w"] <= 48
    assert kinds == {"search", "visualization"}
    json.loads(dashboard["attributes"]["optionsJSON"])
