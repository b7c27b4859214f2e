#!/usr/bin/env python3
"""Generate the Grafana dashboards of the Nexus Platform (the JSON files beside this script).

    .venv/bin/python monitoring/dashboards/generate.py          # write the JSON files
    .venv/bin/python monitoring/dashboards/generate.py --check  # exit 1 if a committed file differs

The committed JSON must equal this script's output (tests/monitoring checks it), so edit the dashboards
here. The toolkit's metric names and targets come from nexus_platform.telemetry, the service's from its
README's table (the tests check every PromQL expression parses and uses only known metrics).

Datasources (monitoring/grafana.yaml): one Prometheus per region (uids prometheus-<region>) and Elasticsearch
for the logs. Every dashboard has a `datasource` variable; the platform overview repeats its row for every
Prometheus selected, so both regions show side by side.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexus_platform import telemetry

JSON = dict[str, Any]

HERE = Path(__file__).resolve().parent
SCHEMA_VERSION = 38  # Grafana 9.5 / 10
PROMETHEUS: JSON = {"type": "prometheus", "uid": "${datasource}"}
ELASTICSEARCH: JSON = {"type": "elasticsearch", "uid": "elasticsearch-logs"}

# Recording rules (monitoring/rules/*.yaml).
AVAILABILITY_OBJECTIVE = "nexus_api:slo_availability:objective"
LATENCY_OBJECTIVE = "nexus_api:slo_latency:objective"
REPLICA_LAG_MAX = "nexus:db_replica_lag_seconds:max"


def errors_ratio(window: str) -> str:
    return f"nexus_api:slo_availability_errors:ratio_rate{window}"


def slow_ratio(window: str) -> str:
    return f"nexus_api:slo_latency_slow:ratio_rate{window}"


API = 'route=~"/api/.+"'
REGION = 'region=~"$region"'


def rate(metric: str, selector: str = "", by: str = "region", func: str = "rate") -> str:
    """sum by (<by>) (<func>(<metric>{<selector>}[$__rate_interval]))"""
    matchers = f"{{{selector}}}" if selector else ""
    return f"sum by ({by}) ({func}({metric}{matchers}[$__rate_interval]))"


# ----------------------------------------------------------------------------------------------------
# panel builders


@dataclass(frozen=True)
class Target:
    expr: str
    legend: str = ""
    instant: bool = False


@dataclass(frozen=True)
class Threshold:
    value: float | None
    color: str


GREEN_RED = (Threshold(None, "green"), Threshold(1, "red"))


@dataclass
class Panel:
    title: str
    kind: str  # timeseries | stat | table | logs | row
    targets: Sequence[Target] = ()
    unit: str = "short"
    width: int = 8
    height: int = 8
    description: str = ""
    thresholds: Sequence[Threshold] = ()
    threshold_lines: bool = False
    mappings: Sequence[JSON] = ()
    minimum: float | None = None
    maximum: float | None = None
    repeat: str | None = None
    es_query: str | None = None
    extra_options: JSON = field(default_factory=dict)


def _thresholds(steps: Sequence[Threshold]) -> JSON:
    return {
        "mode": "absolute",
        "steps": [{"color": step.color, "value": step.value} for step in steps]
        or [{"color": "green", "value": None}],
    }


def _prometheus_targets(targets: Sequence[Target]) -> list[JSON]:
    return [
        {
            "datasource": PROMETHEUS,
            "expr": target.expr,
            "instant": target.instant,
            "legendFormat": target.legend or "__auto",
            "range": not target.instant,
            "refId": chr(ord("A") + index),
        }
        for index, target in enumerate(targets)
    ]


def _render(panel: Panel, panel_id: int, x: int, y: int) -> JSON:
    grid = {"h": panel.height, "w": panel.width, "x": x, "y": y}
    if panel.kind == "row":
        row: JSON = {"collapsed": False, "gridPos": grid, "id": panel_id, "panels": [], "title": panel.title}
        row["type"] = "row"
        if panel.repeat:
            row["repeat"] = panel.repeat
        return row
    defaults: JSON = {"unit": panel.unit, "thresholds": _thresholds(panel.thresholds)}
    if panel.minimum is not None:
        defaults["min"] = panel.minimum
    if panel.maximum is not None:
        defaults["max"] = panel.maximum
    if panel.mappings:
        defaults["mappings"] = list(panel.mappings)
    if panel.kind == "timeseries":
        defaults["custom"] = {
            "drawStyle": "line",
            "fillOpacity": 10,
            "lineWidth": 1,
            "showPoints": "never",
            "thresholdsStyle": {"mode": "line" if panel.threshold_lines else "off"},
        }
        defaults["color"] = {"mode": "palette-classic"}
    elif panel.kind == "stat":
        defaults["color"] = {"mode": "thresholds"}
    options: JSON
    if panel.kind == "timeseries":
        options = {
            "legend": {"calcs": ["lastNotNull", "max"], "displayMode": "table", "placement": "bottom"},
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
    elif panel.kind == "stat":
        options = {
            "colorMode": "background",
            "graphMode": "none",
            "justifyMode": "auto",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "textMode": "value_and_name",
        }
    elif panel.kind == "table":
        options = {"showHeader": True}
    else:
        options = {
            "showTime": True,
            "wrapLogMessage": True,
            "sortOrder": "Descending",
            "enableLogDetails": True,
        }
    options.update(panel.extra_options)
    rendered: JSON = {
        "datasource": ELASTICSEARCH if panel.kind == "logs" else PROMETHEUS,
        "description": panel.description,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "gridPos": grid,
        "id": panel_id,
        "options": options,
        "title": panel.title,
        "type": panel.kind,
    }
    if panel.kind == "logs":
        rendered["targets"] = [
            {
                "datasource": ELASTICSEARCH,
                "query": panel.es_query or "",
                "refId": "A",
                "metrics": [{"id": "1", "type": "logs"}],
                "bucketAggs": [],
                "timeField": "@timestamp",
            }
        ]
    else:
        rendered["targets"] = _prometheus_targets(panel.targets)
    return rendered


def _layout(panels: Sequence[Panel]) -> list[JSON]:
    out: list[JSON] = []
    x = y = row_height = 0
    for panel_id, panel in enumerate(panels, start=1):
        if panel.kind == "row":
            if x:
                y += row_height
            out.append(_render(panel, panel_id, 0, y))
            y += 1
            x = row_height = 0
            continue
        if x + panel.width > 24:
            y += row_height
            x = row_height = 0
        out.append(_render(panel, panel_id, x, y))
        x += panel.width
        row_height = max(row_height, panel.height)
    return out


def _datasource_variable(*, multi: bool) -> JSON:
    return {
        "current": {},
        "hide": 0,
        "includeAll": multi,
        "label": "Prometheus",
        "multi": multi,
        "name": "datasource",
        "options": [],
        "query": "prometheus",
        "refresh": 1,
        "regex": "/^Prometheus /",
        "type": "datasource",
    }


def _query_variable(name: str, label: str, query: str) -> JSON:
    return {
        "current": {},
        "datasource": PROMETHEUS,
        "definition": query,
        "hide": 0,
        "includeAll": True,
        "allValue": ".*",
        "label": label,
        "multi": True,
        "name": name,
        "options": [],
        "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "refresh": 2,
        "sort": 1,
        "type": "query",
    }


def dashboard(
    uid: str, title: str, description: str, panels: Sequence[Panel], variables: Sequence[JSON]
) -> JSON:
    return {
        "annotations": {"list": []},
        "description": description,
        "editable": False,
        "graphTooltip": 1,
        "links": [
            {
                "asDropdown": True,
                "includeVars": True,
                "keepTime": True,
                "tags": ["nexus"],
                "title": "Nexus dashboards",
                "type": "dashboards",
            }
        ],
        "panels": _layout(panels),
        "refresh": "1m",
        "schemaVersion": SCHEMA_VERSION,
        "tags": ["nexus"],
        "templating": {"list": list(variables)},
        "time": {"from": "now-6h", "to": "now"},
        "timezone": "utc",
        "title": title,
        "uid": uid,
        "version": 1,
    }


UP_DOWN = (
    {
        "type": "value",
        "options": {"0": {"text": "DOWN", "color": "red"}, "1": {"text": "UP", "color": "green"}},
    },
)
YES_NO_STREAMING = (
    {
        "type": "value",
        "options": {"0": {"text": "BROKEN", "color": "red"}, "1": {"text": "streaming", "color": "green"}},
    },
)
PASS_FAIL = (
    {
        "type": "value",
        "options": {"0": {"text": "FAILED", "color": "red"}, "1": {"text": "passed", "color": "green"}},
    },
)
RED_WHEN_ZERO = (Threshold(None, "red"), Threshold(1, "green"))


def lag_thresholds() -> tuple[Threshold, ...]:
    return (
        Threshold(None, "green"),
        Threshold(telemetry.REPLICA_LAG_WARNING_SECONDS, "orange"),
        Threshold(telemetry.RPO_TARGET_SECONDS, "red"),
    )


# ----------------------------------------------------------------------------------------------------
# the dashboards


def platform_overview() -> JSON:
    panels = [
        Panel("Seen from ${datasource}", "row", repeat="datasource"),
        Panel(
            "Regional origins (/readyz)",
            "stat",
            [Target('max by (region) (probe_success{job="blackbox", endpoint="origin"})', "{{region}}")],
            width=6,
            height=5,
            thresholds=RED_WHEN_ZERO,
            mappings=UP_DOWN,
            description="Probes of each region's origin through its ALB: up when nexus-api there is ready.",
        ),
        Panel(
            "Global endpoints",
            "stat",
            [Target('max by (instance) (probe_success{job="blackbox", endpoint="global"})', "{{instance}}")],
            width=6,
            height=5,
            thresholds=RED_WHEN_ZERO,
            mappings=UP_DOWN,
            description="api.<domain> (Route 53 failover) and app.<domain> (CloudFront origin group).",
        ),
        Panel(
            "Route 53 health checks",
            "stat",
            [Target("min by (region) (aws_route53_health_check_status_minimum)", "{{region}}")],
            width=6,
            height=5,
            thresholds=RED_WHEN_ZERO,
            mappings=UP_DOWN,
            description="What Route 53 decides failover on (CloudWatch HealthCheckStatus).",
        ),
        Panel(
            "Firing alerts",
            "stat",
            [Target('count by (severity) (ALERTS{alertstate="firing"})', "{{severity}}")],
            width=6,
            height=5,
            thresholds=GREEN_RED,
        ),
        Panel(
            "API requests per second",
            "timeseries",
            [
                Target(
                    f"sum by (region) (rate(nexus_api_http_requests_total{{{API}}}[$__rate_interval]))",
                    "{{region}}",
                )
            ],
            unit="reqps",
        ),
        Panel(
            "API error ratio (5xx, 5m)",
            "timeseries",
            [
                Target(errors_ratio("5m"), "{{region}}"),
                Target(f"1 - {AVAILABILITY_OBJECTIVE}", "error budget (99.9 %)"),
            ],
            unit="percentunit",
        ),
        Panel(
            "Write mode",
            "stat",
            [Target("max by (region) (nexus_api_read_only)", "{{region}}")],
            mappings=(
                {
                    "type": "value",
                    "options": {
                        "0": {"text": "writable", "color": "green"},
                        "1": {"text": "read-only", "color": "blue"},
                    },
                },
            ),
            description="Read-only is expected in the DR region until it is promoted.",
        ),
        Panel(
            "Probe duration",
            "timeseries",
            [Target('max by (instance) (probe_duration_seconds{job="blackbox"})', "{{instance}}")],
            unit="s",
        ),
        Panel(
            "Database replica lag vs RPO budget",
            "timeseries",
            [Target(REPLICA_LAG_MAX, "{{region}}")],
            unit="s",
            thresholds=lag_thresholds(),
            threshold_lines=True,
            description="Worse of CloudWatch ReplicaLag and the toolkit's heartbeat lag; red = RPO (5 min).",
        ),
        Panel(
            "TLS certificate days left",
            "stat",
            [
                Target(
                    'min by (instance) (probe_ssl_earliest_cert_expiry{job="blackbox"} - time()) / 86400',
                    "{{instance}}",
                )
            ],
            unit="d",
            thresholds=(Threshold(None, "red"), Threshold(7, "orange"), Threshold(21, "green")),
        ),
    ]
    return dashboard(
        "nexus-platform-overview",
        "Nexus / Platform overview",
        "Both regions and the global endpoint at a glance: one row per Prometheus (region) selected.",
        panels,
        [_datasource_variable(multi=True)],
    )


def golden_signals() -> JSON:
    sel = f"{API}, {REGION}"
    rate_by = rate("nexus_api_http_requests_total", sel, by="region, route")
    quantile = (
        "histogram_quantile({q}, sum by (le, region) "
        "(rate(nexus_api_http_request_duration_seconds_bucket{{{sel}}}[$__rate_interval])))"
    )
    panels = [
        Panel("Traffic", "row"),
        Panel(
            "Requests per second by route",
            "timeseries",
            [Target(rate_by, "{{region}} {{route}}")],
            unit="reqps",
            width=12,
        ),
        Panel(
            "Requests per second by status class",
            "timeseries",
            [
                Target(
                    "sum by (region, status_class) (label_replace("
                    f"rate(nexus_api_http_requests_total{{{sel}}}[$__rate_interval]), "
                    '"status_class", "${1}xx", "status", "(.).."))',
                    "{{region}} {{status_class}}",
                )
            ],
            unit="reqps",
            width=12,
        ),
        Panel("Errors", "row"),
        Panel(
            "5xx ratio",
            "timeseries",
            [
                Target(f"{errors_ratio('5m')}{{{REGION}}}", "{{region}} 5m"),
                Target(f"{errors_ratio('1h')}{{{REGION}}}", "{{region}} 1h"),
            ],
            unit="percentunit",
        ),
        Panel(
            "Availability burn rate (1h)",
            "timeseries",
            [
                Target(
                    f"{errors_ratio('1h')}{{{REGION}}} / on () group_left () (1 - {AVAILABILITY_OBJECTIVE})",
                    "{{region}}",
                )
            ],
            thresholds=(Threshold(None, "green"), Threshold(6, "orange"), Threshold(14.4, "red")),
            threshold_lines=True,
            description="1 = spending the 99.9 % objective's budget exactly over 30 days; 14.4 pages.",
        ),
        Panel(
            "Write outcomes",
            "timeseries",
            [
                Target(
                    rate("nexus_api_record_writes_total", REGION, by="region, outcome"),
                    "{{region}} {{outcome}}",
                )
            ],
            unit="ops",
        ),
        Panel("Latency", "row"),
        Panel(
            "Latency percentiles",
            "timeseries",
            [
                Target(quantile.format(q=q, sel=sel), f"{{{{region}}}} p{int(q * 100)}")
                for q in (0.5, 0.9, 0.99)
            ],
            unit="s",
            width=12,
        ),
        Panel(
            "Share slower than 100 ms",
            "timeseries",
            [
                Target(f"{slow_ratio('5m')}{{{REGION}}}", "{{region}}"),
                Target(f"1 - {LATENCY_OBJECTIVE}", "objective (1 %)"),
            ],
            unit="percentunit",
            width=12,
        ),
        Panel("Saturation", "row"),
        Panel(
            "Requests in flight",
            "timeseries",
            [Target(f"sum by (region) (nexus_api_http_requests_in_flight{{{REGION}}})", "{{region}}")],
        ),
        Panel(
            "Database pool",
            "timeseries",
            [
                Target(f"sum by (region) (nexus_api_db_pool_size{{{REGION}}})", "{{region}} held"),
                Target(f"sum by (region) (nexus_api_db_pool_available{{{REGION}}})", "{{region}} idle"),
                Target(f"sum by (region) (nexus_api_db_pool_max{{{REGION}}})", "{{region}} max"),
                Target(
                    f"sum by (region) (nexus_api_db_pool_requests_waiting{{{REGION}}})", "{{region}} waiting"
                ),
            ],
        ),
        Panel(
            "Pool wait and timeouts",
            "timeseries",
            [
                Target(
                    rate("nexus_api_db_pool_wait_seconds_total", REGION)
                    + " / "
                    + rate("nexus_api_db_pool_requests_total", REGION),
                    "{{region}} mean wait",
                ),
                Target(
                    f"sum by (region) (rate(nexus_api_db_pool_timeouts_total{{{REGION}}}[$__rate_interval]))",
                    "{{region}} timeouts/s",
                ),
                Target(
                    rate("nexus_api_db_pool_connection_errors_total", REGION),
                    "{{region}} connection errors/s",
                ),
                Target(
                    rate("nexus_api_db_pool_connections_lost_total", REGION),
                    "{{region}} connections lost/s",
                ),
                Target(
                    rate("nexus_api_db_pool_requests_queued_total", REGION),
                    "{{region}} queued/s",
                ),
            ],
        ),
        Panel(
            "CPU per pod",
            "timeseries",
            [
                Target(
                    rate(
                        "container_cpu_usage_seconds_total",
                        f'container="nexus-api", {REGION}',
                        by="region, pod",
                    ),
                    "{{pod}}",
                )
            ],
            unit="cores",
        ),
        Panel(
            "Memory per pod",
            "timeseries",
            [
                Target(
                    "sum by (region, pod) "
                    f'(container_memory_working_set_bytes{{container="nexus-api", {REGION}}})',
                    "{{pod}}",
                )
            ],
            unit="bytes",
        ),
        Panel(
            "Cache hit ratio",
            "timeseries",
            [
                Target(
                    rate("nexus_api_cache_requests_total", f'result="hit", {REGION}')
                    + " / "
                    + rate("nexus_api_cache_requests_total", f'result=~"hit|miss", {REGION}'),
                    "{{region}}",
                ),
                Target(
                    rate("nexus_api_cache_requests_total", f'result="error", {REGION}'),
                    "{{region}} errors/s",
                ),
                Target(
                    rate("nexus_api_cache_invalidations_total", f'result="error", {REGION}'),
                    "{{region}} invalidation errors/s",
                ),
            ],
            unit="percentunit",
        ),
        Panel("Role and dependencies", "row"),
        Panel(
            "Database reachable / schema ready / read-only",
            "timeseries",
            [
                Target(f"min by (region) (nexus_api_db_up{{{REGION}}})", "{{region}} db up"),
                Target(f"min by (region) (nexus_api_schema_ready{{{REGION}}})", "{{region}} schema ready"),
                Target(f"max by (region) (nexus_api_read_only{{{REGION}}})", "{{region}} read-only"),
            ],
            width=12,
        ),
        Panel(
            "Database role changes",
            "timeseries",
            [
                Target(
                    rate("nexus_api_db_role_changes_total", REGION, func="increase"),
                    "{{region}}",
                )
            ],
            width=12,
            description="Promotion, fencing or demotion seen by the service.",
        ),
        Panel(
            "Builds serving",
            "table",
            [Target(f"count by (region, role, version) (nexus_api_build_info{{{REGION}}})", instant=True)],
            width=8,
        ),
        Panel(
            "Error and critical logs",
            "logs",
            width=16,
            es_query='kubernetes.container_name:"nexus-api" AND level:(error OR critical)',
            description="From Elasticsearch (Fluentd pipeline, logging/): the service's JSON log lines.",
        ),
        Panel(
            "Error log lines per second",
            "timeseries",
            [
                Target(
                    rate("fluentd_nexus_api_error_logs_total", REGION, by="region, level"),
                    "{{region}} {{level}}",
                )
            ],
            width=24,
            height=6,
        ),
    ]
    return dashboard(
        "nexus-api-golden-signals",
        "Nexus / nexus-api golden signals",
        "Traffic, errors, latency and saturation of nexus-api, with its SLO burn rates.",
        panels,
        [
            _datasource_variable(multi=False),
            _query_variable("region", "Region", "label_values(nexus_api_build_info, region)"),
        ],
    )


def data_stores() -> JSON:
    lag = telemetry.REPLICA_LAG.name
    streaming = telemetry.REPLICATION_STREAMING.name
    backup = telemetry.BACKUP_LAST_SUCCESS_TIMESTAMP.name
    rpo = telemetry.RPO_TARGET_SECONDS
    panels = [
        Panel("RDS PostgreSQL", "row"),
        Panel(
            "Replica lag vs RPO budget",
            "timeseries",
            [
                Target(
                    "max by (region, dimension_DBInstanceIdentifier) (aws_rds_replica_lag_maximum)",
                    "CloudWatch {{dimension_DBInstanceIdentifier}}",
                ),
                Target(f"max by (region) ({lag})", "toolkit {{region}}"),
            ],
            unit="s",
            width=12,
            thresholds=lag_thresholds(),
            threshold_lines=True,
            description="Orange: early warning (60 s). Red: the RPO budget (5 min).",
        ),
        Panel(
            "RPO budget used",
            "stat",
            [Target(f"{REPLICA_LAG_MAX} / {rpo}", "{{region}}")],
            unit="percentunit",
            width=6,
            thresholds=(Threshold(None, "green"), Threshold(0.2, "orange"), Threshold(1, "red")),
        ),
        Panel(
            "Replication",
            "stat",
            [Target(f"min by (region) ({streaming})", "{{region}}")],
            width=6,
            thresholds=RED_WHEN_ZERO,
            mappings=YES_NO_STREAMING,
        ),
        Panel(
            "CPU",
            "timeseries",
            [
                Target(
                    "max by (dimension_DBInstanceIdentifier) (aws_rds_cpuutilization_average)",
                    "{{dimension_DBInstanceIdentifier}}",
                )
            ],
            unit="percent",
        ),
        Panel(
            "Free storage",
            "timeseries",
            [
                Target(
                    "min by (dimension_DBInstanceIdentifier) (aws_rds_free_storage_space_minimum)",
                    "{{dimension_DBInstanceIdentifier}}",
                )
            ],
            unit="bytes",
        ),
        Panel(
            "Freeable memory",
            "timeseries",
            [
                Target(
                    "min by (dimension_DBInstanceIdentifier) (aws_rds_freeable_memory_minimum)",
                    "{{dimension_DBInstanceIdentifier}}",
                )
            ],
            unit="bytes",
        ),
        Panel(
            "Connections",
            "timeseries",
            [
                Target(
                    "max by (dimension_DBInstanceIdentifier) (aws_rds_database_connections_average)",
                    "{{dimension_DBInstanceIdentifier}}",
                )
            ],
        ),
        Panel(
            "Disk latency",
            "timeseries",
            [
                Target(
                    "max by (dimension_DBInstanceIdentifier) (aws_rds_read_latency_average)",
                    "read {{dimension_DBInstanceIdentifier}}",
                ),
                Target(
                    "max by (dimension_DBInstanceIdentifier) (aws_rds_write_latency_average)",
                    "write {{dimension_DBInstanceIdentifier}}",
                ),
            ],
            unit="s",
        ),
        Panel(
            "Pool timeouts seen by nexus-api",
            "timeseries",
            [
                Target(
                    "sum by (region) (rate(nexus_api_db_pool_timeouts_total[$__rate_interval]))", "{{region}}"
                )
            ],
            unit="ops",
        ),
        Panel("ElastiCache Redis", "row"),
        Panel(
            "Engine CPU",
            "timeseries",
            [
                Target(
                    "max by (dimension_CacheClusterId) (aws_elasticache_engine_cpuutilization_average)",
                    "{{dimension_CacheClusterId}}",
                )
            ],
            unit="percent",
        ),
        Panel(
            "Memory used",
            "timeseries",
            [
                Target(
                    "max by (dimension_CacheClusterId) "
                    "(aws_elasticache_database_memory_usage_percentage_average)",
                    "{{dimension_CacheClusterId}}",
                )
            ],
            unit="percent",
        ),
        Panel(
            "Connections",
            "timeseries",
            [
                Target(
                    "max by (dimension_CacheClusterId) (aws_elasticache_curr_connections_average)",
                    "{{dimension_CacheClusterId}}",
                )
            ],
        ),
        Panel(
            "Replication lag",
            "timeseries",
            [
                Target(
                    "max by (dimension_CacheClusterId) (aws_elasticache_replication_lag_maximum)",
                    "in region {{dimension_CacheClusterId}}",
                ),
                Target(
                    "max by (dimension_CacheClusterId) "
                    "(aws_elasticache_global_datastore_replication_lag_maximum)",
                    "global datastore {{dimension_CacheClusterId}}",
                ),
            ],
            unit="s",
            thresholds=(Threshold(None, "green"), Threshold(60, "red")),
            threshold_lines=True,
        ),
        Panel(
            "Hit ratio (server side)",
            "timeseries",
            [
                Target(
                    "sum by (region) (aws_elasticache_cache_hits_sum) / "
                    "(sum by (region) (aws_elasticache_cache_hits_sum) "
                    "+ sum by (region) (aws_elasticache_cache_misses_sum))",
                    "{{region}}",
                )
            ],
            unit="percentunit",
        ),
        Panel(
            "Hit ratio and errors (nexus-api side)",
            "timeseries",
            [
                Target(
                    rate("nexus_api_cache_requests_total", 'result="hit"')
                    + " / "
                    + rate("nexus_api_cache_requests_total", 'result=~"hit|miss"'),
                    "{{region}} hit ratio",
                ),
                Target(
                    rate("nexus_api_cache_requests_total", 'result="error"'),
                    "{{region}} errors/s",
                ),
            ],
        ),
        Panel("Backups", "row"),
        Panel(
            "Age of the newest successful backup",
            "timeseries",
            [Target(f"time() - max by (region, kind) ({backup})", "{{region}} {{kind}}")],
            unit="s",
            width=24,
            thresholds=(Threshold(None, "green"), Threshold(telemetry.BACKUP_MAX_AGE_SECONDS, "red")),
            threshold_lines=True,
            description="Backups run daily; the red line is the 26 h alert threshold.",
        ),
    ]
    return dashboard(
        "nexus-data-stores",
        "Nexus / Data stores",
        "RDS PostgreSQL (replica lag against the RPO budget), ElastiCache Redis and backup freshness.",
        panels,
        [_datasource_variable(multi=False)],
    )


def dr_readiness() -> JSON:
    rto = telemetry.DR_DRILL_LAST_RTO.name
    rpo = telemetry.DR_DRILL_LAST_RPO.name
    success = telemetry.DR_DRILL_LAST_SUCCESS.name
    last_run = telemetry.DR_DRILL_LAST_RUN_TIMESTAMP.name
    backup = telemetry.BACKUP_LAST_SUCCESS_TIMESTAMP.name
    panels = [
        Panel("Can we fail over now?", "row"),
        Panel(
            "Replica lag",
            "stat",
            [Target(REPLICA_LAG_MAX, "{{region}}")],
            unit="s",
            width=6,
            height=5,
            thresholds=lag_thresholds(),
            description="Must stay under the RPO (5 min) for a failover to meet it.",
        ),
        Panel(
            "Replication",
            "stat",
            [Target(f"min by (region) ({telemetry.REPLICATION_STREAMING.name})", "{{region}}")],
            width=6,
            height=5,
            thresholds=RED_WHEN_ZERO,
            mappings=YES_NO_STREAMING,
        ),
        Panel(
            "DR origin ready",
            "stat",
            [
                Target(
                    'max by (region) (probe_success{job="blackbox", endpoint="origin", role="dr"})',
                    "probe {{region}}",
                ),
                Target(
                    'min by (region) (aws_route53_health_check_status_minimum{region="eu-west-1"})',
                    "Route 53 {{region}}",
                ),
            ],
            width=6,
            height=5,
            thresholds=RED_WHEN_ZERO,
            mappings=UP_DOWN,
        ),
        Panel(
            "DR capacity (nexus-api)",
            "stat",
            [
                Target(
                    'sum by (region) (kube_deployment_status_replicas_available{deployment="nexus-api"})',
                    "{{region}} available",
                ),
                Target(
                    "max by (region) "
                    '(kube_horizontalpodautoscaler_spec_max_replicas{horizontalpodautoscaler="nexus-api"})',
                    "{{region}} HPA max",
                ),
            ],
            width=6,
            height=5,
            description="Warm standby: the DR region runs a minimal footprint and scales on failover.",
        ),
        Panel(
            "Redis global datastore lag",
            "stat",
            [
                Target(
                    "max by (region) (aws_elasticache_global_datastore_replication_lag_maximum)", "{{region}}"
                )
            ],
            unit="s",
            width=6,
            height=5,
            thresholds=(Threshold(None, "green"), Threshold(60, "red")),
        ),
        Panel(
            "Newest backup age",
            "stat",
            [Target(f"time() - max by (region, kind) ({backup})", "{{region}} {{kind}}")],
            unit="s",
            width=18,
            height=5,
            thresholds=(Threshold(None, "green"), Threshold(telemetry.BACKUP_MAX_AGE_SECONDS, "red")),
        ),
        Panel("Last DR drill", "row"),
        Panel(
            "RTO (target 15 min)",
            "stat",
            [Target(f"max by (mode) ({rto})", "{{mode}}")],
            unit="s",
            width=6,
            height=5,
            thresholds=(Threshold(None, "green"), Threshold(telemetry.RTO_TARGET_SECONDS, "red")),
        ),
        Panel(
            "RPO (target 5 min)",
            "stat",
            [Target(f"max by (mode) ({rpo})", "{{mode}}")],
            unit="s",
            width=6,
            height=5,
            thresholds=(Threshold(None, "green"), Threshold(telemetry.RPO_TARGET_SECONDS, "red")),
        ),
        Panel(
            "Result",
            "stat",
            [Target(f"min by (mode) ({success})", "{{mode}}")],
            width=6,
            height=5,
            thresholds=RED_WHEN_ZERO,
            mappings=PASS_FAIL,
        ),
        Panel(
            "Days since the last drill",
            "stat",
            [Target(f"(time() - max by (mode) ({last_run})) / 86400", "{{mode}}")],
            unit="d",
            width=6,
            height=5,
            thresholds=(Threshold(None, "green"), Threshold(31, "orange"), Threshold(92, "red")),
        ),
        Panel("History", "row"),
        Panel(
            "Replica lag vs RPO budget",
            "timeseries",
            [Target(REPLICA_LAG_MAX, "{{region}}")],
            unit="s",
            width=12,
            thresholds=lag_thresholds(),
            threshold_lines=True,
        ),
        Panel(
            "Drill RTO and RPO",
            "timeseries",
            [
                Target(f"max by (mode) ({rto})", "RTO {{mode}}"),
                Target(f"max by (mode) ({rpo})", "RPO {{mode}}"),
            ],
            unit="s",
            width=12,
        ),
    ]
    return dashboard(
        "nexus-dr-readiness",
        "Nexus / DR readiness",
        "Whether a failover to the DR region would meet RTO < 15 min and RPO < 5 min, and what the last "
        "drill measured.",
        panels,
        [_datasource_variable(multi=False)],
    )


def kubernetes_capacity() -> JSON:
    hpa = "region, namespace, horizontalpodautoscaler"
    panels = [
        Panel("Cluster", "row"),
        Panel(
            "CPU requested / allocatable",
            "timeseries",
            [
                Target(
                    'sum by (region) (kube_pod_container_resource_requests{resource="cpu"}) / '
                    'sum by (region) (kube_node_status_allocatable{resource="cpu"})',
                    "{{region}}",
                )
            ],
            unit="percentunit",
            thresholds=(Threshold(None, "green"), Threshold(0.8, "orange")),
            threshold_lines=True,
        ),
        Panel(
            "Memory requested / allocatable",
            "timeseries",
            [
                Target(
                    'sum by (region) (kube_pod_container_resource_requests{resource="memory"}) / '
                    'sum by (region) (kube_node_status_allocatable{resource="memory"})',
                    "{{region}}",
                )
            ],
            unit="percentunit",
            thresholds=(Threshold(None, "green"), Threshold(0.8, "orange")),
            threshold_lines=True,
        ),
        Panel(
            "Nodes",
            "stat",
            [
                Target("count by (region) (kube_node_info)", "{{region}} nodes"),
                Target(
                    'count by (region) (kube_node_status_condition{condition="Ready", status="true"} == 0)',
                    "{{region}} not ready",
                ),
            ],
        ),
        Panel("Nodes", "row"),
        Panel(
            "CPU used per node",
            "timeseries",
            [
                Target(
                    '1 - avg by (region, node) (rate(node_cpu_seconds_total{mode="idle"}[$__rate_interval]))',
                    "{{node}}",
                )
            ],
            unit="percentunit",
        ),
        Panel(
            "Memory used per node",
            "timeseries",
            [Target("1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes", "{{node}}")],
            unit="percentunit",
        ),
        Panel(
            "Root filesystem used per node",
            "timeseries",
            [
                Target(
                    '1 - node_filesystem_avail_bytes{mountpoint="/", fstype!~"tmpfs|overlay"} / '
                    'node_filesystem_size_bytes{mountpoint="/", fstype!~"tmpfs|overlay"}',
                    "{{node}}",
                )
            ],
            unit="percentunit",
        ),
        Panel(
            "Pods per node vs capacity",
            "timeseries",
            [
                Target("count by (region, node) (kube_pod_info)", "{{node}} pods"),
                Target(
                    'max by (region, node) (kube_node_status_allocatable{resource="pods"})',
                    "{{node}} capacity",
                ),
            ],
        ),
        Panel(
            "Node pressure",
            "timeseries",
            [
                Target(
                    "max by (region, node, condition) (kube_node_status_condition"
                    '{condition=~"MemoryPressure|DiskPressure|PIDPressure", status="true"})',
                    "{{node}} {{condition}}",
                )
            ],
        ),
        Panel(
            "Load (1m) per core",
            "timeseries",
            [
                Target(
                    'node_load1 / count without (cpu, mode) (node_cpu_seconds_total{mode="idle"})', "{{node}}"
                )
            ],
        ),
        Panel("Workloads", "row"),
        Panel(
            "HPA replicas: current, desired, max",
            "timeseries",
            [
                Target(
                    f"max by ({hpa}) (kube_horizontalpodautoscaler_status_current_replicas)",
                    "{{horizontalpodautoscaler}} current",
                ),
                Target(
                    f"max by ({hpa}) (kube_horizontalpodautoscaler_status_desired_replicas)",
                    "{{horizontalpodautoscaler}} desired",
                ),
                Target(
                    f"max by ({hpa}) (kube_horizontalpodautoscaler_spec_max_replicas)",
                    "{{horizontalpodautoscaler}} max",
                ),
            ],
        ),
        Panel(
            "CPU used by namespace",
            "timeseries",
            [
                Target(
                    "sum by (region, namespace) (rate(container_cpu_usage_seconds_total[$__rate_interval]))",
                    "{{namespace}}",
                )
            ],
            unit="cores",
        ),
        Panel(
            "Memory used by namespace",
            "timeseries",
            [Target("sum by (region, namespace) (container_memory_working_set_bytes)", "{{namespace}}")],
            unit="bytes",
        ),
        Panel(
            "CPU throttling (nexus-api)",
            "timeseries",
            [
                Target(
                    rate("container_cpu_cfs_throttled_periods_total", 'container="nexus-api"')
                    + " / "
                    + rate("container_cpu_cfs_periods_total", 'container="nexus-api"'),
                    "{{region}}",
                )
            ],
            unit="percentunit",
        ),
        Panel(
            "Container restarts (1h)",
            "timeseries",
            [
                Target(
                    "sum by (region, namespace) (increase(kube_pod_container_status_restarts_total[1h]))",
                    "{{namespace}}",
                )
            ],
        ),
        Panel(
            "Pods crash looping",
            "stat",
            [
                Target(
                    "count by (region) "
                    '(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff"} == 1)',
                    "{{region}}",
                )
            ],
            thresholds=GREEN_RED,
        ),
    ]
    return dashboard(
        "nexus-kubernetes-capacity",
        "Nexus / Kubernetes capacity",
        "Requests against allocatable, node and workload usage, and autoscaler headroom in each EKS cluster.",
        panels,
        [_datasource_variable(multi=False)],
    )


DASHBOARDS = {
    "platform-overview.json": platform_overview,
    "nexus-api-golden-signals.json": golden_signals,
    "data-stores.json": data_stores,
    "dr-readiness.json": dr_readiness,
    "kubernetes-capacity.json": kubernetes_capacity,
}


def render_all() -> dict[str, str]:
    """Every dashboard's file name and its JSON text, exactly as committed."""
    return {name: json.dumps(build(), indent=2, sort_keys=True) + "\n" for name, build in DASHBOARDS.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check", action="store_true", help="compare with the committed files, write nothing"
    )
    args = parser.parse_args(argv)
    stale = []
    for name, text in render_all().items():
        path = HERE / name
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"out of date (run {Path(__file__).name}): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
