"""nexus_platform.sandbox.observability against the real binaries: promtool, amtool and the blackbox exporter
accept what it renders, a real Prometheus loads the repository's rules and scrapes file_sd targets, a real
Alertmanager runs on the receivers without integrations, postgres_exporter publishes the toolkit's replica
metrics from a real PostgreSQL replica (and nothing of them from the primary), and the blackbox exporter
tells a ready origin from one that is not."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from nexus_api.localservers import PostgresServer
from tests.monitoring import obslib
from tests.support import free_port

from nexus_platform import telemetry
from nexus_platform.errors import NexusError
from nexus_platform.sandbox import observability as obs

PRIMARY, DR = "us-east-1", "eu-west-1"
HEARTBEATS_DDL = "CREATE TABLE region_heartbeats (region text PRIMARY KEY, checked_at timestamptz NOT NULL)"
HEARTBEAT = (
    "INSERT INTO region_heartbeats (region, checked_at) VALUES (%s, now()) "
    "ON CONFLICT (region) DO UPDATE SET checked_at = excluded.checked_at"
)
SAMPLE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:\\.|[^"\\])*)"')


def local() -> tuple[str, int]:
    return ("127.0.0.1", free_port())


def make_spec(directory: Path, **changes: Any) -> obs.MonitoringSpec:
    spec = obs.MonitoringSpec(
        directory=directory,
        prometheus=local(),
        alertmanager=local(),
        blackbox=local(),
        scrape_interval_s=5,
        apis=(
            obs.ApiTarget(PRIMARY, "primary", "127.0.0.1", free_port(), "nexus-api-primary-0"),
            obs.ApiTarget(DR, "dr", "127.0.0.1", free_port(), "nexus-api-dr-0"),
        ),
        origins=(
            obs.Origin(PRIMARY, "primary", f"http://127.0.0.1:{free_port()}/readyz"),
            obs.Origin(DR, "dr", f"http://127.0.0.1:{free_port()}/readyz"),
        ),
        global_url=f"http://127.0.0.1:{free_port()}/readyz",
        postgres_exporters=(
            obs.ExporterTarget(PRIMARY, "127.0.0.1", free_port()),
            obs.ExporterTarget(DR, "127.0.0.1", free_port()),
        ),
        haproxy_metrics=local(),
        link_metrics=local(),
    )
    return replace(spec, **changes)


# --- processes and HTTP -------------------------------------------------------------------------------------


class Process:
    def __init__(self, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.proc = proc
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@contextlib.contextmanager
def running(argv: Sequence[str], log: Path, env: Mapping[str, str] | None = None) -> Iterator[Process]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    try:
        yield Process(proc, log)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def wait_for(check: Callable[[], Any], process: Process, timeout: float, what: str) -> Any:
    """Poll `check` until it returns something truthy; fail with the process' output on timeout or exit."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        if process.proc.poll() is not None:
            pytest.fail(f"{what}: the process exited ({process.proc.returncode}):\n{process.output()}")
        try:
            last = check()
            if last:
                return last
        except OSError as error:
            last = error
        time.sleep(0.2)
    pytest.fail(f"{what} (last: {last!r}):\n{process.output()}")


def get(url: str, data: Any = None) -> str:
    body = None if data is None else json.dumps(data).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return str(response.read().decode())


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    out = []
    for line in text.splitlines():
        match = SAMPLE_RE.match(line)
        if match:
            name, labels, value = match.groups()
            out.append((name, dict(LABEL_RE.findall(labels or "")), float(value)))
    return out


@contextlib.contextmanager
def http_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


class Quiet(BaseHTTPRequestHandler):
    # HTTP/1.1 like the sandbox's HAProxy: production's module accepts only HTTP/1.1 and HTTP/2.
    protocol_version = "HTTP/1.1"

    def reply(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


# --- rendered files -----------------------------------------------------------------------------------------


def test_promtool_checks_the_config_and_the_repository_rules(tmp_path: Path) -> None:
    spec = make_spec(tmp_path)
    files = obs.write_all(spec, obslib.MONITORING)
    result = obslib.run("promtool", "check", "config", str(files.prometheus_config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(obslib.rule_files())} rule files found" in result.stdout
    for path in obslib.rule_files():
        assert f"Checking {path.resolve()}" in result.stdout

    config = yaml.safe_load(files.prometheus_config.read_text())
    assert config["rule_files"] == [str(obslib.RULES_DIR.resolve() / "*.yaml")]
    assert config["global"] == {"scrape_interval": "5s", "scrape_timeout": "5s", "evaluation_interval": "5s"}
    (alertmanagers,) = config["alerting"]["alertmanagers"]
    assert alertmanagers["static_configs"] == [{"targets": [f"127.0.0.1:{spec.alertmanager[1]}"]}]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"prometheus", "nexus-api", "blackbox", "postgres", "haproxy", "link"}
    assert jobs["postgres"]["honor_labels"] is True
    for name in jobs.keys() - {"prometheus"}:
        assert jobs[name]["file_sd_configs"] == [
            {"files": [str(files.targets[name])], "refresh_interval": "30s"}
        ]
    assert set(files.targets) == set(jobs) - {"prometheus"}
    assert set(files.postgres_queries) == {PRIMARY, DR}
    assert all(path.is_relative_to(tmp_path) for path in [*files.targets.values(), files.prometheus_data])


def test_without_haproxy_and_link_their_jobs_are_left_out(tmp_path: Path) -> None:
    files = obs.write_all(make_spec(tmp_path, haproxy_metrics=None, link_metrics=None), obslib.MONITORING)
    jobs = {job["job_name"] for job in yaml.safe_load(files.prometheus_config.read_text())["scrape_configs"]}
    assert jobs == {"prometheus", "nexus-api", "blackbox", "postgres"}


def test_the_blackbox_job_is_production_s_but_for_targets_and_exporter_address(tmp_path: Path) -> None:
    spec = make_spec(tmp_path)
    files = obs.write_all(spec, obslib.MONITORING)
    production = next(
        job
        for job in obslib.load_yaml(obslib.MONITORING / "prometheus.yaml")["scrape_configs"]
        if job["job_name"] == "blackbox"
    )
    sandbox = next(
        job
        for job in yaml.safe_load(files.prometheus_config.read_text())["scrape_configs"]
        if job["job_name"] == "blackbox"
    )
    assert sandbox["params"] == production["params"] == {"module": [obs.BLACKBOX_MODULE]}
    assert sandbox["metrics_path"] == production["metrics_path"]
    assert sandbox["relabel_configs"][:-1] == production["relabel_configs"][:-1]
    assert sandbox["relabel_configs"][-1] == {
        **production["relabel_configs"][-1],
        "replacement": f"127.0.0.1:{spec.blackbox[1]}",
    }
    groups = json.loads(files.targets["blackbox"].read_text())
    assert {group["targets"][0]: group["labels"] for group in groups} == {
        spec.origins[0].url: {"region": PRIMARY, "role": "primary", "endpoint": "origin"},
        spec.origins[1].url: {"region": DR, "role": "dr", "endpoint": "origin"},
        spec.global_url: {"region": "global", "endpoint": "global"},
    }
    # Production's label scheme, value for value (its static targets' label sets).
    production_labels = {frozenset(group["labels"]) for group in production["static_configs"]}
    assert {frozenset(group["labels"]) for group in groups} == production_labels


def test_blackbox_config_is_production_s_module_over_plain_http(tmp_path: Path) -> None:
    files = obs.write_all(make_spec(tmp_path), obslib.MONITORING)
    result = obslib.run(
        "prometheus-blackbox-exporter", "--config.check", f"--config.file={files.blackbox_config}"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    production = obslib.load_yaml(obslib.MONITORING / "blackbox.yaml")["modules"][obs.BLACKBOX_MODULE]
    sandbox = yaml.safe_load(files.blackbox_config.read_text())["modules"]
    assert set(sandbox) == {obs.BLACKBOX_MODULE}
    assert production["http"]["fail_if_not_ssl"] is True
    module = sandbox[obs.BLACKBOX_MODULE]
    assert module["http"].pop("fail_if_not_ssl") is False
    production["http"].pop("fail_if_not_ssl")
    assert module == production


def test_alertmanager_config_keeps_routes_and_drops_every_integration(tmp_path: Path) -> None:
    files = obs.write_all(make_spec(tmp_path), obslib.MONITORING)
    result = obslib.run("amtool", "check-config", str(files.alertmanager_config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    production = obslib.load_yaml(obslib.MONITORING / "alertmanager.yaml")
    sandbox = yaml.safe_load(files.alertmanager_config.read_text())
    assert sandbox["route"] == production["route"]
    assert sandbox["inhibit_rules"] == production["inhibit_rules"]
    assert sandbox["receivers"] == [{"name": receiver["name"]} for receiver in production["receivers"]]
    assert "http" not in files.alertmanager_config.read_text().replace("https://", "")


def test_the_query_file_names_the_toolkit_metrics() -> None:
    queries = obs.postgres_queries(DR, PRIMARY)
    names = {
        f"{namespace}_{column}"
        for namespace, query in queries.items()
        for metric in query["metrics"]
        for column, spec in metric.items()
        if spec["usage"] == "GAUGE"
    }
    assert names == {telemetry.REPLICA_LAG.name, telemetry.REPLICATION_STREAMING.name}
    for query in queries.values():
        labels = [
            column
            for metric in query["metrics"]
            for column, spec in metric.items()
            if spec["usage"] == "LABEL"
        ]
        assert tuple(labels) == telemetry.REPLICA_LAG.labels == telemetry.REPLICATION_STREAMING.labels
    with pytest.raises(ValueError, match="bad region"):
        obs.postgres_queries("x'; DROP TABLE records; --", PRIMARY)


def test_source_region_is_the_other_region(tmp_path: Path) -> None:
    spec = make_spec(tmp_path)
    assert obs.source_region(spec, DR) == PRIMARY
    assert obs.source_region(spec, PRIMARY) == DR
    with pytest.raises(ValueError, match="source region"):
        obs.source_region(spec, "ap-south-1")


def test_argv_listen_on_loopback_and_keep_data_under_the_directory(tmp_path: Path) -> None:
    spec = make_spec(tmp_path)
    files = obs.write_all(spec, obslib.MONITORING)
    prometheus = obs.prometheus_argv(spec, files)
    assert f"--web.listen-address=127.0.0.1:{spec.prometheus[1]}" in prometheus
    assert f"--storage.tsdb.path={tmp_path / 'prometheus-data'}" in prometheus
    assert "--storage.tsdb.retention.time=2h" in prometheus
    alertmanager = obs.alertmanager_argv(spec, files)
    assert "--cluster.listen-address=" in alertmanager
    assert f"--storage.path={tmp_path / 'alertmanager-data'}" in alertmanager
    assert f"--web.listen-address=127.0.0.1:{spec.blackbox[1]}" in obs.blackbox_argv(spec, files)
    dsn = obs.postgres_dsn(
        user="nexus ops", password="p@ss:w/rd", host="127.0.0.1", port=5432, dbname="nexus"
    )
    assert dsn == "postgresql://nexus%20ops:p%40ss%3Aw%2Frd@127.0.0.1:5432/nexus?sslmode=disable"
    argv, env = obs.postgres_exporter_argv_and_env(files, spec.postgres_exporters[1], dsn)
    assert env == {"DATA_SOURCE_NAME": dsn}
    assert f"--extend.query-path={files.postgres_queries[DR]}" in argv
    assert f"--web.listen-address=127.0.0.1:{spec.postgres_exporters[1].port}" in argv


# --- real servers -------------------------------------------------------------------------------------------


def _rule_count() -> int:
    return sum(1 for _ in obslib.rules())


def test_prometheus_loads_the_rules_and_scrapes_file_sd_targets(tmp_path: Path) -> None:
    class Metrics(Quiet):
        def do_GET(self) -> None:
            self.reply(
                200, b"# TYPE nexus_api_test_up gauge\nnexus_api_test_up 1\n", "text/plain; version=0.0.4"
            )

    with http_server(Metrics) as api_port:
        api = obs.ApiTarget(PRIMARY, "primary", "127.0.0.1", api_port, "nexus-api-primary-0")
        spec = make_spec(tmp_path, scrape_interval_s=1, apis=(api,))
        files = obs.write_all(spec, obslib.MONITORING)
        base = f"http://127.0.0.1:{spec.prometheus[1]}/api/v1"
        with running(obs.prometheus_argv(spec, files), tmp_path / "prometheus.log") as prometheus:

            def rules() -> list[dict[str, Any]]:
                groups = json.loads(get(f"{base}/rules"))["data"]["groups"]
                return [rule for group in groups for rule in group["rules"]]

            loaded = wait_for(rules, prometheus, 20, "Prometheus did not load the rules")
            assert len(loaded) == _rule_count()
            assert {rule["name"] for rule in loaded if rule["type"] == "alerting"} >= {"NexusRegionDown"}

            def api_targets(*, up: bool) -> list[dict[str, Any]]:
                active = json.loads(get(f"{base}/targets"))["data"]["activeTargets"]
                found = [target for target in active if target["labels"]["job"] == "nexus-api"]
                return found if found and (not up or all(t["health"] == "up" for t in found)) else []

            (target,) = wait_for(lambda: api_targets(up=True), prometheus, 20, "nexus-api target never up")
            assert target["labels"] == {
                "job": "nexus-api",
                "region": PRIMARY,
                "role": "primary",
                "instance": "nexus-api-primary-0",
            }
            wanted = {spec.origins[0].url, spec.origins[1].url, spec.global_url}

            def probe_targets() -> dict[str, dict[str, Any]]:
                active = json.loads(get(f"{base}/targets"))["data"]["activeTargets"]
                return {t["labels"]["instance"]: t for t in active if t["labels"]["job"] == "blackbox"}

            # Scrape pools are discovered one by one: the API's target up says nothing of the probes'.
            probes = wait_for(lambda: (p := probe_targets()).keys() >= wanted and p, prometheus, 20, "probes")
            assert set(probes) == wanted
            assert probes[spec.origins[0].url]["labels"]["endpoint"] == "origin"
            assert probes[spec.origins[0].url]["scrapeUrl"].startswith(
                f"http://127.0.0.1:{spec.blackbox[1]}/probe?"
            )
            alertmanagers = wait_for(
                lambda: json.loads(get(f"{base}/alertmanagers"))["data"]["activeAlertmanagers"],
                prometheus,
                20,
                "no Alertmanager discovered",
            )
            assert [am["url"] for am in alertmanagers] == [
                f"http://127.0.0.1:{spec.alertmanager[1]}/api/v2/alerts"
            ]

            # The orchestrator rewrites a targets file; no restart, no reload.
            second = obs.ApiTarget(DR, "dr", "127.0.0.1", api_port, "nexus-api-dr-0")
            obs.write_targets(replace(spec, apis=(api, second)))
            both = wait_for(
                lambda: len(found := api_targets(up=True)) == 2 and found, prometheus, 20, "rewrite ignored"
            )
            assert {t["labels"]["instance"] for t in both} == {"nexus-api-primary-0", "nexus-api-dr-0"}


def test_alertmanager_runs_without_gossip_and_routes_to_silent_receivers(tmp_path: Path) -> None:
    spec = make_spec(tmp_path)
    files = obs.write_all(spec, obslib.MONITORING)
    base = f"http://127.0.0.1:{spec.alertmanager[1]}/api/v2"
    with running(obs.alertmanager_argv(spec, files), tmp_path / "alertmanager.log") as alertmanager:
        status = wait_for(lambda: json.loads(get(f"{base}/status")), alertmanager, 20, "Alertmanager not up")
        assert status["cluster"]["status"] == "disabled"
        labels = {
            "alertname": "NexusRegionDown",
            "severity": "critical",
            "region": PRIMARY,
            "component": "edge",
        }
        get(f"{base}/alerts", [{"labels": labels}])
        alerts = wait_for(lambda: json.loads(get(f"{base}/alerts")), alertmanager, 10, "alert not visible")
        assert [alert["labels"] for alert in alerts] == [labels]
        assert [receiver["name"] for receiver in alerts[0]["receivers"]] == ["page-primary"]


def query(spec: obs.MonitoringSpec, expr: str) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{spec.prometheus[1]}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    result: list[dict[str, Any]] = json.loads(get(url))["data"]["result"]
    return result


@contextlib.contextmanager
def primary_origin_failing(tmp_path: Path, **changes: Any) -> Iterator[tuple[obs.MonitoringSpec, Process]]:
    """Blackbox and Prometheus running the repository's rules against origins of which the primary's fails."""
    statuses = {"/primary/readyz": 503, "/dr/readyz": 200, "/global/readyz": 200}

    class Origins(Quiet):
        def do_GET(self) -> None:
            self.reply(statuses.get(self.path, 404), b"{}", "application/json")

    with http_server(Origins) as port:
        spec = make_spec(
            tmp_path,
            scrape_interval_s=1,
            origins=(
                obs.Origin(PRIMARY, "primary", f"http://127.0.0.1:{port}/primary/readyz"),
                obs.Origin(DR, "dr", f"http://127.0.0.1:{port}/dr/readyz"),
            ),
            global_url=f"http://127.0.0.1:{port}/global/readyz",
            **changes,
        )
        files = obs.write_all(spec, obslib.MONITORING)
        with (
            running(obs.blackbox_argv(spec, files), tmp_path / "blackbox.log"),
            running(obs.prometheus_argv(spec, files), tmp_path / "prometheus.log") as prometheus,
        ):
            yield spec, prometheus


def region_down(spec: obs.MonitoringSpec, state: str | None = None) -> list[dict[str, Any]]:
    """Prometheus' NexusRegionDown alerts (in `state`, if given)."""
    alerts = json.loads(get(f"http://127.0.0.1:{spec.prometheus[1]}/api/v1/alerts"))["data"]["alerts"]
    return [
        a
        for a in alerts
        if a["labels"]["alertname"] == "NexusRegionDown" and (state is None or a["state"] == state)
    ]


def test_nexus_region_down_evaluates_on_the_sandbox_probes(tmp_path: Path) -> None:
    """The repository's NexusRegionDown, unchanged, turns pending for the region whose origin fails (its
    `for: 2m` is left as written, so firing takes two minutes: pending proves the expression matches)."""
    with primary_origin_failing(tmp_path) as (spec, prometheus):
        (alert,) = wait_for(lambda: region_down(spec), prometheus, 20, "NexusRegionDown never pending")
        assert alert["state"] == "pending"
        assert alert["labels"] == {
            "alertname": "NexusRegionDown",
            "region": PRIMARY,
            "severity": "critical",
            "component": "edge",
        }
        expected = {PRIMARY: "0", DR: "1", "global": "1"}

        def probes() -> dict[str, str]:
            return {s["metric"]["region"]: s["value"][1] for s in query(spec, "probe_success")}

        # The alert can turn pending before every origin has been scraped once: wait (bounded) until each
        # expected series is present, then compare the values.
        seen = wait_for(lambda: (r := probes()).keys() >= expected.keys() and r, prometheus, 20, "probes")
        assert seen == expected


def _exporter_samples(port: int) -> list[tuple[str, dict[str, str], float]]:
    return samples(get(f"http://127.0.0.1:{port}/metrics"))


def _connected_samples(port: int) -> list[tuple[str, dict[str, str], float]]:
    """The exporter's samples once it has reached its database (pg_up 1), else nothing."""
    found = _exporter_samples(port)
    return found if any(name == "pg_up" and value == 1 for name, _, value in found) else []


def test_postgres_exporter_publishes_replica_lag_only_on_the_replica(tmp_path: Path) -> None:
    primary = PostgresServer.create(name="obs-primary")
    replica: PostgresServer | None = None
    try:
        primary.start()
        replica = primary.replica("obs-replica")
        primary.execute(HEARTBEATS_DDL)
        primary.execute(HEARTBEAT, params=(PRIMARY,))
        replica.wait_replayed(primary)

        spec = make_spec(tmp_path, scrape_interval_s=1)
        files = obs.write_all(spec, obslib.MONITORING)
        servers = {PRIMARY: primary, DR: replica}
        with contextlib.ExitStack() as stack:
            exporters = {}
            for exporter in spec.postgres_exporters:
                server = servers[exporter.region]
                dsn = obs.postgres_dsn(
                    user="postgres", password=None, host="127.0.0.1", port=server.port, dbname="postgres"
                )
                argv, env = obs.postgres_exporter_argv_and_env(files, exporter, dsn)
                process = stack.enter_context(
                    running(argv, tmp_path / f"exporter-{exporter.region}.log", env)
                )
                exporters[exporter.region] = (exporter, process)

            found = {}
            for region, (exporter, process) in exporters.items():
                found[region] = wait_for(
                    functools.partial(_connected_samples, exporter.port),
                    process,
                    20,
                    f"{region} exporter never connected",
                )

            # Through Prometheus: honor_labels keeps the exporter's labels, and the repository's recording
            # rule sees the replica's region only.
            prometheus = stack.enter_context(running(obs.prometheus_argv(spec, files), tmp_path / "prom.log"))
            recorded = wait_for(
                lambda: query(spec, "nexus:db_replica_lag_seconds:max"), prometheus, 20, "lag never recorded"
            )
            assert [series["metric"] for series in recorded] == [
                {"__name__": "nexus:db_replica_lag_seconds:max", "region": DR}
            ]
            up = wait_for(lambda: len(r := query(spec, "pg_up == 1")) == 2 and r, prometheus, 20, "pg_up")
            assert {series["metric"]["region"] for series in up} == {PRIMARY, DR}

        toolkit = {telemetry.REPLICA_LAG.name, telemetry.REPLICATION_STREAMING.name}
        for region in (PRIMARY, DR):
            (load_error,) = [v for n, _, v in found[region] if n == "pg_exporter_user_queries_load_error"]
            assert load_error == 0, f"{region}: query file rejected"
            assert [v for n, _, v in found[region] if n == "pg_exporter_last_scrape_error"] == [0]
            # Only what the sandbox uses: no pg_stat_*, pg_settings_*, pg_database_* series.
            assert not [n for n, _, _ in found[region] if re.match(r"pg_(stat|settings|database)_", n)]
        assert not [name for name, _, _ in found[PRIMARY] if name in toolkit], "the primary reports a lag"

        replica_metrics = {name: (labels, value) for name, labels, value in found[DR] if name in toolkit}
        assert set(replica_metrics) == toolkit
        lag_labels, lag = replica_metrics[telemetry.REPLICA_LAG.name]
        streaming_labels, streaming = replica_metrics[telemetry.REPLICATION_STREAMING.name]
        # postgres_exporter 0.11 adds `server` (host:port of the database) to custom-query metrics; the rules
        # aggregate `max by (region)`, which drops it.
        expected = {"region": DR, "source_region": PRIMARY, "server": f"127.0.0.1:{replica.port}"}
        assert lag_labels == streaming_labels == expected
        assert 0 <= lag < 30
        assert streaming == 1
    finally:
        if replica is not None:
            replica.destroy()
        primary.destroy()


def test_blackbox_probes_readyz_through_the_sandbox_module(tmp_path: Path) -> None:
    state = {"status": 200}

    class Readyz(Quiet):
        def do_GET(self) -> None:
            self.reply(state["status"], b'{"status": "ready"}', "application/json")

    with http_server(Readyz) as port:
        url = f"http://127.0.0.1:{port}/readyz"
        spec = make_spec(tmp_path, origins=(obs.Origin(PRIMARY, "primary", url),))
        files = obs.write_all(spec, obslib.MONITORING)
        probe = f"http://127.0.0.1:{spec.blackbox[1]}/probe?" + urllib.parse.urlencode(
            {"module": obs.BLACKBOX_MODULE, "target": url}
        )

        def success() -> float:
            (value,) = [v for n, _, v in samples(get(probe)) if n == "probe_success"]
            return value

        with running(obs.blackbox_argv(spec, files), tmp_path / "blackbox.log") as blackbox:
            wait_for(lambda: get(f"http://127.0.0.1:{spec.blackbox[1]}/-/healthy"), blackbox, 20, "not up")
            assert success() == 1
            state["status"] = 503
            assert success() == 0


def test_the_sandbox_shortens_an_alerts_for_and_it_fires(tmp_path: Path) -> None:
    """sandbox.toml's alert_for: Prometheus loads copies of the rules with only that alert's `for:` changed
    (the repository's file keeps production's 2m), and NexusRegionDown then fires against a failing origin."""
    production = yaml.safe_load((obslib.MONITORING / "rules" / "edge.yaml").read_text())
    with primary_origin_failing(tmp_path, alert_for={"NexusRegionDown": "2s"}) as (spec, prometheus):
        (alert,) = wait_for(
            lambda: region_down(spec, "firing"), prometheus, 30, "NexusRegionDown never fired"
        )
        assert alert["labels"]["region"] == PRIMARY
    copied = yaml.safe_load((tmp_path / "rules" / "edge.yaml").read_text())
    rules = {r.get("alert"): r for g in copied["groups"] for r in g["rules"]}
    originals = {r.get("alert"): r for g in production["groups"] for r in g["rules"]}
    assert rules["NexusRegionDown"]["for"] == "2s" and originals["NexusRegionDown"]["for"] == "2m"
    assert {k: v for k, v in rules.items() if k != "NexusRegionDown"} == {
        k: v for k, v in originals.items() if k != "NexusRegionDown"
    }
    assert yaml.safe_load((obslib.MONITORING / "rules" / "edge.yaml").read_text()) == production

    with pytest.raises(NexusError, match="names no alert"):
        obs.write_all(make_spec(tmp_path / "bad", alert_for={"NoSuchAlert": "1s"}), obslib.MONITORING)
