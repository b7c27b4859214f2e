"""The platform's facts in one place: where things live in the repository, the regions, the sandbox ports.

Terraform keeps its own inputs in tfvars files; where Python needs one of those facts (the emulator endpoint,
the regions) it reads them from the tfvars rather than re-typing them, so the two cannot drift apart.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hcl2.api import load as load_hcl

from nexus_platform.errors import NexusError

ENVIRONMENTS = ("production", "sandbox")
ROLES = ("primary", "dr")


def repo_root() -> Path:
    """The checkout holding terraform/ (NEXUS_HOME overrides, for an installed CLI run elsewhere)."""
    env = os.environ.get("NEXUS_HOME")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "terraform" / "aws").is_dir() and (parent / "pyproject.toml").is_file():
            return parent
    raise NexusError(
        "cannot find the Nexus Platform checkout (no terraform/aws above the package)",
        hint="set NEXUS_HOME to the repository root",
    )


@dataclass(frozen=True)
class Paths:
    """Every path the toolkit reads or writes, derived from the checkout root."""

    root: Path

    @property
    def terraform_root(self) -> Path:
        return self.root / "terraform" / "aws"

    @property
    def terraform_bootstrap(self) -> Path:
        return self.root / "terraform" / "bootstrap"

    @property
    def terraform_modules(self) -> Path:
        return self.root / "terraform" / "modules"

    @property
    def state_dir(self) -> Path:
        """Runtime state of this checkout's sandbox (git-ignored): pid files, logs, Terraform data."""
        override = os.environ.get("NEXUS_STATE_DIR")
        return Path(override).resolve() if override else self.root / ".nexus"

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def tls_dir(self) -> Path:
        """The sandbox CA and the emulator's certificate (kept across sandbox restarts)."""
        return self.state_dir / "tls"

    @property
    def tf_cli_config(self) -> Path:
        return self.state_dir / "terraform.rc"

    def tf_data_dir(self, name: str) -> Path:
        return self.state_dir / "tf" / name

    def tfvars(self, environment: str) -> Path:
        if environment not in ENVIRONMENTS:
            raise NexusError(
                f"unknown environment {environment!r}",
                hint=f"use one of: {', '.join(ENVIRONMENTS)}",
            )
        return self.terraform_root / f"{environment}.tfvars"


def paths() -> Paths:
    return Paths(repo_root())


def load_tfvars(path: Path) -> dict[str, Any]:
    """Parse a tfvars file; a malformed one is a one-line error naming the file."""
    try:
        with path.open() as handle:
            data: dict[str, Any] = load_hcl(handle)
    except FileNotFoundError as exc:
        raise NexusError(f"{path} does not exist") from exc
    except Exception as exc:  # hcl2 raises lark errors of several kinds
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NexusError(f"{path} is not valid HCL: {first}", hint="fix the file and retry") from exc
    return data


@dataclass(frozen=True)
class Region:
    role: str
    name: str


@dataclass(frozen=True)
class EnvironmentModel:
    """What an environment's tfvars say about the platform's shape."""

    name: str
    regions: tuple[Region, ...]
    endpoint_url: str | None
    # "<project>-<environment>": first part of every resource and secret name (terraform/aws/networking.tf).
    name_prefix: str

    def region(self, role: str) -> Region:
        for region in self.regions:
            if region.role == role:
                return region
        raise NexusError(f"unknown region role {role!r}", hint=f"use one of: {', '.join(ROLES)}")

    @property
    def emulator_host(self) -> str:
        return self._endpoint_part("host")

    @property
    def emulator_port(self) -> int:
        return int(self._endpoint_part("port"))

    def _endpoint_part(self, part: str) -> str:
        if not self.endpoint_url:
            raise NexusError(f"environment {self.name!r} has no aws_endpoint_url: it targets real AWS")
        split = urlsplit(self.endpoint_url)
        if not split.hostname or not split.port:
            raise NexusError(
                f"aws_endpoint_url {self.endpoint_url!r} needs a host and a port",
                hint="e.g. http://127.0.0.1:4566",
            )
        return split.hostname if part == "host" else str(split.port)


@cache
def environment(name: str) -> EnvironmentModel:
    data = load_tfvars(paths().tfvars(name))
    required = ["project", "environment", *(f"{role}_region" for role in ROLES)]
    missing = [key for key in required if not data.get(key)]
    if missing:
        raise NexusError(f"{paths().tfvars(name)} does not set {', '.join(missing)}", hint="add them")
    regions = tuple(Region(role=role, name=str(data[f"{role}_region"])) for role in ROLES)
    endpoint = data.get("aws_endpoint_url")
    prefix = f"{data['project']}-{data['environment']}"
    return EnvironmentModel(
        name=name, regions=regions, endpoint_url=str(endpoint) if endpoint else None, name_prefix=prefix
    )


# --- the sandbox's data plane (sandbox.toml) ----------------------------------------------------------------

REPLICATION_MODES = ("async", "sync")
LOCALHOST = "127.0.0.1"


@dataclass(frozen=True)
class RegionPorts:
    """The local ports one region's processes listen on."""

    postgres: int
    redis: int
    lb: int
    apis: tuple[int, ...]
    postgres_exporter: int
    # What the other region dials to reach this region's database and cache across the link emulator.
    link_postgres: int
    link_redis: int
    # Ports the sandbox's autoscaler may start more nexus-api instances on (the room it scales out into).
    api_spares: tuple[int, ...] = ()
    # Ports of the in-region read replicas and cache replicas `nexus scale set` may start.
    read_replicas: tuple[int, ...] = ()
    cache_replicas: tuple[int, ...] = ()

    @property
    def api_slots(self) -> tuple[int, ...]:
        """Every nexus-api port: the instances `nexus up` starts, then the autoscaler's spares."""
        return self.apis + self.api_spares

    def all(self) -> dict[str, int]:
        named = {
            "postgres": self.postgres,
            "redis": self.redis,
            "lb": self.lb,
            "postgres_exporter": self.postgres_exporter,
            "link_postgres": self.link_postgres,
            "link_redis": self.link_redis,
        }
        named.update({f"api-{index}": port for index, port in enumerate(self.api_slots, start=1)})
        named.update({f"postgres-read-{n}": port for n, port in enumerate(self.read_replicas, start=1)})
        named.update({f"redis-replica-{n}": port for n, port in enumerate(self.cache_replicas, start=1)})
        return named


@dataclass(frozen=True)
class SandboxConfig:
    """sandbox.toml, validated: the data plane's ports and knobs."""

    path: Path
    replication_mode: str
    link_delay_ms: float
    link_jitter_ms: float
    link_control_port: int
    edge_port: int
    edge_stats_port: int
    check_interval_ms: int
    prometheus_port: int
    alertmanager_port: int
    blackbox_port: int
    pushgateway_port: int
    scrape_interval_s: int
    regions: dict[str, RegionPorts]
    # The sandbox's HorizontalPodAutoscaler (world/local/autoscaler.py): how often it looks, how long the load
    # must stay low before it removes an instance (the chart's scaleDownStabilizationSeconds, on the sandbox's
    # faster clock).
    autoscaler_interval_s: float = 1.0
    autoscaler_scale_down_s: int = 30
    # Requests/s per instance to keep; None: the chart's autoscaling.requestRate.targetAverageValue.
    autoscaler_target_requests_per_s: float | None = None
    # Alert name -> the `for:` the sandbox evaluates it with (its time runs faster); the rule files keep
    # production's.
    alert_for: dict[str, str] = field(default_factory=dict)

    def ports(self) -> dict[str, int]:
        """Every port of the data plane by a readable name (all distinct: checked on load)."""
        named = {
            "link-control": self.link_control_port,
            "edge": self.edge_port,
            "edge-stats": self.edge_stats_port,
            "prometheus": self.prometheus_port,
            "alertmanager": self.alertmanager_port,
            "blackbox": self.blackbox_port,
            "pushgateway": self.pushgateway_port,
        }
        for role, region in self.regions.items():
            named.update({f"{role}-{name}": port for name, port in region.all().items()})
        return named

    def with_mode(self, mode: str | None) -> SandboxConfig:
        if mode is None:
            return self
        return SandboxConfig(
            **{**self.__dict__, "replication_mode": _choice(mode, REPLICATION_MODES, "mode")}
        )


def _choice(value: object, allowed: tuple[str, ...], key: str) -> str:
    if value not in allowed:
        raise NexusError(f"{key} = {value!r} is not one of {', '.join(allowed)}")
    return str(value)


class _Table:
    """Typed reads from one TOML table, each failure a one-line error naming the file and the key."""

    def __init__(self, path: Path, data: dict[str, Any], name: str) -> None:
        self.path, self.name = path, name
        value = data.get(name, {})
        if not isinstance(value, dict):
            raise NexusError(f"{path}: [{name}] must be a table")
        self.data: dict[str, Any] = value

    def _fail(self, key: str, want: str) -> NexusError:
        return NexusError(
            f"{self.path}: {self.name}.{key} must be {want} (got {self.data.get(key)!r})",
            hint="fix the value; sandbox.toml in the repository shows every key",
        )

    def port(self, key: str) -> int:
        value = self.data.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not 1024 <= value <= 65535:
            raise self._fail(key, "a port from 1024 to 65535")
        return value

    def ports(self, key: str, *, optional: bool = False) -> tuple[int, ...]:
        value = self.data.get(key, [] if optional else None)
        if not isinstance(value, list) or not (value or optional):
            raise self._fail(key, "a list of ports" if optional else "a non-empty list of ports")
        return tuple(_Table(self.path, {"v": {"p": item}}, "v").port("p") for item in value)

    def number(self, key: str, low: float, high: float) -> float:
        value = self.data.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise self._fail(key, f"a number from {low:g} to {high:g}")
        return float(value)

    def integer(self, key: str, low: int, high: int) -> int:
        value = self.data.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self._fail(key, f"an integer from {low} to {high}")
        return value

    def durations(self, key: str) -> dict[str, str]:
        """An optional table of names to Prometheus durations ("15s", "1m30s")."""
        value = self.data.get(key, {})
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and _DURATION.fullmatch(v) for k, v in value.items()
        ):
            raise self._fail(key, 'a table of alert names to durations, e.g. { NexusRegionDown = "20s" }')
        return dict(value)

    def text(self, key: str, allowed: tuple[str, ...]) -> str:
        value = self.data.get(key)
        if value not in allowed:
            raise self._fail(key, f"one of {', '.join(allowed)}")
        return str(value)


_DURATION = re.compile(r"(?:\d+[smh])+")


def sandbox_config_path() -> Path:
    override = os.environ.get("NEXUS_SANDBOX_CONFIG")
    return Path(override).resolve() if override else repo_root() / "sandbox.toml"


@cache
def sandbox_config(path: Path | None = None) -> SandboxConfig:
    import tomllib  # noqa: PLC0415 - only the sandbox commands need it

    path = path or sandbox_config_path()
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise NexusError(f"{path} does not exist", hint="restore sandbox.toml from the repository") from None
    except tomllib.TOMLDecodeError as exc:
        raise NexusError(f"{path} is not valid TOML: {exc}", hint="fix the file and retry") from None
    replication, link, edge = (_Table(path, data, name) for name in ("replication", "link", "edge"))
    monitoring = _Table(path, data, "monitoring")
    autoscaler = _Table(path, data, "autoscaler")
    regions_table = data.get("regions")
    if not isinstance(regions_table, dict) or set(regions_table) != set(ROLES):
        raise NexusError(f"{path}: [regions] must have exactly the tables {', '.join(ROLES)}")
    regions = {}
    for role in ROLES:
        table = _Table(path, regions_table, role)
        table.name = f"regions.{role}"
        regions[role] = RegionPorts(
            postgres=table.port("postgres_port"),
            redis=table.port("redis_port"),
            lb=table.port("lb_port"),
            apis=table.ports("api_ports"),
            postgres_exporter=table.port("postgres_exporter_port"),
            link_postgres=table.port("link_postgres_port"),
            link_redis=table.port("link_redis_port"),
            api_spares=table.ports("api_spare_ports", optional=True),
            read_replicas=table.ports("read_replica_ports", optional=True),
            cache_replicas=table.ports("cache_replica_ports", optional=True),
        )
    config = SandboxConfig(
        path=path,
        replication_mode=replication.text("mode", REPLICATION_MODES),
        link_delay_ms=link.number("delay_ms", 0, 10_000),
        link_jitter_ms=link.number("jitter_ms", 0, 10_000),
        link_control_port=link.port("control_port"),
        edge_port=edge.port("port"),
        edge_stats_port=edge.port("stats_port"),
        check_interval_ms=edge.integer("check_interval_ms", 100, 60_000),
        prometheus_port=monitoring.port("prometheus_port"),
        alertmanager_port=monitoring.port("alertmanager_port"),
        blackbox_port=monitoring.port("blackbox_port"),
        pushgateway_port=monitoring.port("pushgateway_port"),
        scrape_interval_s=monitoring.integer("scrape_interval_s", 1, 300),
        regions=regions,
        alert_for=monitoring.durations("alert_for"),
        autoscaler_interval_s=autoscaler.number("interval_s", 0.2, 60),
        autoscaler_scale_down_s=autoscaler.integer("scale_down_stabilization_s", 0, 3600),
        autoscaler_target_requests_per_s=(
            autoscaler.number("target_requests_per_s", 1, 100_000)
            if "target_requests_per_s" in autoscaler.data
            else None
        ),
    )
    seen: dict[int, str] = {}
    for name, port in config.ports().items():
        if port in seen:
            raise NexusError(
                f"{path}: {name} and {seen[port]} both use port {port}", hint="give each its own"
            )
        seen[port] = name
    return config
