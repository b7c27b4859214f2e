"""The alerting and recording rules: promtool accepts them, every rule has a promtool unit test that shows
it firing and not firing, every alert is routable and documented, and the thresholds are the platform's
targets."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from tests.monitoring import obslib

from nexus_platform import telemetry

REQUIRED_LABELS = {"severity", "component"}
REQUIRED_ANNOTATIONS = {"summary", "description", "runbook_url"}
SEVERITIES = {"critical", "warning", "info"}


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool is missing: install the Debian package `prometheus` (Makefile APT_PACKAGES)"
    return path


def _alert_tests() -> list[dict[str, Any]]:
    cases = []
    for path in obslib.rule_test_files():
        for test in obslib.load_yaml(path)["tests"]:
            cases.extend(test.get("alert_rule_test", []))
    return cases


def test_promtool_check_rules(promtool: str) -> None:
    result = obslib.run(promtool, "check", "rules", *map(str, obslib.rule_files()))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass(promtool: str) -> None:
    result = obslib.run(promtool, "test", "rules", *map(str, obslib.rule_test_files()), cwd=obslib.MONITORING)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(obslib.rule_test_files())


def test_every_rule_file_has_a_unit_test_file_and_is_loaded_by_one() -> None:
    loaded: set[Path] = set()
    for path in obslib.rule_test_files():
        for rule_file in obslib.load_yaml(path)["rule_files"]:
            loaded.add((path.parent / rule_file).resolve())
    assert loaded == {path.resolve() for path in obslib.rule_files()}


def test_every_alert_fires_in_a_unit_test_with_its_labels_and_stays_silent_in_another() -> None:
    cases = _alert_tests()
    for rule in obslib.alerts():
        name = rule["alert"]
        mine = [case for case in cases if case["alertname"] == name]
        firing = [alert for case in mine for alert in case.get("exp_alerts") or []]
        assert firing, f"{name}: no unit test shows it firing"
        assert all(alert.get("exp_labels") for alert in firing), f"{name}: a firing case without labels"
        assert all(alert["exp_labels"].get("severity") == rule["labels"]["severity"] for alert in firing), (
            name
        )
        assert any(not case.get("exp_alerts") for case in mine), f"{name}: no unit test shows it not firing"


def test_unit_tests_name_only_existing_alerts() -> None:
    names = {rule["alert"] for rule in obslib.alerts()}
    assert {case["alertname"] for case in _alert_tests()} <= names


def test_every_recording_rule_is_evaluated_in_a_unit_test() -> None:
    exprs = [
        case["expr"]
        for path in obslib.rule_test_files()
        for test in obslib.load_yaml(path)["tests"]
        for case in test.get("promql_expr_test", [])
    ]
    for rule in obslib.recording_rules():
        assert any(rule["record"] in obslib.metric_names(expr) for expr in exprs), rule["record"]


def test_alerts_have_severity_component_and_documentation() -> None:
    names = [rule["alert"] for rule in obslib.alerts()]
    assert len(names) == len(set(names)), "alert names must be unique (one runbook page each)"
    for rule in obslib.alerts():
        name = rule["alert"]
        assert set(rule.get("labels", {})) >= REQUIRED_LABELS, name
        assert rule["labels"]["severity"] in SEVERITIES, name
        annotations = rule.get("annotations", {})
        assert set(annotations) >= REQUIRED_ANNOTATIONS, name
        assert all(annotations[key].strip() for key in REQUIRED_ANNOTATIONS), name
        assert annotations["runbook_url"] == f"{obslib.RUNBOOK_URL_PREFIX}{name}.md", name


def test_every_alert_has_its_runbook_page_and_every_page_an_alert() -> None:
    names = {rule["alert"] for rule in obslib.alerts()}
    pages = {path.stem for path in obslib.RUNBOOKS_DIR.glob("*.md")} - {"README"}
    assert pages == names
    index = (obslib.RUNBOOKS_DIR / "README.md").read_text()
    for name in names:
        text = (obslib.RUNBOOKS_DIR / f"{name}.md").read_text()
        assert text.startswith(f"# {name}\n"), name
        for section in ("## What it means", "## Impact", "## Diagnose", "## Mitigate"):
            assert section in text, f"{name}: {section}"
        assert f"[{name}]({name}.md)" in index, name


def test_alerts_carry_or_inherit_a_region_for_routing() -> None:
    """Routing is by severity and region: an alert either groups by region, sets it, or keeps the series'."""
    for rule in obslib.alerts():
        expr = rule["expr"]
        grouped = re.findall(r"\bby \(([^)]*)\)", expr)
        has_region = "region" in rule["labels"] or all("region" in group for group in grouped)
        absent = expr.strip().startswith("absent(")  # gets the evaluating Prometheus' region (external label)
        assert has_region or absent, rule["alert"]


def _threshold(alert: str) -> float:
    rule = next(rule for rule in obslib.alerts() if rule["alert"] == alert)
    match = re.search(r">\s*([0-9.]+)\s*$", rule["expr"].strip())
    assert match, f"{alert}: no trailing threshold in {rule['expr']!r}"
    return float(match.group(1))


@pytest.mark.parametrize(
    ("alert", "target"),
    [
        ("DrDrillRtoExceeded", telemetry.RTO_TARGET_SECONDS),
        ("DrDrillRpoExceeded", telemetry.RPO_TARGET_SECONDS),
        ("RdsReplicaLagAboveRpo", telemetry.RPO_TARGET_SECONDS),
        ("RdsReplicaLagHigh", telemetry.REPLICA_LAG_WARNING_SECONDS),
        ("BackupTooOld", telemetry.BACKUP_MAX_AGE_SECONDS),
    ],
)
def test_thresholds_are_the_platform_targets(alert: str, target: int) -> None:
    assert _threshold(alert) == target


def test_the_replica_lag_warning_fires_well_before_the_rpo_alert() -> None:
    """The early warning leaves time to act: at most a quarter of the RPO budget, as the rules say it."""
    warning, budget = _threshold("RdsReplicaLagHigh"), _threshold("RdsReplicaLagAboveRpo")
    assert 0 < warning <= budget / 4, (warning, budget)


def test_slo_alerts_follow_the_multiwindow_multi_burn_rate_table() -> None:
    """(long window, short window, burn rate) per severity, as in the Google SRE workbook."""
    expected = {
        "BurnFast": ("1h", "5m", "14.4", "critical"),
        "BurnSustained": ("6h", "30m", "6", "critical"),
        "BurnSlow": ("3d", "6h", "1", "warning"),
    }
    slo_alerts = [rule for rule in obslib.alerts() if rule["labels"].get("slo")]
    assert len(slo_alerts) == 6
    for rule in slo_alerts:
        suffix = next(key for key in expected if rule["alert"].endswith(key))
        long_window, short_window, factor, severity = expected[suffix]
        windows = re.findall(r"ratio_rate(\w+)", rule["expr"])
        assert windows == [long_window, short_window], rule["alert"]
        assert re.findall(r"\(([0-9.]+) \* \(1 - ", rule["expr"]) == [factor, factor], rule["alert"]
        assert rule["labels"]["severity"] == severity, rule["alert"]
        objective = f"nexus_api:slo_{rule['labels']['slo']}:objective"
        assert rule["expr"].count(objective) == 2, rule["alert"]
    objectives = {
        rule["record"]: rule["expr"] for rule in obslib.recording_rules() if "objective" in rule["record"]
    }
    assert objectives == {
        "nexus_api:slo_availability:objective": "vector(0.999)",
        "nexus_api:slo_latency:objective": "vector(0.99)",
    }


def test_the_rpo_target_and_lag_alarm_are_terraforms() -> None:
    """One fact in two languages: the rules and dashboards use telemetry's RPO target and lag warning, the
    runbooks Terraform's (the `database` output); they must be the same numbers."""
    import hcl2  # noqa: PLC0415

    terraform = obslib.ROOT / "terraform" / "aws"
    locals_: dict[str, object] = {}
    for name in ("database.tf", "monitoring.tf"):
        with (terraform / name).open() as handle:
            for block in hcl2.load(handle).get("locals", []):
                locals_.update(block)
    topology = locals_["database_topology"]
    assert isinstance(topology, dict)
    assert int(topology["rpo_target_seconds"]) == telemetry.RPO_TARGET_SECONDS
    assert topology["replica_lag_alarm_s"] == "${local.replica_lag_alarm_seconds}"
    assert int(str(locals_["replica_lag_alarm_seconds"])) == telemetry.REPLICA_LAG_WARNING_SECONDS
