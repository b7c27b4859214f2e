"""The metrics the operations toolkit exposes: the one place defining their names, types, help and labels.

Alert rules (``monitoring/rules/``) and dashboards (``monitoring/dashboards/generate.py``) are written
against these names; ``tests/monitoring`` checks that every ``nexus_ops_*`` metric they use is defined here
(and that every metric defined here is used). The service's own metrics (``nexus_api_*``) are defined by
``services/nexus-api``.

The toolkit runs as short-lived commands (``nexus backup run``, ``nexus dr status``, ``nexus dr drill``), so
it serves no ``/metrics`` itself: it renders the Prometheus text exposition format with :func:`render` and
pushes it to every region's Pushgateway under the job :data:`PUSH_JOB` (each region's Prometheus scrapes its
Pushgateway with ``honor_labels``, and each must see the platform's state). No ``prometheus_client``
dependency is needed for that.

Targets are part of the contract too: the alert thresholds in the rules equal the constants below (a test
checks it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

MetricType = Literal["gauge", "counter"]

#: The Pushgateway job (and so the ``job`` label) of everything the toolkit pushes.
PUSH_JOB: Final = "nexus-ops"

#: Recovery time objective: fault -> first successful write through the global endpoint.
RTO_TARGET_SECONDS: Final = 15 * 60
#: Recovery point objective: the newest acknowledged write that may be lost in a failover.
RPO_TARGET_SECONDS: Final = 5 * 60
#: Early warning for replica lag, well below the RPO budget (as the CloudWatch alarm in terraform/aws).
REPLICA_LAG_WARNING_SECONDS: Final = 60
#: Backups run daily; a backup older than this means at least one run was missed.
BACKUP_MAX_AGE_SECONDS: Final = 26 * 3600

#: Values of the ``kind`` label of the backup metrics.
BACKUP_KINDS: Final = ("rds-snapshot", "rds-snapshot-copy", "config-export")
#: Values of the ``mode`` label of the DR drill metrics (architecture §6: sync and async replication).
DRILL_MODES: Final = ("sync", "async")

_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


@dataclass(frozen=True)
class Metric:
    """One metric family: its name, type, help text and the labels every sample of it carries."""

    name: str
    type: MetricType
    help: str
    labels: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.name) or not self.name.startswith("nexus_ops_"):
            raise ValueError(f"bad toolkit metric name {self.name!r}")
        if self.type == "counter" and not self.name.endswith("_total"):
            raise ValueError(f"counter {self.name!r} must end in _total")
        for label in self.labels:
            if not _LABEL_RE.match(label) or label.startswith("__"):
                raise ValueError(f"bad label name {label!r} on {self.name}")


BACKUP_LAST_SUCCESS_TIMESTAMP: Final = Metric(
    "nexus_ops_backup_last_success_timestamp_seconds",
    "gauge",
    "Unix time of the newest backup of this kind that completed successfully (its age is time() minus this).",
    ("region", "kind"),
)
DR_DRILL_LAST_RTO: Final = Metric(
    "nexus_ops_dr_drill_last_rto_seconds",
    "gauge",
    "Recovery time measured by the last DR drill: fault to first successful write through the global "
    "endpoint.",
    ("mode",),
)
DR_DRILL_LAST_RPO: Final = Metric(
    "nexus_ops_dr_drill_last_rpo_seconds",
    "gauge",
    "Recovery point measured by the last DR drill: age of the oldest acknowledged write missing after "
    "failover (0 when none is missing).",
    ("mode",),
)
DR_DRILL_LAST_SUCCESS: Final = Metric(
    "nexus_ops_dr_drill_last_success",
    "gauge",
    "1 if the last DR drill completed, verified every acknowledged write and met the RTO and RPO targets, "
    "else 0.",
    ("mode",),
)
DR_DRILL_LAST_RUN_TIMESTAMP: Final = Metric(
    "nexus_ops_dr_drill_last_run_timestamp_seconds",
    "gauge",
    "Unix time the last DR drill finished.",
    ("mode",),
)
REPLICA_LAG: Final = Metric(
    "nexus_ops_replica_lag_seconds",
    "gauge",
    "Replication lag of the cross-region database replica as measured by the toolkit (age of the newest "
    "primary heartbeat visible on the replica).",
    ("region", "source_region"),
)
REPLICATION_STREAMING: Final = Metric(
    "nexus_ops_replication_streaming",
    "gauge",
    "1 while the replica in this region receives WAL from its source, 0 when replication is broken or "
    "stopped.",
    ("region", "source_region"),
)

#: Every metric the toolkit exposes.
ALL: Final[tuple[Metric, ...]] = (
    BACKUP_LAST_SUCCESS_TIMESTAMP,
    DR_DRILL_LAST_RTO,
    DR_DRILL_LAST_RPO,
    DR_DRILL_LAST_SUCCESS,
    DR_DRILL_LAST_RUN_TIMESTAMP,
    REPLICA_LAG,
    REPLICATION_STREAMING,
)

#: The metrics by name.
BY_NAME: Final[Mapping[str, Metric]] = {metric.name: metric for metric in ALL}


@dataclass(frozen=True)
class Sample:
    """One value of a metric, with exactly the metric's labels."""

    metric: Metric
    labels: Mapping[str, str]
    value: float

    def __post_init__(self) -> None:
        if set(self.labels) != set(self.metric.labels):
            raise ValueError(
                f"{self.metric.name} takes labels {sorted(self.metric.labels)}, got {sorted(self.labels)}"
            )


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def render(samples: Iterable[Sample]) -> str:
    """The samples in the Prometheus text exposition format (0.0.4), by metric, with HELP and TYPE lines."""
    grouped: dict[str, list[Sample]] = {}
    for sample in samples:
        grouped.setdefault(sample.metric.name, []).append(sample)
    lines: list[str] = []
    for name in sorted(grouped):
        metric = BY_NAME.get(name)
        if metric is None or metric != grouped[name][0].metric:
            raise ValueError(f"{name} is not a metric defined in nexus_platform.telemetry")
        lines.append(f"# HELP {name} {_escape(metric.help)}")
        lines.append(f"# TYPE {name} {metric.type}")
        for sample in grouped[name]:
            labels = ",".join(f'{key}="{_escape(sample.labels[key])}"' for key in metric.labels)
            selector = f"{{{labels}}}" if labels else ""
            lines.append(f"{name}{selector} {_format_value(sample.value)}")
    return "\n".join(lines) + "\n" if lines else ""


def push(url: str, samples: Iterable[Sample], grouping: Mapping[str, str], *, timeout: float = 5.0) -> None:
    """Replace the group `grouping` of job nexus-ops on the Pushgateway at `url` with `samples` (PUT: the
    Pushgateway's own API, `/metrics/job/<job>/<label>/<value>...`)."""
    import urllib.error  # noqa: PLC0415
    import urllib.parse  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    from nexus_platform.errors import NexusError  # noqa: PLC0415

    path = f"/metrics/job/{PUSH_JOB}" + "".join(
        f"/{urllib.parse.quote(key, safe='')}/{urllib.parse.quote(value, safe='')}"
        for key, value in sorted(grouping.items())
    )
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise NexusError(f"Pushgateway URL {url!r} is not http(s)")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url.rstrip("/") + path,
        data=render(samples).encode(),
        method="PUT",
        headers={"Content-Type": "text/plain; version=0.0.4"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            answer.read()
    except (OSError, ValueError) as exc:
        raise NexusError(
            f"cannot push to the Pushgateway at {url}: {getattr(exc, 'reason', exc)}",
            hint="is it running (nexus status), or pass another with --pushgateway",
        ) from None
