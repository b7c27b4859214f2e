"""The sandbox's monitoring: configuration of Prometheus, Alertmanager, the blackbox exporter and
postgres_exporter.

This module only renders files and command lines; the sandbox orchestrator starts the processes. Every
process listens on 127.0.0.1 only, and the repository's own alert rules (``monitoring/rules/*.yaml``, loaded
unchanged by absolute path) evaluate against what the sandbox scrapes, so ``NexusRegionDown`` fires when the
primary region's origin is down, exactly as in production.

What each sandbox process plays:

- **Prometheus**: production runs one per region in EKS (kube-prometheus-stack), each labelling what it
  scrapes with the node's region. The sandbox runs one Prometheus for both regions; every target carries the
  ``region`` (and ``role``) it belongs to, so the rules' ``by (region)`` aggregations work unchanged. The
  jobs keep production's names (``nexus-api``, ``blackbox``, ``prometheus``); targets come from ``file_sd``
  files next to the configuration, which :func:`write_targets` can rewrite while Prometheus runs. The rules'
  ``for:`` durations stay as written: only the scrape and evaluation interval are shortened.
- **Blackbox exporter**: production's in-cluster exporter with production's module ``http_readyz``
  (``monitoring/blackbox.yaml``) probing each region's origin and the global endpoint, same job and labels
  (``region``, ``role``, ``endpoint: origin|global``). One difference: the sandbox's origins are plain
  HTTP, so the module is rendered with ``fail_if_not_ssl: false`` (everything else as in production). With
  no certificate, ``probe_ssl_earliest_cert_expiry`` is never recorded and the certificate alerts stay
  silent.
- **postgres_exporter** (one per region) replaces YACE's CloudWatch ``ReplicaLag``: on a replica it
  publishes the toolkit's own metrics (``nexus_platform.telemetry.REPLICA_LAG`` and
  ``REPLICATION_STREAMING``) computed in SQL: the lag is the age of the newest ``region_heartbeats`` row of
  the source region (the row the primary's nexus-api upserts on every /readyz), streaming is 1 while
  ``pg_stat_wal_receiver`` reports ``streaming``. On a primary it publishes neither, so the primary region
  reports no fake lag. Its database role needs SELECT on ``region_heartbeats`` and ``pg_monitor`` (or
  superuser): without ``pg_read_all_stats`` PostgreSQL hides the WAL receiver's status and streaming would
  read 0.
- **Alertmanager**: production's route tree and inhibit rules (``monitoring/alertmanager.yaml``), but every
  receiver (SNS topics, the on-call webhook) is replaced by one of the same name without integrations, so
  nothing in the sandbox reaches the network. Alerts are read through the API (``/api/v2/alerts``), which is
  what the DR drill does. No gossip port (``--cluster.listen-address=``): there is no peer.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

import yaml

from nexus_platform import model, telemetry
from nexus_platform.errors import NexusError

#: The blackbox module probing /readyz: production's name, so the job's `params` stay production's.
BLACKBOX_MODULE: Final = "http_readyz"
#: Samples older than this are dropped: the sandbox needs the last minutes, not history.
RETENTION: Final = "2h"

_REGION_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class ApiTarget:
    """A nexus-api instance, scraped on /metrics."""

    region: str
    role: str
    host: str
    port: int
    instance: str


@dataclass(frozen=True)
class Origin:
    """A region's origin: the /readyz URL of its regional load balancer, e.g. http://127.0.0.1:18080/readyz."""

    region: str
    role: str
    url: str


@dataclass(frozen=True)
class ExporterTarget:
    """A region's postgres_exporter (pointed at that region's database)."""

    region: str
    host: str
    port: int


@dataclass(frozen=True)
class MonitoringSpec:
    """What to monitor and where each monitoring process listens (every address on 127.0.0.1)."""

    directory: Path
    prometheus: tuple[str, int]
    alertmanager: tuple[str, int]
    blackbox: tuple[str, int]
    scrape_interval_s: int
    apis: tuple[ApiTarget, ...]
    origins: tuple[Origin, ...]
    global_url: str
    postgres_exporters: tuple[ExporterTarget, ...]
    haproxy_metrics: tuple[str, int] | None = None
    link_metrics: tuple[str, int] | None = None
    # The toolkit's Pushgateway (production's job nexus-ops): what `nexus` pushes, nexus_ops_* series.
    pushgateway: tuple[str, int] | None = None
    # Alert name -> `for:` in the sandbox (sandbox.toml [monitoring] alert_for); the others keep production's.
    alert_for: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MonitoringFiles:
    """Everything :func:`write_all` wrote, and the data directories the processes use."""

    prometheus_config: Path
    prometheus_data: Path
    alertmanager_config: Path
    alertmanager_data: Path
    blackbox_config: Path
    #: scrape job name -> its file_sd targets file
    targets: Mapping[str, Path]
    #: region -> the postgres_exporter query file of that region
    postgres_queries: Mapping[str, Path]


def repository_monitoring_dir() -> Path:
    """The checkout's ``monitoring/`` directory (rules, production configurations)."""
    return model.repo_root() / "monitoring"


# --- files --------------------------------------------------------------------------------------------------


def _write(path: Path, text: str) -> Path:
    # Rename into place: Prometheus watches the file_sd files and must never read a half-written one.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return path


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


def _load(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except OSError as exc:
        raise NexusError(f"cannot read {path}: {exc}") from exc


def _address(endpoint: tuple[str, int]) -> str:
    return f"{endpoint[0]}:{endpoint[1]}"


def _paths(directory: Path) -> MonitoringFiles:
    return MonitoringFiles(
        prometheus_config=directory / "prometheus.yaml",
        prometheus_data=directory / "prometheus-data",
        alertmanager_config=directory / "alertmanager.yaml",
        alertmanager_data=directory / "alertmanager-data",
        blackbox_config=directory / "blackbox.yaml",
        targets={},
        postgres_queries={},
    )


def _target_groups(spec: MonitoringSpec) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {
        "nexus-api": [
            {
                "targets": [f"{api.host}:{api.port}"],
                "labels": {"region": api.region, "role": api.role, "instance": api.instance},
            }
            for api in spec.apis
        ],
        "blackbox": [
            *(
                {
                    "targets": [origin.url],
                    "labels": {"region": origin.region, "role": origin.role, "endpoint": "origin"},
                }
                for origin in spec.origins
            ),
            {"targets": [spec.global_url], "labels": {"region": "global", "endpoint": "global"}},
        ],
        # The target's region labels pg_up; the replica metrics bring their own (honor_labels).
        "postgres": [
            {"targets": [f"{exporter.host}:{exporter.port}"], "labels": {"region": exporter.region}}
            for exporter in spec.postgres_exporters
        ],
    }
    if spec.haproxy_metrics is not None:
        groups["haproxy"] = [{"targets": [_address(spec.haproxy_metrics)], "labels": {}}]
    if spec.link_metrics is not None:
        groups["link"] = [{"targets": [_address(spec.link_metrics)], "labels": {}}]
    return groups


def write_targets(spec: MonitoringSpec) -> dict[str, Path]:
    """(Re)write every job's file_sd targets file; a running Prometheus picks the change up by itself."""
    return {
        job: _write(spec.directory / "targets" / f"{job}.json", json.dumps(groups, indent=2) + "\n")
        for job, groups in _target_groups(spec).items()
    }


def _rule_files(monitoring_dir: Path, spec: MonitoringSpec) -> str:
    """The repository's rules, in place; or, when the sandbox shortens some alerts' `for:`, copies of them
    with only those durations changed."""
    rules_dir = (monitoring_dir / "rules").resolve()
    # A glob that matches nothing loads no rule without complaint: an empty sandbox must not look healthy.
    if not any(rules_dir.glob("*.yaml")):
        raise NexusError(
            f"no alert rules in {rules_dir}", hint="point the sandbox at the repository checkout"
        )
    if not spec.alert_for:
        return str(rules_dir / "*.yaml")
    copies = spec.directory / "rules"
    copies.mkdir(parents=True, exist_ok=True)
    found: set[str] = set()
    for source in sorted(rules_dir.glob("*.yaml")):
        document = yaml.safe_load(source.read_text())
        for group in document.get("groups", []):
            for rule in group.get("rules", []):
                if rule.get("alert") in spec.alert_for:
                    rule["for"] = spec.alert_for[rule["alert"]]
                    found.add(rule["alert"])
        _write(copies / source.name, _dump(document))
    unknown = sorted(set(spec.alert_for) - found)
    if unknown:
        raise NexusError(
            f"sandbox.toml [monitoring] alert_for names no alert of {rules_dir}: {', '.join(unknown)}",
            hint="use the alert names of monitoring/rules/*.yaml",
        )
    return str(copies / "*.yaml")


def _file_sd(path: Path) -> list[dict[str, Any]]:
    # The watch on the file is the fast path; the refresh is the fallback if an inotify event is lost.
    return [{"files": [str(path)], "refresh_interval": "30s"}]


def _blackbox_job(monitoring_dir: Path, spec: MonitoringSpec, targets_file: Path) -> dict[str, Any]:
    """Production's blackbox job (module, relabeling to __param_target, instance = probed URL), with file_sd
    targets and the local exporter as the address every probe goes through."""
    production = _load(monitoring_dir / "prometheus.yaml")
    job: dict[str, Any] = copy.deepcopy(
        next(job for job in production["scrape_configs"] if job["job_name"] == "blackbox")
    )
    job.pop("static_configs", None)
    job["file_sd_configs"] = _file_sd(targets_file)
    exporter_rules = [rule for rule in job["relabel_configs"] if rule.get("target_label") == "__address__"]
    if len(exporter_rules) != 1 or job.get("params", {}).get("module") != [BLACKBOX_MODULE]:
        raise NexusError(
            f"{monitoring_dir / 'prometheus.yaml'}: the blackbox job no longer has the shape the sandbox "
            f"expects (module {BLACKBOX_MODULE}, one relabeling to __address__)"
        )
    exporter_rules[0]["replacement"] = _address(spec.blackbox)
    return job


def prometheus_config(
    spec: MonitoringSpec, monitoring_dir: Path, targets: Mapping[str, Path]
) -> dict[str, Any]:
    interval = f"{spec.scrape_interval_s}s"

    scrape_configs: list[dict[str, Any]] = [
        {"job_name": "prometheus", "static_configs": [{"targets": [_address(spec.prometheus)]}]},
        {
            "job_name": "nexus-api",
            "metrics_path": "/metrics",
            "file_sd_configs": _file_sd(targets["nexus-api"]),
        },
        _blackbox_job(monitoring_dir, spec, targets["blackbox"]),
        # The exporter's region/source_region labels on the replica metrics must win over the target's.
        {"job_name": "postgres", "honor_labels": True, "file_sd_configs": _file_sd(targets["postgres"])},
    ]
    if spec.pushgateway is not None:
        # As production's job: the pushed series keep their own job and region labels.
        scrape_configs.append(
            {
                "job_name": "nexus-ops",
                "honor_labels": True,
                "static_configs": [{"targets": [_address(spec.pushgateway)]}],
            }
        )
    for job in ("haproxy", "link"):
        if job in targets:
            scrape_configs.append(
                {"job_name": job, "metrics_path": "/metrics", "file_sd_configs": _file_sd(targets[job])}
            )
    return {
        "global": {
            "scrape_interval": interval,
            # The timeout may not exceed the interval (Prometheus' default of 10 s would, at the sandbox's).
            "scrape_timeout": interval,
            "evaluation_interval": interval,
        },
        "rule_files": [_rule_files(monitoring_dir, spec)],
        "alerting": {
            "alertmanagers": [
                {"api_version": "v2", "static_configs": [{"targets": [_address(spec.alertmanager)]}]}
            ]
        },
        "scrape_configs": scrape_configs,
    }


def blackbox_config(monitoring_dir: Path) -> dict[str, Any]:
    """Production's ``http_readyz`` module, for plain-HTTP origins (the only change)."""
    production = _load(monitoring_dir / "blackbox.yaml")
    module: dict[str, Any] = copy.deepcopy(production["modules"][BLACKBOX_MODULE])
    module["http"]["fail_if_not_ssl"] = False
    return {"modules": {BLACKBOX_MODULE: module}}


def alertmanager_config(monitoring_dir: Path) -> dict[str, Any]:
    """Production's routes and inhibit rules; receivers of the same names without any integration."""
    config: dict[str, Any] = copy.deepcopy(_load(monitoring_dir / "alertmanager.yaml"))
    config["receivers"] = [{"name": receiver["name"]} for receiver in config["receivers"]]
    return config


# --- postgres_exporter --------------------------------------------------------------------------------------


def _split(metric: telemetry.Metric) -> tuple[str, str]:
    """postgres_exporter names a query's metrics <namespace>_<column>: the namespace and column that give
    exactly the toolkit's metric name."""
    namespace, column = metric.name.rsplit("_", 1)
    return namespace, column


def _sql_literal(region: str) -> str:
    if not _REGION_RE.match(region):
        raise ValueError(f"bad region name {region!r}")
    return f"'{region}'"


def source_region(spec: MonitoringSpec, region: str) -> str:
    """The region whose primary replicates into `region`: the sandbox's other region."""
    regions = (
        {api.region for api in spec.apis}
        | {origin.region for origin in spec.origins}
        | {exporter.region for exporter in spec.postgres_exporters}
    )
    others = sorted(regions - {region})
    if region not in regions or len(others) != 1:
        raise ValueError(f"cannot tell the source region of {region!r} among {sorted(regions)}")
    return others[0]


def postgres_queries(region: str, source: str) -> dict[str, Any]:
    """The exporter's custom queries for the database of `region`, replicating from `source`.

    Both queries return no row on a primary (``pg_is_in_recovery()`` false), and the lag query none before the
    source's first heartbeat has replayed, so neither metric is ever invented.
    """
    labels = f"{_sql_literal(region)} AS region, {_sql_literal(source)} AS source_region"
    lag_namespace, lag_column = _split(telemetry.REPLICA_LAG)
    streaming_namespace, streaming_column = _split(telemetry.REPLICATION_STREAMING)

    def label_metrics() -> list[dict[str, Any]]:
        return [
            {"region": {"usage": "LABEL", "description": "Region of this replica."}},
            {"source_region": {"usage": "LABEL", "description": "Region of the primary it replicates from."}},
        ]

    return {
        lag_namespace: {
            # now() on the replica minus the primary's now() at the heartbeat: both clocks are this machine's,
            # so the difference is replay delay plus the heartbeat interval, never negative but for rounding.
            "query": (
                f"SELECT {labels}, "  # noqa: S608 - the only values interpolated are checked region names
                f"GREATEST(0, EXTRACT(EPOCH FROM now() - max(checked_at)))::float8 AS {lag_column} "
                f"FROM region_heartbeats WHERE region = {_sql_literal(source)} AND pg_is_in_recovery() "
                "HAVING max(checked_at) IS NOT NULL"
            ),
            "metrics": [
                *label_metrics(),
                {lag_column: {"usage": "GAUGE", "description": telemetry.REPLICA_LAG.help}},
            ],
        },
        streaming_namespace: {
            "query": (
                f"SELECT {labels}, "  # noqa: S608 - the only values interpolated are checked region names
                "CASE WHEN EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') "
                f"THEN 1 ELSE 0 END::float8 AS {streaming_column} "
                "WHERE pg_is_in_recovery()"
            ),
            "metrics": [
                *label_metrics(),
                {streaming_column: {"usage": "GAUGE", "description": telemetry.REPLICATION_STREAMING.help}},
            ],
        },
    }


def postgres_dsn(
    *, user: str, password: str | None, host: str, port: int, dbname: str, sslmode: str = "disable"
) -> str:
    """A postgresql:// URL for ``DATA_SOURCE_NAME``, with user and password quoted."""
    secret = f":{quote(password, safe='')}" if password else ""
    account = f"{quote(user, safe='')}{secret}"
    return f"postgresql://{account}@{host}:{port}/{quote(dbname, safe='')}?sslmode={sslmode}"


# --- all together -------------------------------------------------------------------------------------------


def write_all(spec: MonitoringSpec, monitoring_dir: Path | None = None) -> MonitoringFiles:
    """Write every configuration, targets and query file under ``spec.directory``.

    ``monitoring_dir`` is the repository's ``monitoring/`` (default: this checkout's): its rules are
    referenced in place, its production configurations are the base of the sandbox's.
    """
    monitoring_dir = (monitoring_dir or repository_monitoring_dir()).resolve()
    spec.directory.mkdir(parents=True, exist_ok=True)
    base = _paths(spec.directory)
    targets = write_targets(spec)
    _write(base.prometheus_config, _dump(prometheus_config(spec, monitoring_dir, targets)))
    _write(base.blackbox_config, _dump(blackbox_config(monitoring_dir)))
    _write(base.alertmanager_config, _dump(alertmanager_config(monitoring_dir)))
    queries = {
        exporter.region: _write(
            spec.directory / "postgres-exporter" / f"{exporter.region}.queries.yaml",
            _dump(postgres_queries(exporter.region, source_region(spec, exporter.region))),
        )
        for exporter in spec.postgres_exporters
    }
    for data in (base.prometheus_data, base.alertmanager_data):
        data.mkdir(exist_ok=True)
    return MonitoringFiles(
        prometheus_config=base.prometheus_config,
        prometheus_data=base.prometheus_data,
        alertmanager_config=base.alertmanager_config,
        alertmanager_data=base.alertmanager_data,
        blackbox_config=base.blackbox_config,
        targets=targets,
        postgres_queries=queries,
    )


# --- command lines ------------------------------------------------------------------------------------------


def _binary(name: str, package: str) -> str:
    found = shutil.which(name)
    if not found:
        raise NexusError(f"{name} not found", hint=f"install the Debian package {package}")
    return found


def prometheus_argv(spec: MonitoringSpec, files: MonitoringFiles) -> list[str]:
    return [
        _binary("prometheus", "prometheus"),
        f"--config.file={files.prometheus_config}",
        f"--storage.tsdb.path={files.prometheus_data}",
        f"--storage.tsdb.retention.time={RETENTION}",
        f"--web.listen-address={_address(spec.prometheus)}",
        # POST /-/reload after a configuration change (file_sd targets need none); loopback only.
        "--web.enable-lifecycle",
    ]


def alertmanager_argv(spec: MonitoringSpec, files: MonitoringFiles) -> list[str]:
    return [
        _binary("prometheus-alertmanager", "prometheus-alertmanager"),
        f"--config.file={files.alertmanager_config}",
        f"--storage.path={files.alertmanager_data}",
        f"--data.retention={RETENTION}",
        f"--web.listen-address={_address(spec.alertmanager)}",
        # No peer in the sandbox: an empty address disables the gossip listener (by default on 0.0.0.0:9094).
        "--cluster.listen-address=",
    ]


def blackbox_argv(spec: MonitoringSpec, files: MonitoringFiles) -> list[str]:
    return [
        _binary("prometheus-blackbox-exporter", "prometheus-blackbox-exporter"),
        f"--config.file={files.blackbox_config}",
        f"--web.listen-address={_address(spec.blackbox)}",
    ]


def pushgateway_argv(spec: MonitoringSpec, files: MonitoringFiles) -> list[str]:
    """The Pushgateway, persisting what was pushed (a restart must not forget the last backup's time)."""
    assert spec.pushgateway is not None
    return [
        _binary("prometheus-pushgateway", "prometheus-pushgateway"),
        f"--web.listen-address={_address(spec.pushgateway)}",
        f"--persistence.file={files.prometheus_data.parent / 'pushgateway.data'}",
        "--persistence.interval=1s",
    ]


def postgres_exporter_argv_and_env(
    files: MonitoringFiles, exporter: ExporterTarget, dsn: str
) -> tuple[list[str], dict[str, str]]:
    """The exporter of `exporter.region`'s database; `dsn` is a postgresql:// URL (see :func:`postgres_dsn`).
    The environment holds only what to add to the orchestrator's own."""
    argv = [
        _binary("prometheus-postgres-exporter", "prometheus-postgres-exporter"),
        f"--web.listen-address={exporter.host}:{exporter.port}",
        f"--extend.query-path={files.postgres_queries[exporter.region]}",
        # Only pg_up and the replica metrics are used: the built-in pg_stat_* maps, pg_settings_* and the
        # database/bgwriter collectors would be hundreds of series nobody reads.
        "--disable-default-metrics",
        "--disable-settings-metrics",
        "--no-collector.database",
        "--no-collector.bgwriter",
    ]
    return argv, {"DATA_SOURCE_NAME": dsn}
