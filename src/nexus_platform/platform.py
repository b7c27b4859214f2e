"""The platform model of one environment, read from its Terraform outputs: regions and their roles, resource
ids, endpoints, health checks, records, RPO. No command re-types a name: they all come from here.

`load("sandbox")` reads the sandbox's applied outputs; for production the outputs come from a file given with
`--outputs` (what `terraform output -json > outputs.json` wrote), so the toolkit runs where the state is not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nexus_platform import model
from nexus_platform.errors import InputError

__all__ = ["HealthCheck", "InputError", "Platform", "RegionFacts", "from_outputs", "load"]


@dataclass(frozen=True)
class RegionFacts:
    role: str
    region: str
    cluster_name: str
    db_instance_identifier: str
    db_instance_arn: str
    db_endpoint: str
    cache_replication_group_id: str
    health_check_id: str
    origin_fqdn: str
    alb_dns_name: str
    backup_vault_name: str
    backup_role_arn: str  # the role AWS Backup assumes for the platform's jobs
    state_bucket: str


@dataclass(frozen=True)
class HealthCheck:
    path: str
    request_interval: int
    failure_threshold: int


@dataclass(frozen=True)
class Platform:
    env: str
    name_prefix: str
    regions: dict[str, RegionFacts]  # by role
    api_fqdn: str
    app_fqdn: str
    zone_id: str
    global_datastore_id: str
    cloudfront_distribution_id: str
    health_check: HealthCheck
    rpo_target_seconds: int
    replica_lag_alarm_seconds: int
    backup_retention_days: int
    endpoint_url: str | None  # the emulator's, for the sandbox

    def region(self, role: str) -> RegionFacts:
        try:
            return self.regions[role]
        except KeyError:
            raise InputError(
                f"unknown region role {role!r}", hint=f"use one of: {', '.join(model.ROLES)}"
            ) from None

    def other(self, role: str) -> str:
        return "dr" if role == "primary" else "primary"


def _value(outputs: dict[str, Any], key: str) -> Any:
    entry = outputs.get(key)
    if entry is None:
        raise InputError(
            f"the Terraform outputs lack {key!r}",
            hint="apply terraform/aws of this revision, then read them again",
        )
    # `terraform output -json` wraps each value: {"value": ..., "type": ..., "sensitive": ...}.
    return entry["value"] if isinstance(entry, dict) and "value" in entry and "type" in entry else entry


def from_outputs(env: str, outputs: dict[str, Any]) -> Platform:
    """The model from Terraform outputs (plain values or `terraform output -json`'s wrapped ones)."""
    environment = model.environment(env)
    try:
        regions_out = _value(outputs, "regions")
        regions = {}
        for role in model.ROLES:
            facts = regions_out[role]
            regions[role] = RegionFacts(
                role=role,
                **{name: str(facts[name]) for name in RegionFacts.__dataclass_fields__ if name != "role"},
            )
        database = _value(outputs, "database")
        health = _value(outputs, "health_check")
        return Platform(
            env=env,
            name_prefix=environment.name_prefix,
            regions=regions,
            api_fqdn=str(_value(outputs, "api_fqdn")),
            app_fqdn=str(_value(outputs, "app_fqdn")),
            zone_id=str(_value(outputs, "zone_id")),
            global_datastore_id=str(_value(outputs, "global_datastore_id")),
            cloudfront_distribution_id=str(_value(outputs, "cloudfront_distribution_id")),
            health_check=HealthCheck(
                path=str(health["path"]),
                request_interval=int(health["request_interval"]),
                failure_threshold=int(health["failure_threshold"]),
            ),
            rpo_target_seconds=int(database["rpo_target_seconds"]),
            replica_lag_alarm_seconds=int(database["replica_lag_alarm_s"]),
            backup_retention_days=int(database["backup_retention_days"]),
            endpoint_url=environment.endpoint_url,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(
            f"the Terraform outputs of {env!r} are missing or malformed ({type(exc).__name__}: {exc})",
            hint="apply terraform/aws of this revision, then read them again",
        ) from None


def load(env: str, outputs_file: Path | None) -> Platform:
    """The model of `env` from `outputs_file` (`terraform output -json`); without one, a one-line error saying
    where to get it (the sandbox's state is read by connect.platform)."""
    if env not in model.ENVIRONMENTS:
        raise InputError(f"unknown environment {env!r}", hint=f"use one of: {', '.join(model.ENVIRONMENTS)}")
    if outputs_file is not None:
        try:
            outputs = json.loads(outputs_file.read_text())
        except FileNotFoundError:
            raise InputError(f"{outputs_file} does not exist", hint="terraform output -json > FILE") from None
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(
                f"{outputs_file} is not JSON: {exc}", hint="terraform output -json > FILE"
            ) from None
        if not isinstance(outputs, dict):
            raise InputError(f"{outputs_file} is not a JSON object", hint="terraform output -json > FILE")
        return from_outputs(env, outputs)
    raise InputError(
        f"no outputs for {env!r}: this machine has no access to its Terraform state",
        hint="run `terraform output -json > outputs.json` where the state is and pass --outputs outputs.json",
    )
