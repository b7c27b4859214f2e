"""nexus-api instances as local processes, configured the way helm/nexus configures the pods.

The chart turns ``config.<camelCase>`` values into ``NEXUS_API_<UPPER_SNAKE>`` variables, sets the region and
role from the per-region values file, and builds the database and cache URLs from Secrets Manager (External
Secrets: ``externalSecret.database``/``.cache``). The same values files are read here, so a change to the
chart's settings reaches the sandbox too; only the addresses differ (127.0.0.1 and the sandbox's ports instead
of the RDS and ElastiCache endpoints).
"""

from __future__ import annotations

import re
import sys
import urllib.request
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

from nexus_platform.errors import NexusError
from nexus_platform.world.local.processes import ProcessManager, ProcessRecord

#: How often a sandbox instance asks its database whether it is writable (see `environment`).
ROLE_POLL_SECONDS = 0.25
#: helm/nexus's values file per region role, and the chart's name for the role.
VALUES_FILE = {"primary": "values-primary.yaml", "dr": "values-dr.yaml"}


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        merged[key] = (
            _merge(merged[key], value)
            if isinstance(value, dict) and isinstance(merged.get(key), dict)
            else value
        )
    return merged


@cache
def chart_values(chart: Path, role: str) -> dict[str, Any]:
    """values.yaml with the region's values file over it, as Helm merges them."""
    try:
        base = yaml.safe_load((chart / "values.yaml").read_text())
        override = yaml.safe_load((chart / VALUES_FILE[role]).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise NexusError(f"cannot read the chart's values under {chart}: {exc}") from None
    return _merge(base, override)


def _env_name(key: str) -> str:
    return "NEXUS_API_" + re.sub(r"(?<!^)(?=[A-Z])", "_", key).upper()


@dataclass(frozen=True)
class Instance:
    name: str  # process name, e.g. us-east-1.api-1
    region: str
    role: str  # region role: primary | dr
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass(frozen=True)
class Backends:
    """Where an instance's data lives and the credentials it reads from Secrets Manager."""

    db_port: int
    db_user: str
    db_password: str
    cache_port: int
    cache_token: str
    ca_file: Path


def environment(chart: Path, instance: Instance, backends: Backends) -> dict[str, str]:
    """The NEXUS_API_* environment of one instance (the chart's Deployment env + ExternalSecret template)."""
    values = chart_values(chart, instance.role)
    env = {
        _env_name(key): str(value).lower() if isinstance(value, bool) else str(value)
        for key, value in values["config"].items()
    }
    database, cache_values = values["externalSecret"]["database"], values["externalSecret"]["cache"]
    scheme = "rediss" if cache_values["tls"] else "redis"
    env.update(
        {
            "NEXUS_API_REGION": instance.region,
            "NEXUS_API_ROLE": str(values["role"]),
            "NEXUS_API_HOST": "127.0.0.1",
            "NEXUS_API_PORT": str(instance.port),
            "NEXUS_API_WORKERS": "1",
            "NEXUS_API_SHUTDOWN_TIMEOUT_SECONDS": str(values["shutdown"]["drainSeconds"]),
            # The sandbox's clock runs 10x faster than production's (health checks every 1 s, not Route 53's
            # 10 s), so the instances' database-role poll (1 s, a tenth of a check, in production) is scaled
            # with it: a promoted database is seen writable within a quarter of a check.
            "NEXUS_API_DB_ROLE_POLL_INTERVAL_SECONDS": str(ROLE_POLL_SECONDS),
            "NEXUS_API_DATABASE_URL": (
                f"postgresql://{quote(backends.db_user, safe='')}:{quote(backends.db_password, safe='')}"
                f"@127.0.0.1:{backends.db_port}/{database['name']}?sslmode={database['sslmode']}"
            ),
            "NEXUS_API_REDIS_URL": (
                f"{scheme}://:{quote(backends.cache_token, safe='')}@127.0.0.1:{backends.cache_port}"
                f"/{int(cache_values['db'])}"
            ),
            # The cache's certificate is the sandbox CA's; Python's default TLS context trusts this file.
            "SSL_CERT_FILE": str(backends.ca_file),
        }
    )
    return env


def database_name(chart: Path) -> str:
    return str(chart_values(chart, "primary")["externalSecret"]["database"]["name"])


def healthy(url: str, path: str = "/healthz", timeout: float = 0.5) -> bool:
    try:
        with urllib.request.urlopen(f"{url}{path}", timeout=timeout) as response:  # noqa: S310 - our URL
            return bool(response.status == 200)
    except OSError:
        return False


def start(processes: ProcessManager, chart: Path, instance: Instance, backends: Backends) -> ProcessRecord:
    running = processes.running(instance.name)
    if running is not None:
        return running
    return processes.start(
        instance.name,
        [sys.executable, "-m", "nexus_api"],
        env=environment(chart, instance, backends),
        ready=lambda: healthy(instance.url),
        timeout=60,
    )
