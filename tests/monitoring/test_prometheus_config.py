"""monitoring/prometheus.yaml, checked honestly although Debian's promtool and prometheus are built without
Kubernetes service discovery: a temporary copy replaces each kubernetes_sd_configs block by
file_sd_configs whose targets carry the __meta_kubernetes_* labels Kubernetes discovery would attach
(sd_targets.yaml), everything else unchanged (relabel_configs included). `promtool check config` checks
that copy (and the rule files it loads), and a real Prometheus started on it, in a private network
namespace, shows what the relabeling keeps, drops and labels. Only the service-account file paths of the
kubelet job are pointed at temporary files."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.helm.helmchart import KUBE_VERSIONS, render_file
from tests.monitoring import obslib
from tests.support import tfvars

from nexus_platform import model

CONFIG = obslib.MONITORING / "prometheus.yaml"
SD_TARGETS = Path(__file__).with_name("sd_targets.yaml")
NETNS_RUN = Path(__file__).with_name("netns_run.py")
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def _config() -> dict[str, Any]:
    return obslib.load_yaml(CONFIG)


def _sd_file(directory: Path, name: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    path = directory / f"{name}.json"
    path.write_text(
        json.dumps([{"targets": [entry["address"]], "labels": entry["meta"]} for entry in entries])
    )
    return {"files": [str(path)]}


def file_sd_copy(directory: Path) -> Path:
    """The configuration with file_sd in place of Kubernetes discovery, written into `directory`."""
    fixtures = obslib.load_yaml(SD_TARGETS)
    config = copy.deepcopy(_config())
    for job in config["scrape_configs"]:
        if "kubernetes_sd_configs" in job:
            assert len(job.pop("kubernetes_sd_configs")) == 1, job["job_name"]
            job["file_sd_configs"] = [_sd_file(directory, job["job_name"], fixtures[job["job_name"]])]
    (alertmanagers,) = config["alerting"]["alertmanagers"]
    alertmanagers.pop("kubernetes_sd_configs")
    alertmanagers["file_sd_configs"] = [_sd_file(directory, "alertmanagers", fixtures["alertmanagers"])]
    config["rule_files"] = [str(CONFIG.parent / pattern) for pattern in config["rule_files"]]
    text = yaml.safe_dump(config, sort_keys=False)
    if SA_DIR in text:
        secrets = directory / "serviceaccount"
        secrets.mkdir()
        (secrets / "token").write_text("test-token\n")
        key, crt = secrets / "ca.key", secrets / "ca.crt"
        openssl = [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=test",
        ]
        result = obslib.run(*openssl, "-keyout", str(key), "-out", str(crt))
        assert result.returncode == 0, result.stderr
        text = text.replace(SA_DIR, str(secrets))
    path = directory / "prometheus.yaml"
    path.write_text(text)
    return path


def test_every_kubernetes_discovery_block_has_example_targets() -> None:
    fixtures = obslib.load_yaml(SD_TARGETS)
    jobs = {job["job_name"] for job in _config()["scrape_configs"] if "kubernetes_sd_configs" in job}
    assert set(fixtures) == jobs | {"alertmanagers"}
    for name, entries in fixtures.items():
        assert any(entry["expect"] != "drop" for entry in entries), f"{name}: nothing kept"
        if name not in ("kubelet-cadvisor",):
            assert any(entry["expect"] == "drop" for entry in entries), f"{name}: nothing dropped"


def test_the_copy_differs_only_in_discovery(tmp_path: Path) -> None:
    original = _config()
    converted = obslib.load_yaml(file_sd_copy(tmp_path))
    for before, after in zip(original["scrape_configs"], converted["scrape_configs"], strict=True):
        for key in set(before) | set(after):
            if key in ("kubernetes_sd_configs", "file_sd_configs", "tls_config", "authorization"):
                continue
            assert before.get(key) == after.get(key), (before["job_name"], key)
    assert original["global"] == converted["global"]


def test_promtool_check_config(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: install the Debian package `prometheus`"
    result = obslib.run(promtool, "check", "config", str(file_sd_copy(tmp_path)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(obslib.rule_files())} rule files found" in result.stdout


def test_the_unmodified_file_fails_only_on_kubernetes_discovery() -> None:
    """Documents why the copy is needed: this promtool knows no kubernetes_sd_configs."""
    promtool = shutil.which("promtool")
    assert promtool
    result = obslib.run(promtool, "check", "config", "--syntax-only", str(CONFIG))
    assert result.returncode != 0
    assert "kubernetes_sd_configs" in result.stdout + result.stderr


def test_scrape_jobs_cover_the_platform() -> None:
    config = _config()
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for name in (
        "nexus-api",
        "istiod",
        "envoy-stats",
        "node-exporter",
        "kube-state-metrics",
        "yace",
        "blackbox",
    ):
        assert name in jobs, name
    assert config["rule_files"] == ["rules/*.yaml"]
    assert config["global"]["external_labels"]["region"] == "${NEXUS_REGION}"
    assert jobs["yace"]["honor_labels"] is True, "YACE's own region label must survive"
    assert jobs["kube-state-metrics"]["honor_labels"] is True


def test_blackbox_probes_both_origins_and_the_global_endpoints() -> None:
    domain = tfvars("production")["domain_name"]
    production = model.environment("production")
    primary, dr = production.region("primary").name, production.region("dr").name
    job = next(job for job in _config()["scrape_configs"] if job["job_name"] == "blackbox")
    targets = {target: group["labels"] for group in job["static_configs"] for target in group["targets"]}
    assert targets == {
        f"https://{primary}.origin.{domain}/readyz": {
            "region": primary,
            "role": "primary",
            "endpoint": "origin",
        },
        f"https://{dr}.origin.{domain}/readyz": {"region": dr, "role": "dr", "endpoint": "origin"},
        f"https://api.{domain}/readyz": {"region": "global", "endpoint": "global"},
        f"https://app.{domain}/readyz": {"region": "global", "endpoint": "global"},
    }
    modules = obslib.load_yaml(obslib.MONITORING / "blackbox.yaml")["modules"]
    assert job["params"]["module"] == ["http_readyz"]
    assert set(job["params"]["module"]) <= set(modules)


def test_route53_health_checks_are_mapped_to_the_region_they_check() -> None:
    """The health checks' Name tags come from terraform/aws/dns.tf: <name prefix>-<role>-readyz."""
    dns = (obslib.ROOT / "terraform" / "aws" / "dns.tf").read_text()
    assert 'Name = "${local.regions.primary.name}-readyz"' in dns
    assert 'Name = "${local.regions.dr.name}-readyz"' in dns
    production = model.environment("production")
    regions = {region.role: region.name for region in production.regions}
    job = next(job for job in _config()["scrape_configs"] if job["job_name"] == "yace")
    mapping = {rule["replacement"]: rule["regex"] for rule in job["metric_relabel_configs"]}
    for role, region in regions.items():
        name = f"{production.name_prefix}-{role}-readyz"
        assert re.fullmatch(mapping[region], f"aws_route53_health_check_status_minimum;{name}"), role
        other = next(r for r in regions.values() if r != region)
        assert not re.fullmatch(mapping[other], f"aws_route53_health_check_status_minimum;{name}"), role
    assert not re.fullmatch(
        mapping[regions["primary"]], "aws_rds_replica_lag_maximum;nexus-production-primary-readyz"
    )


def test_blackbox_module_config_is_accepted_by_the_exporter() -> None:
    exporter = shutil.which("prometheus-blackbox-exporter")
    assert exporter, "install the Debian package `prometheus-blackbox-exporter`"
    result = obslib.run(exporter, "--config.check", f"--config.file={obslib.MONITORING / 'blackbox.yaml'}")
    assert result.returncode == 0, result.stdout + result.stderr


def test_blackbox_config_check_rejects_a_broken_module(tmp_path: Path) -> None:
    exporter = shutil.which("prometheus-blackbox-exporter")
    assert exporter
    broken = tmp_path / "blackbox.yaml"
    broken.write_text(
        "modules:\n  http_readyz:\n    prober: http\n    http:\n      valid_status_code: [200]\n"
    )
    result = obslib.run(exporter, "--config.check", f"--config.file={broken}")
    assert result.returncode != 0


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What a real Prometheus, started on the file_sd copy in a private network namespace, discovered."""
    for tool in ("prometheus", "unshare", "ip"):
        assert shutil.which(tool), f"{tool} is missing"
    directory = tmp_path_factory.mktemp("prometheus")
    config = file_sd_copy(directory)
    fixtures = obslib.load_yaml(SD_TARGETS)
    static = sum(
        len(group["targets"])
        for job in _config()["scrape_configs"]
        for group in job.get("static_configs", [])
    )
    expected = sum(len(entries) for name, entries in fixtures.items() if name != "alertmanagers") + static
    env = dict(os.environ, NEXUS_REGION="us-east-1", NEXUS_CLUSTER="nexus-production-primary")
    result = obslib.run(
        "unshare",
        "--net",
        "--",
        sys.executable,
        str(NETNS_RUN),
        "prometheus",
        str(config),
        str(expected),
        timeout=60,
        env=env,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_relabeling_keeps_labels_and_drops_what_it_should(running: dict[str, Any]) -> None:
    def found(targets: list[dict[str, Any]], job: str, entry: dict[str, Any]) -> list[dict[str, Any]]:
        """The targets discovered from this fixture entry of this job (its file_sd file and meta labels; the
        address may have been rewritten by the relabeling)."""
        meta = {str(k): str(v) for k, v in entry["meta"].items()}
        return [
            t
            for t in targets
            if meta.items() <= t["discoveredLabels"].items()
            and Path(t["discoveredLabels"]["__meta_filepath"]).stem == job
        ]

    active, dropped = running["targets"]["activeTargets"], running["targets"]["droppedTargets"]
    for job, entries in obslib.load_yaml(SD_TARGETS).items():
        if job == "alertmanagers":
            continue
        for entry in entries:
            address = entry["address"]
            if entry["expect"] == "drop":
                assert found(dropped, job, entry) and not found(active, job, entry), (job, address)
            else:
                (target,) = found(active, job, entry)
                assert target["labels"] == entry["expect"], (job, address)


def test_blackbox_targets_are_probed_through_the_exporter(running: dict[str, Any]) -> None:
    probes = [
        target for target in running["targets"]["activeTargets"] if target["labels"]["job"] == "blackbox"
    ]
    assert len(probes) == 4
    for probe in probes:
        url = urllib.parse.urlparse(probe["scrapeUrl"])
        assert url.netloc == "prometheus-blackbox-exporter.monitoring.svc:9115"
        assert url.path == "/probe"
        query = urllib.parse.parse_qs(url.query)
        assert query == {"module": ["http_readyz"], "target": [probe["labels"]["instance"]]}
        assert probe["labels"]["region"] in {"us-east-1", "eu-west-1", "global"}


def test_alerts_go_to_the_discovered_alertmanagers_only(running: dict[str, Any]) -> None:
    active = [am["url"] for am in running["alertmanagers"]["activeAlertmanagers"]]
    dropped = [am["url"] for am in running["alertmanagers"]["droppedAlertmanagers"]]
    assert active == ["http://127.0.10.1:9093/api/v2/alerts"]
    assert dropped == ["http://127.0.10.1:9094/api/v2/alerts"]


def test_the_real_prometheus_loads_every_rule(running: dict[str, Any]) -> None:
    loaded = sum(len(group["rules"]) for group in running["rules"]["groups"])
    assert loaded == sum(1 for _ in obslib.rules())


def test_external_labels_take_the_region_from_the_environment(running: dict[str, Any]) -> None:
    loaded = yaml.safe_load(running["config"])
    assert loaded["global"]["external_labels"] == {
        "region": "us-east-1",
        "cluster": "nexus-production-primary",
    }


def test_nexus_api_is_scraped_through_istio_metrics_merging(running: dict[str, Any]) -> None:
    """STRICT mTLS refuses a plaintext scrape of the app's port: the kept target is the sidecar agent's merged
    endpoint, on the port and path the injector writes into the prometheus.io annotations."""
    (target,) = [t for t in running["targets"]["activeTargets"] if t["labels"]["job"] == "nexus-api"]
    assert target["scrapeUrl"] == "http://127.0.1.1:15020/stats/prometheus"


def test_nexus_api_job_selects_the_label_the_chart_renders() -> None:
    """One source for the label: the job keeps what helm/nexus puts on its pods, and so does the fixture."""
    deployment = render_file("values-primary.yaml", KUBE_VERSIONS[-1]).one("Deployment")
    rendered = deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"]
    job = next(job for job in _config()["scrape_configs"] if job["job_name"] == "nexus-api")
    (keep,) = [
        r
        for r in job["relabel_configs"]
        if r.get("source_labels") == ["__meta_kubernetes_pod_label_app_kubernetes_io_name"]
    ]
    assert keep["action"] == "keep" and re.fullmatch(keep["regex"], rendered)
    fixture = obslib.load_yaml(SD_TARGETS)["nexus-api"][0]["meta"]
    assert fixture["__meta_kubernetes_pod_label_app_kubernetes_io_name"] == rendered
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true", "the chart must ask Istio to merge its metrics"


def test_envoy_stats_leave_the_pods_whose_statistics_istio_merges() -> None:
    """nexus-api's pods are scraped once, through the merged endpoint: envoy-stats drops the label the
    nexus-api job keeps (the one the chart renders), so the mesh's request metrics of those pods never count
    twice."""
    deployment = render_file("values-primary.yaml", KUBE_VERSIONS[-1]).one("Deployment")
    rendered = deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"]
    jobs = {job["job_name"]: job for job in _config()["scrape_configs"]}
    label = "__meta_kubernetes_pod_label_app_kubernetes_io_name"
    actions = {
        name: [
            (r["action"], r["regex"])
            for r in jobs[name]["relabel_configs"]
            if r.get("source_labels") == [label]
        ]
        for name in ("nexus-api", "envoy-stats")
    }
    ((kept, keep_regex),) = actions["nexus-api"]
    ((dropped, drop_regex),) = actions["envoy-stats"]
    assert (kept, dropped) == ("keep", "drop") and keep_regex == drop_regex
    assert re.fullmatch(drop_regex, rendered)
