"""The Elasticsearch bodies in logging/elasticsearch/: the index template (PUT _index_template/nexus-logs)
and the ILM policy (PUT _ilm/policy/nexus-logs), validated against JSON schemas of those APIs' request
bodies (Elasticsearch 8.x reference: "Create or update index template API", "Create or update lifecycle
policy API", "Index lifecycle actions", "Field data types") and for what the platform needs: hot
rollover, deletion at 30 days."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "logging" / "elasticsearch" / "index-template.json"
ILM = ROOT / "logging" / "elasticsearch" / "ilm-policy.json"

DURATION = r"^[0-9]+(d|h|m|s|ms|micros|nanos)$"
SIZE = r"^[0-9]+(b|kb|mb|gb|tb|pb)$"
FIELD_TYPES = [
    "binary",
    "boolean",
    "keyword",
    "constant_keyword",
    "wildcard",
    "long",
    "integer",
    "short",
    "byte",
    "double",
    "float",
    "half_float",
    "scaled_float",
    "unsigned_long",
    "date",
    "date_nanos",
    "alias",
    "object",
    "flattened",
    "nested",
    "join",
    "integer_range",
    "float_range",
    "long_range",
    "double_range",
    "date_range",
    "ip_range",
    "ip",
    "version",
    "murmur3",
    "text",
    "match_only_text",
    "annotated_text",
    "completion",
    "search_as_you_type",
    "token_count",
    "dense_vector",
    "sparse_vector",
    "rank_feature",
    "rank_features",
    "geo_point",
    "geo_shape",
    "point",
    "shape",
    "histogram",
    "aggregate_metric_double",
]

FIELD: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": {"enum": FIELD_TYPES},
        "properties": {"type": "object", "additionalProperties": {"$ref": "#/$defs/field"}},
        "fields": {"type": "object", "additionalProperties": {"$ref": "#/$defs/field"}},
        "dynamic": {"enum": [True, False, "strict", "runtime", "true", "false"]},
        "ignore_above": {"type": "integer", "minimum": 1},
        "index": {"type": "boolean"},
        "doc_values": {"type": "boolean"},
        "format": {"type": "string"},
        "enabled": {"type": "boolean"},
    },
    "additionalProperties": False,
    "anyOf": [{"required": ["type"]}, {"required": ["properties"]}],
}

INDEX_TEMPLATE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$defs": {"field": FIELD},
    "type": "object",
    "required": ["index_patterns", "template"],
    "additionalProperties": False,
    "properties": {
        "index_patterns": {
            "type": "array",
            "items": {"type": "string", "pattern": r"^[^\s,A-Z]+$"},
            "minItems": 1,
        },
        "composed_of": {"type": "array", "items": {"type": "string"}},
        "priority": {"type": "integer", "minimum": 0},
        "version": {"type": "integer"},
        "_meta": {"type": "object"},
        "allow_auto_create": {"type": "boolean"},
        "ignore_missing_component_templates": {"type": "array", "items": {"type": "string"}},
        "deprecated": {"type": "boolean"},
        "data_stream": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"hidden": {"type": "boolean"}, "allow_custom_routing": {"type": "boolean"}},
        },
        "template": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "settings": {"type": "object", "propertyNames": {"pattern": r"^index\."}},
                "aliases": {"type": "object"},
                "lifecycle": {"type": "object"},
                "mappings": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "dynamic": {"enum": [True, False, "strict", "runtime", "true", "false"]},
                        "date_detection": {"type": "boolean"},
                        "numeric_detection": {"type": "boolean"},
                        "_source": {"type": "object"},
                        "runtime": {"type": "object"},
                        "properties": {"type": "object", "additionalProperties": {"$ref": "#/$defs/field"}},
                        "dynamic_templates": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "minProperties": 1,
                                "maxProperties": 1,
                                "additionalProperties": {
                                    "type": "object",
                                    "required": ["mapping"],
                                    "properties": {
                                        "match_mapping_type": {
                                            "enum": [
                                                "object",
                                                "string",
                                                "long",
                                                "double",
                                                "boolean",
                                                "date",
                                                "*",
                                            ]
                                        },
                                        "match": {"type": "string"},
                                        "unmatch": {"type": "string"},
                                        "path_match": {"type": "string"},
                                        "path_unmatch": {"type": "string"},
                                        "mapping": {"$ref": "#/$defs/field"},
                                    },
                                    "additionalProperties": False,
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def _actions(*names: str) -> dict[str, Any]:
    return {"type": "object", "propertyNames": {"enum": list(names)}}


ROLLOVER = {
    "type": "object",
    "minProperties": 1,
    "additionalProperties": False,
    "properties": {
        "max_age": {"type": "string", "pattern": DURATION},
        "max_docs": {"type": "integer", "minimum": 1},
        "max_size": {"type": "string", "pattern": SIZE},
        "max_primary_shard_size": {"type": "string", "pattern": SIZE},
        "max_primary_shard_docs": {"type": "integer", "minimum": 1},
        "min_age": {"type": "string", "pattern": DURATION},
        "min_docs": {"type": "integer", "minimum": 1},
        "min_size": {"type": "string", "pattern": SIZE},
        "min_primary_shard_size": {"type": "string", "pattern": SIZE},
        "min_primary_shard_docs": {"type": "integer", "minimum": 1},
    },
}


def _phase(actions: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["actions"],
        "additionalProperties": False,
        "properties": {"min_age": {"type": "string", "pattern": DURATION}, "actions": actions},
    }


ILM_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["policy"],
    "additionalProperties": False,
    "properties": {
        "policy": {
            "type": "object",
            "required": ["phases"],
            "additionalProperties": False,
            "properties": {
                "_meta": {"type": "object"},
                "phases": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "hot": _phase(
                            {
                                **_actions(
                                    "rollover",
                                    "set_priority",
                                    "unfollow",
                                    "readonly",
                                    "shrink",
                                    "forcemerge",
                                    "searchable_snapshot",
                                    "downsample",
                                ),
                                "properties": {
                                    "rollover": ROLLOVER,
                                    "set_priority": {
                                        "type": "object",
                                        "properties": {"priority": {"type": "integer", "minimum": 0}},
                                        "additionalProperties": False,
                                    },
                                },
                            }
                        ),
                        "warm": _phase(
                            _actions(
                                "set_priority",
                                "unfollow",
                                "readonly",
                                "allocate",
                                "migrate",
                                "shrink",
                                "forcemerge",
                                "downsample",
                            )
                        ),
                        "cold": _phase(
                            _actions(
                                "set_priority",
                                "unfollow",
                                "readonly",
                                "searchable_snapshot",
                                "allocate",
                                "migrate",
                                "downsample",
                            )
                        ),
                        "frozen": _phase(_actions("searchable_snapshot", "unfollow")),
                        "delete": _phase(
                            {
                                **_actions("wait_for_snapshot", "delete"),
                                "properties": {
                                    "delete": {
                                        "type": "object",
                                        "properties": {"delete_searchable_snapshot": {"type": "boolean"}},
                                        "additionalProperties": False,
                                    }
                                },
                            }
                        ),
                    },
                },
            },
        }
    },
}


def _template() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(TEMPLATE.read_text())
    return data


def _ilm() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(ILM.read_text())
    return data


def test_index_template_matches_the_api_schema() -> None:
    jsonschema.validate(_template(), INDEX_TEMPLATE_SCHEMA)


def test_ilm_policy_matches_the_api_schema() -> None:
    jsonschema.validate(_ilm(), ILM_SCHEMA)


def test_the_schemas_reject_what_elasticsearch_would() -> None:
    bad_template = _template()
    bad_template["template"]["mappings"]["properties"]["level"] = {"type": "string"}  # ES 5 type, gone
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad_template, INDEX_TEMPLATE_SCHEMA)
    bad_policy = _ilm()
    bad_policy["policy"]["phases"]["delete"]["actions"]["rollover"] = {
        "max_age": "1d"
    }  # rollover only in hot
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad_policy, ILM_SCHEMA)
    bad_policy = _ilm()
    bad_policy["policy"]["phases"]["delete"]["min_age"] = "30 days"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad_policy, ILM_SCHEMA)


def test_lifecycle_is_hot_rollover_then_delete_at_30_days() -> None:
    phases = _ilm()["policy"]["phases"]
    assert set(phases) == {"hot", "delete"}
    assert "rollover" in phases["hot"]["actions"]
    assert phases["delete"]["min_age"] == "30d"
    assert "delete" in phases["delete"]["actions"]


def test_template_is_a_data_stream_template_bound_to_the_policy() -> None:
    template = _template()
    assert template["data_stream"] == {}
    settings = template["template"]["settings"]
    assert settings["index.lifecycle.name"] == "nexus-logs"
    # above Elasticsearch's built-in logs-*-* template (priority 100), so ours applies to logs-nexus-*
    assert template["priority"] > 100
    assert all(re.fullmatch(r"logs-nexus-\*", pattern) for pattern in template["index_patterns"])
    properties = template["template"]["mappings"]["properties"]
    assert properties["@timestamp"]["type"] == "date"
    for keyword in ("level", "request_id", "route", "region"):
        assert properties[keyword]["type"] == "keyword", keyword
