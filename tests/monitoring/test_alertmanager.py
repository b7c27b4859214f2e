"""monitoring/alertmanager.yaml: amtool accepts it, routing by severity and region is tested with
`amtool config routes test`, and inhibition and delivery are tested against a real Alertmanager (in a private
network namespace, its receivers pointed at a local capture server; routes and inhibit rules unchanged)."""

from __future__ import annotations

import copy
import json
import re
import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.monitoring import obslib

from nexus_platform import model

CONFIG = obslib.MONITORING / "alertmanager.yaml"
NETNS_RUN = Path(__file__).with_name("netns_run.py")


@pytest.fixture(scope="module")
def amtool() -> str:
    path = shutil.which("amtool")
    assert path, (
        "amtool is missing: install the Debian package `prometheus-alertmanager` (Makefile APT_PACKAGES)"
    )
    return path


def _config() -> dict[str, Any]:
    return obslib.load_yaml(CONFIG)


def test_amtool_check_config(amtool: str) -> None:
    result = obslib.run(amtool, "check-config", str(CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


ROUTES = [
    ({"severity": "critical", "region": "us-east-1"}, "page-primary"),
    ({"severity": "critical", "region": "eu-west-1"}, "page-dr"),
    ({"severity": "critical", "region": "global"}, "page-global"),
    ({"severity": "warning", "region": "us-east-1"}, "ticket-primary"),
    ({"severity": "warning", "region": "eu-west-1"}, "ticket-dr"),
    ({"severity": "warning", "region": "global"}, "ticket-global"),
    ({"severity": "info", "region": "us-east-1"}, "blackhole"),
    ({"severity": "critical"}, "page-primary"),
    ({"alertname": "Unlabelled"}, "ticket-primary"),
    (
        {"alertname": "NexusRegionDown", "severity": "critical", "region": "eu-west-1", "component": "edge"},
        "page-dr",
    ),
    (
        {"alertname": "DrDrillFailed", "severity": "warning", "region": "global", "component": "dr"},
        "ticket-global",
    ),
]


@pytest.mark.parametrize(("labels", "receiver"), ROUTES)
def test_routing(amtool: str, labels: dict[str, str], receiver: str) -> None:
    pairs = [f"{key}={value}" for key, value in labels.items()]
    result = obslib.run(
        amtool,
        "config",
        "routes",
        "test",
        f"--config.file={CONFIG}",
        f"--verify.receivers={receiver}",
        *pairs,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_routing_test_catches_a_wrong_receiver(amtool: str) -> None:
    result = obslib.run(
        amtool,
        "config",
        "routes",
        "test",
        f"--config.file={CONFIG}",
        "--verify.receivers=ticket-dr",
        "severity=critical",
        "region=eu-west-1",
    )
    assert result.returncode != 0


def test_every_alert_routes_to_a_pager_or_ticket_receiver_by_its_severity(amtool: str) -> None:
    for rule in obslib.alerts():
        labels = {"alertname": rule["alert"], **rule["labels"]}
        labels.setdefault("region", "eu-west-1")
        kind = {"critical": "page", "warning": "ticket"}[labels["severity"]]
        target = {"us-east-1": "primary", "eu-west-1": "dr", "global": "global"}[labels["region"]]
        pairs = [f"{key}={value}" for key, value in labels.items()]
        result = obslib.run(
            amtool,
            "config",
            "routes",
            "test",
            f"--config.file={CONFIG}",
            f"--verify.receivers={kind}-{target}",
            *pairs,
        )
        assert result.returncode == 0, (rule["alert"], result.stdout)


def test_sns_receivers_use_the_topics_terraform_creates() -> None:
    monitoring_tf = (obslib.ROOT / "terraform" / "aws" / "monitoring.tf").read_text()
    assert 'name              = "${local.name_prefix}-alerts"' in monitoring_tf
    assert 'name              = "${local.name_prefix}-alerts-global"' in monitoring_tf
    production = model.environment("production")
    prefix = production.name_prefix
    expected = {
        "primary": (production.region("primary").name, f"{prefix}-alerts"),
        "dr": (production.region("dr").name, f"{prefix}-alerts"),
        "global": ("us-east-1", f"{prefix}-alerts-global"),
    }
    receivers = {receiver["name"]: receiver for receiver in _config()["receivers"]}
    for kind in ("page", "ticket"):
        for target, (region, topic) in expected.items():
            (sns,) = receivers[f"{kind}-{target}"]["sns_configs"]
            assert sns["topic_arn"] == f"arn:aws:sns:{region}:111122223333:{topic}", (kind, target)
            assert sns["sigv4"]["region"] == region
    for name, receiver in receivers.items():
        if name.startswith("page-"):
            assert receiver["webhook_configs"][0]["send_resolved"] is True


def test_region_down_inhibits_the_per_service_alerts_of_its_region() -> None:
    rule = next(
        rule
        for rule in _config()["inhibit_rules"]
        if rule["source_matchers"] == ['alertname="NexusRegionDown"']
    )
    assert rule["equal"] == ["region"]
    components = {alert["labels"]["component"] for alert in obslib.alerts()}
    inhibited = re.search(r'component=~"([^"]+)"', rule["target_matchers"][0]).group(1).split("|")  # type: ignore[union-attr]
    assert set(inhibited) <= components
    # The edge, data-protection and DR alerts stay visible while a region is down: they are what to act on.
    assert not {"edge", "rds", "backup", "dr"} & set(inhibited)


def _capture_config(directory: Path) -> Path:
    config = copy.deepcopy(_config())
    for receiver in config["receivers"]:
        name = receiver["name"]
        receiver.clear()
        receiver["name"] = name
        if name != "blackhole":
            receiver["webhook_configs"] = [{"url": f"http://127.0.0.1:{{CAPTURE_PORT}}/{name}"}]

    def fast(route: dict[str, Any]) -> None:  # the timers only; matchers and receivers stay
        for key in ("group_wait", "group_interval"):
            if key in route:
                route[key] = "1s"
        for child in route.get("routes", []):
            fast(child)

    config["route"]["group_wait"] = "1s"
    config["route"]["group_interval"] = "1s"
    fast(config["route"])
    path = directory / "alertmanager.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _alert(name: str, **labels: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "labels": {"alertname": name, **labels},
        "annotations": {"summary": name},
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(hours=1)).isoformat(),
    }


def test_inhibition_and_delivery_with_a_real_alertmanager(tmp_path: Path) -> None:
    for tool in ("prometheus-alertmanager", "unshare", "ip"):
        assert shutil.which(tool), f"{tool} is missing"
    alerts = [
        _alert("NexusRegionDown", severity="critical", component="edge", region="us-east-1"),
        _alert(
            "NexusApiAvailabilityBurnFast",
            severity="critical",
            component="nexus-api",
            slo="availability",
            region="us-east-1",
        ),
        _alert(
            "KubePodCrashLooping", severity="warning", component="kubernetes", region="us-east-1", pod="a"
        ),
        _alert(
            "KubePodCrashLooping", severity="warning", component="kubernetes", region="eu-west-1", pod="b"
        ),
        _alert("Route53HealthCheckFailing", severity="critical", component="edge", region="us-east-1"),
        _alert("RdsReplicationBroken", severity="critical", component="rds", region="eu-west-1"),
        _alert("RdsReplicaLagAboveRpo", severity="critical", component="rds", region="eu-west-1"),
        _alert("DrDrillFailed", severity="warning", component="dr", region="global", mode="async"),
    ]
    expected = {
        "page-primary": {"NexusRegionDown", "Route53HealthCheckFailing"},
        "page-dr": {"RdsReplicationBroken"},
        "ticket-dr": {"KubePodCrashLooping"},
        "ticket-global": {"DrDrillFailed"},
    }
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"alerts": alerts, "expect_receivers": sorted(expected)}))
    result = obslib.run(
        "unshare",
        "--net",
        "--",
        sys.executable,
        str(NETNS_RUN),
        "alertmanager",
        str(_capture_config(tmp_path)),
        str(spec),
        timeout=60,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    data = json.loads(result.stdout)
    notified = {receiver: set(names) for receiver, names in data["notifications"].items()}
    assert notified == expected
    suppressed = {
        (alert["labels"]["alertname"], alert["labels"]["region"])
        for alert in data["alerts"]
        if alert["status"]["inhibitedBy"]
    }
    assert suppressed == {
        ("NexusApiAvailabilityBurnFast", "us-east-1"),
        ("KubePodCrashLooping", "us-east-1"),
        ("RdsReplicaLagAboveRpo", "eu-west-1"),
    }
