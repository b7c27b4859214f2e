"""Every metric the rules and dashboards use exists: a recording rule, the service's contract (its README
table), the operations toolkit's definitions (nexus_platform.telemetry) or a listed exporter metric."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from tests.monitoring import obslib

from nexus_platform import telemetry

FLUENT_CONF = obslib.ROOT / "logging" / "fluentd" / "fluent.conf"


def _rule_exprs() -> list[tuple[str, str]]:
    return [(rule.get("alert") or rule["record"], rule["expr"]) for _, rule in obslib.rules()]


def _all_exprs() -> list[tuple[str, str]]:
    return _rule_exprs() + [(f"{board}: {panel}", expr) for board, panel, expr in obslib.dashboard_exprs()]


def _referenced() -> set[str]:
    return {name for _, expr in _all_exprs() for name in obslib.metric_names(expr)}


def test_the_metric_name_lexer() -> None:
    expr = (
        'sum by (region) (rate(a_total{route=~"/api/.+", x="by (y)"}[5m])) / on () group_left () '
        '(1 - b:objective) and c offset 5m > 1e3 or label_replace(d, "dst", "v", "", "") unless vector(1)'
    )
    assert obslib.metric_names(expr) == {"a_total", "b:objective", "c", "d"}
    assert obslib.metric_names("label_values(nexus_api_build_info, region)") == {"nexus_api_build_info"}


def test_the_service_contract_is_read_from_its_readme() -> None:
    names = obslib.nexus_api_metrics()
    assert "nexus_api_http_requests_total" in names
    assert "nexus_api_http_request_duration_seconds_bucket" in names
    assert len(names) >= 20


def test_every_referenced_metric_is_known() -> None:
    known = (
        {rule["record"] for rule in obslib.recording_rules()}
        | obslib.nexus_api_metrics()
        | set(telemetry.BY_NAME)
        | set(obslib.exporter_metrics())
    )
    unknown = {
        where: sorted(obslib.metric_names(expr) - known)
        for where, expr in _all_exprs()
        if obslib.metric_names(expr) - known
    }
    assert not unknown


def test_nexus_api_metrics_come_from_the_service_contract_only() -> None:
    for where, expr in _all_exprs():
        for name in obslib.metric_names(expr):
            if name.startswith("nexus_api_"):
                assert name in obslib.nexus_api_metrics(), f"{where}: {name}"


def test_every_toolkit_metric_used_is_defined_in_telemetry_and_every_defined_one_is_used() -> None:
    used = {name for name in _referenced() if name.startswith("nexus_ops_")}
    assert used <= set(telemetry.BY_NAME), sorted(used - set(telemetry.BY_NAME))
    assert set(telemetry.BY_NAME) <= used, sorted(set(telemetry.BY_NAME) - used)


def test_toolkit_metrics_are_alerted_on() -> None:
    in_rules = {name for _, expr in _rule_exprs() for name in obslib.metric_names(expr)}
    for metric in (
        telemetry.BACKUP_LAST_SUCCESS_TIMESTAMP,
        telemetry.DR_DRILL_LAST_RTO,
        telemetry.DR_DRILL_LAST_RPO,
        telemetry.DR_DRILL_LAST_SUCCESS,
        telemetry.REPLICA_LAG,
        telemetry.REPLICATION_STREAMING,
    ):
        assert metric.name in in_rules, metric.name


# Alerted on, produced by a runbook an open issue adds: the alert cannot fire for a good reason until then
# (BackupStatusMissing would fire forever). An entry leaves when its producer lands (the test says when).
PENDING_PRODUCERS: dict[str, str] = {}


def _producers() -> set[str]:
    """telemetry constants some code in src/ (beyond their definition) uses: their producers."""
    src = obslib.ROOT / "src" / "nexus_platform"
    found: set[str] = set()
    for path in src.rglob("*.py"):
        if path.name != "telemetry.py":
            found.update(re.findall(r"\btelemetry\.([A-Z][A-Z0-9_]+)\b", path.read_text()))
    return found


def test_every_toolkit_metric_has_a_producer_or_is_pending() -> None:
    constants = {
        name: value for name, value in vars(telemetry).items() if isinstance(value, telemetry.Metric)
    }
    produced = _producers() & set(constants)
    missing = set(constants) - produced - set(PENDING_PRODUCERS)
    assert not missing, f"metrics nothing emits (add a producer, or a PENDING_PRODUCERS entry): {missing}"
    landed = produced & set(PENDING_PRODUCERS)
    assert not landed, f"these have a producer now: remove them from PENDING_PRODUCERS: {landed}"
    assert set(PENDING_PRODUCERS) <= set(constants)


def test_the_dashboard_generator_takes_toolkit_names_from_telemetry() -> None:
    source = (obslib.DASHBOARDS_DIR / "generate.py").read_text()
    assert "from nexus_platform import telemetry" in source
    assert not re.search(r"nexus_ops_\w+", source), (
        "use telemetry.<METRIC>.name instead of re-typing the name"
    )


def test_toolkit_labels_used_in_rules_are_declared() -> None:
    for where, expr in _rule_exprs():
        for match in re.finditer(r"\b(nexus_ops_\w+)\{([^}]*)\}", expr):
            metric = telemetry.BY_NAME[match.group(1)]
            labels = set(re.findall(r"(\w+)\s*[=!~]", match.group(2)))
            assert labels <= set(metric.labels), f"{where}: {labels - set(metric.labels)}"


def test_every_listed_exporter_metric_is_used() -> None:
    assert set(obslib.exporter_metrics()) <= _referenced(), sorted(
        set(obslib.exporter_metrics()) - _referenced()
    )


def test_exporters_name_a_scrape_job_and_a_source() -> None:
    doc = obslib.load_yaml(obslib.MONITORING / "exporter_metrics.yaml")
    jobs = {
        job["job_name"] for job in obslib.load_yaml(obslib.MONITORING / "prometheus.yaml")["scrape_configs"]
    }
    for name, spec in doc["exporters"].items():
        assert spec["job"] in jobs, name
        assert spec["source"].strip(), name


def _yace_name(namespace: str, metric: str, statistic: str) -> str:
    """YACE's metric naming (PromString): `_` where a lower-case letter or digit meets an upper-case one."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", metric).lower()
    return f"aws_{namespace.split('/')[1].lower()}_{snake}_{statistic.lower()}"


def test_yace_metrics_are_the_ones_yace_yaml_exports() -> None:
    config = obslib.load_yaml(obslib.MONITORING / "yace.yaml")
    exported = {
        _yace_name(job["type"], metric["name"], statistic)
        for job in config["discovery"]["jobs"]
        for metric in job["metrics"]
        for statistic in metric["statistics"]
    }
    listed = {name for name, exporter in obslib.exporter_metrics().items() if exporter == "yace"}
    assert listed == exported
    assert _yace_name("AWS/RDS", "CPUUtilization", "Average") == "aws_rds_cpuutilization_average"
    assert _yace_name("AWS/RDS", "ReplicaLag", "Maximum") == "aws_rds_replica_lag_maximum"


def test_the_log_derived_counter_is_defined_by_the_fluentd_pipeline() -> None:
    names = set(re.findall(r"^\s*name (\S+)$", FLUENT_CONF.read_text(), re.MULTILINE))
    listed = {name for name, exporter in obslib.exporter_metrics().items() if exporter == "fluentd"}
    assert listed
    assert listed <= names


def test_telemetry_renders_what_promtool_accepts() -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: install the Debian package `prometheus`"
    samples = [
        telemetry.Sample(
            telemetry.BACKUP_LAST_SUCCESS_TIMESTAMP, {"region": "us-east-1", "kind": kind}, 1.7e9
        )
        for kind in telemetry.BACKUP_KINDS
    ] + [
        telemetry.Sample(telemetry.DR_DRILL_LAST_RTO, {"mode": "async"}, 412.5),
        telemetry.Sample(telemetry.DR_DRILL_LAST_RPO, {"mode": "async"}, 0),
        telemetry.Sample(telemetry.DR_DRILL_LAST_SUCCESS, {"mode": "async"}, 1),
        telemetry.Sample(telemetry.DR_DRILL_LAST_RUN_TIMESTAMP, {"mode": "async"}, 1.7e9),
        telemetry.Sample(telemetry.REPLICA_LAG, {"region": "eu-west-1", "source_region": "us-east-1"}, 0.035),
        telemetry.Sample(
            telemetry.REPLICATION_STREAMING, {"region": "eu-west-1", "source_region": 'a"b\\c'}, 1
        ),
    ]
    text = telemetry.render(samples)
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert 'source_region="a\\"b\\\\c"' in text
    assert text.count("# TYPE ") == len(telemetry.ALL)


def test_telemetry_refuses_wrong_labels_and_foreign_metrics() -> None:
    with pytest.raises(ValueError, match="takes labels"):
        telemetry.Sample(telemetry.DR_DRILL_LAST_RTO, {"region": "us-east-1"}, 1)
    with pytest.raises(ValueError, match="bad toolkit metric name"):
        telemetry.Metric("up", "gauge", "not ours")
    with pytest.raises(ValueError, match="must end in _total"):
        telemetry.Metric("nexus_ops_runs", "counter", "a counter")
    rogue = telemetry.Metric("nexus_ops_rogue", "gauge", "not in ALL")
    with pytest.raises(ValueError, match="not a metric defined"):
        telemetry.render([telemetry.Sample(rogue, {}, 1)])
    assert telemetry.render([]) == ""
