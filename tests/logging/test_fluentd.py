"""logging/fluentd/fluent.conf: it parses, every plugin it names ships in the add-on image (image.yaml), and
the pipeline does what the platform relies on: tail CRI container logs, Kubernetes metadata, nexus-api's
JSON parsed, error lines counted for Prometheus, a disk buffer with retries, Elasticsearch data stream
output."""

from __future__ import annotations

import fnmatch
import importlib.util
import io
import json
import logging
import re
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from tests.logging import fluentconf
from tests.logging.fluentconf import Directive

ROOT = Path(__file__).resolve().parents[2]
LOGGING = ROOT / "logging"
CONF = LOGGING / "fluentd" / "fluent.conf"
IMAGE = LOGGING / "fluentd" / "image.yaml"
TEMPLATE = LOGGING / "elasticsearch" / "index-template.json"
ILM = LOGGING / "elasticsearch" / "ilm-policy.json"
EXPORTER_METRICS = ROOT / "monitoring" / "exporter_metrics.yaml"
JSONLOG = ROOT / "services" / "nexus-api" / "src" / "nexus_api" / "jsonlog.py"

# Which plugin kind a directive's @type names.
KIND = {
    "source": "input",
    "filter": "filter",
    "match": "output",
    "store": "output",
    "parse": "parser",
    "buffer": "buffer",
    "format": "formatter",
    "storage": "storage",
}
BUILT_IN_LABELS = {"@ERROR", "@FLUENT_LOG"}


@pytest.fixture(scope="module")
def conf() -> Directive:
    return fluentconf.load(CONF)


def _plugins() -> dict[str, set[str]]:
    image = yaml.safe_load(IMAGE.read_text())
    plugins: dict[str, set[str]] = {}
    for gem in image["gems"].values():
        for kind, types in gem.items():
            if kind != "version":
                plugins.setdefault(kind, set()).update(types)
    return plugins


def _one(conf: Directive, name: str, type_: str) -> Directive:
    found = [d for d, _ in conf.walk() if d.name == name and d.type == type_]
    assert len(found) == 1, f"expected one <{name}> of @type {type_}, found {len(found)}"
    return found[0]


def test_parser_rejects_broken_configs() -> None:
    with pytest.raises(fluentconf.ConfigError, match="never closed"):
        fluentconf.parse("<source>\n  @type tail\n")
    with pytest.raises(fluentconf.ConfigError, match="closes"):
        fluentconf.parse("<source>\n</match>\n")
    with pytest.raises(fluentconf.ConfigError, match="set twice"):
        fluentconf.parse("<source>\n  @type tail\n  @type http\n</source>\n")
    parsed = fluentconf.parse("<match a.**>\n  @type copy\n  <store>\n    @type null\n  </store>\n</match>\n")
    (match,) = parsed.children
    assert (match.name, match.arg, match.type, match.children[0].type) == ("match", "a.**", "copy", "null")


def test_tag_patterns() -> None:
    assert fluentconf.tag_matches("kubernetes.**", "kubernetes.var.log.containers.x.log")
    assert fluentconf.tag_matches("a.**", "a")
    assert not fluentconf.tag_matches("kubernetes.*", "kubernetes.var.log")
    assert fluentconf.tag_matches("{x,y}.z other", "y.z")
    assert fluentconf.tag_matches("**", "anything.at.all")


def test_top_level_structure(conf: Directive) -> None:
    assert {child.name for child in conf.children} <= {"system", "source", "filter", "match", "label"}
    for label in conf.find("label"):
        assert re.fullmatch(r"@[A-Z_]+", label.arg), label.arg
        assert {child.name for child in label.children} <= {"filter", "match"}


def test_every_plugin_type_ships_in_the_image(conf: Directive) -> None:
    plugins = _plugins()
    seen = 0
    for directive, _ in conf.walk():
        kind = KIND.get(directive.name)
        if kind is None:
            assert directive.type is None, f"line {directive.line}: @type in <{directive.name}>"
            continue
        assert directive.type, f"line {directive.line}: <{directive.name}> without @type"
        assert directive.type in plugins.get(kind, set()), (
            f"line {directive.line}: {kind} plugin {directive.type!r} is not in {IMAGE.name}"
        )
        seen += 1
    assert seen >= 15


def test_the_image_is_the_elasticsearch8_daemonset_image() -> None:
    image = yaml.safe_load(IMAGE.read_text())
    assert re.fullmatch(
        r"fluent/fluentd-kubernetes-daemonset:v1\.\d+-debian-elasticsearch8-\d+", image["image"]
    )
    assert image["image"].split(":")[1].startswith("v" + ".".join(image["fluentd"].split(".")[:2]))


def test_ids_are_unique_and_labels_resolve(conf: Directive) -> None:
    ids = [d.params["@id"] for d, _ in conf.walk() if "@id" in d.params]
    assert len(ids) == len(set(ids))
    defined = {label.arg for label in conf.find("label")}
    referenced = {d.params["@label"] for d, _ in conf.walk() if "@label" in d.params}
    assert referenced <= defined
    assert defined - BUILT_IN_LABELS <= referenced, "a label nothing routes to"


def test_container_logs_are_tailed_as_cri(conf: Directive) -> None:
    tail = _one(conf, "source", "tail")
    assert tail.params["path"] == "/var/log/containers/*.log"
    assert tail.params["pos_file"].startswith("/var/log/")
    assert tail.params["tag"] == "kubernetes.*"
    (parse,) = tail.find("parse")
    assert parse.type == "cri"
    assert json.loads(tail.params["exclude_path"])  # Fluentd's own log is not tailed back in


def test_kubernetes_metadata_and_partial_lines_before_routing(conf: Directive) -> None:
    top = conf.children
    order = [(d.name, d.type) for d in top]
    assert order.index(("filter", "concat")) < order.index(("filter", "kubernetes_metadata"))
    assert order.index(("filter", "kubernetes_metadata")) < order.index(("match", "rewrite_tag_filter"))
    concat = _one(conf, "filter", "concat")
    assert concat.params["key"] == "message"  # the field the cri parser puts the line in
    assert concat.params["use_partial_cri_logtag"] == "true"
    metadata = _one(conf, "filter", "kubernetes_metadata")
    assert metadata.params["de_dot"] == "true"


def _route(conf: Directive, tag: str, scope: list[Directive]) -> tuple[list[Directive], Directive]:
    """The filters an event with `tag` passes and the <match> that takes it, in the directives of `scope`."""
    filters: list[Directive] = []
    for directive in scope:
        if directive.name in ("filter", "match") and fluentconf.tag_matches(directive.arg, tag):
            if directive.name == "match":
                return filters, directive
            filters.append(directive)
    raise AssertionError(f"no <match> takes tag {tag!r}")


def _label(conf: Directive, name: str) -> list[Directive]:
    (label,) = [label for label in conf.find("label") if label.arg == name]
    return label.children


def test_event_routing(conf: Directive) -> None:
    tag = "kubernetes.var.log.containers.nexus-api-7d9f-abcde_nexus_nexus-api-0123456789abcdef.log"
    filters, match = _route(conf, tag, conf.children)
    assert [f.type for f in filters] == ["concat", "kubernetes_metadata"]
    assert match.type == "rewrite_tag_filter"
    rules = match.find("rule")
    assert {rule.params["tag"] for rule in rules} == {"nexus-api", "containers"}
    assert all(rule.params["key"] == "$.kubernetes.container_name" for rule in rules)
    assert [rule.params.get("invert") for rule in rules] == [None, "true"]

    filters, match = _route(conf, "nexus-api", conf.children)
    assert [f.type for f in filters] == ["parser"]
    assert match.type == "copy"
    assert {store.params["@label"] for store in match.find("store")} == {
        "@ERROR_LOG_COUNTER",
        "@ELASTICSEARCH",
    }

    _, match = _route(conf, "containers", conf.children)
    assert (match.type, match.params["@label"]) == ("relabel", "@ELASTICSEARCH")

    filters, match = _route(conf, "nexus-api", _label(conf, "@ERROR_LOG_COUNTER"))
    assert [f.type for f in filters] == ["grep"] and match.type == "prometheus"
    filters, match = _route(conf, "nexus-api", _label(conf, "@ELASTICSEARCH"))
    assert [f.type for f in filters] == ["record_transformer"] and match.type == "elasticsearch_data_stream"
    _, match = _route(conf, "anything", _label(conf, "@ERROR"))
    assert match.params["@label"] == "@ELASTICSEARCH"


def test_nexus_api_json_lines_are_parsed(conf: Directive) -> None:
    parser = _one(conf, "filter", "parser")
    assert parser.arg == "nexus-api"
    assert parser.params["key_name"] == "message"
    assert parser.params["reserve_data"] == "true"
    (parse,) = parser.find("parse")
    assert parse.type == "json"
    assert parse.params["time_key"] == "ts"


def _nexus_api_line(level: int) -> dict[str, object]:
    """A real log line of the service, from its own formatter (services/nexus-api/.../jsonlog.py)."""
    spec = importlib.util.spec_from_file_location("nexus_api_jsonlog", JSONLOG)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(module.JsonFormatter({"service": "nexus-api", "region": "us-east-1"}))
    logger = logging.getLogger("nexus_api.test_fluentd")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.log(level, "request", extra={"route": "/api/v1/records", "status": 503, "duration_ms": 1.5})
    return json.loads(stream.getvalue())


def test_the_pipeline_matches_the_service_log_format(conf: Directive) -> None:
    parse = _one(conf, "filter", "parser").find("parse")[0]
    error = _nexus_api_line(logging.ERROR)
    # Fluentd's time_format with %L (milliseconds) and %z, in Python's spelling
    python_format = parse.params["time_format"].replace("%L", "%f")
    assert datetime.strptime(str(error["ts"]), python_format).utcoffset() is not None
    grep = _one(conf, "filter", "grep")
    (regexp,) = grep.find("regexp")
    pattern = re.compile(regexp.params["pattern"].strip("/"))
    assert pattern.search(str(error[regexp.params["key"]]))
    assert pattern.search(str(_nexus_api_line(logging.CRITICAL)["level"]))
    assert not pattern.search(str(_nexus_api_line(logging.WARNING)["level"]))
    assert not pattern.search(str(_nexus_api_line(logging.INFO)["level"]))
    mapped = json.loads(TEMPLATE.read_text())["template"]["mappings"]["properties"]
    for key in error:
        assert key in mapped, f"the index template does not map nexus-api's field {key!r}"


def test_error_lines_become_the_prometheus_counter(conf: Directive) -> None:
    counter = _one(conf, "match", "prometheus")
    (metric,) = counter.find("metric")
    assert metric.params["type"] == "counter"
    listed = yaml.safe_load(EXPORTER_METRICS.read_text())["exporters"]["fluentd"]["metrics"]
    assert metric.params["name"] in listed
    (labels,) = metric.find("labels")
    assert labels.params == {"namespace": "$.kubernetes.namespace_name", "level": "$.level"}
    exposer = _one(conf, "source", "prometheus")
    assert exposer.params["port"] == "24231"


def test_elasticsearch_output_uses_the_template_and_policy(conf: Directive) -> None:
    output = _one(conf, "match", "elasticsearch_data_stream")
    template = json.loads(TEMPLATE.read_text())
    assert output.params["data_stream_template_name"] == "nexus-logs"
    assert output.params["data_stream_ilm_name"] == template["template"]["settings"]["index.lifecycle.name"]
    assert any(
        fnmatch.fnmatchcase(output.params["data_stream_name"], pattern)
        for pattern in template["index_patterns"]
    )
    assert output.params["scheme"] == "https" and output.params["ssl_verify"] == "true"
    for key in ("hosts", "user", "password"):
        assert output.params[key].startswith("#{ENV["), key  # from the DaemonSet's environment, not the file


def test_output_buffers_on_disk_with_exponential_backoff(conf: Directive) -> None:
    (buffer,) = _one(conf, "match", "elasticsearch_data_stream").find("buffer")
    params = buffer.params
    assert buffer.type == "file"
    assert params["path"].startswith("/var/log/fluentd/")
    assert params["retry_type"] == "exponential_backoff"
    assert params["retry_max_interval"] and params["retry_wait"]
    assert "retry_forever" in params or "retry_timeout" in params
    assert params["overflow_action"] == "block"
    assert re.fullmatch(r"\d+[KMG]B", params["total_limit_size"])
