"""Application checks (troubleshooting guide, section 2), world-blind: each region's workload has every wanted
replica ready, and the configuration the workloads read (the app config secret, the database and cache
secrets it names) exists and is complete in each region, as External Secrets reads it.

Not yet checked here: recently restarted pods with their last log lines, and the service mesh (sidecar on
every pod, mTLS STRICT); both need the clusters' APIs beyond the workload's Deployment.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nexus_platform import model
from nexus_platform.doctor.infrastructure import Finding
from nexus_platform.errors import NexusError
from nexus_platform.runbooks.dr import Target
from nexus_platform.secrets import read_secrets


def _scope(target: Target, role: str, what: str = "") -> str:
    return f"{role} ({target.platform.region(role).region}) {what}".rstrip()


def workload(target: Target) -> list[Finding]:
    """Every wanted nexus-api replica is ready; the writer's region runs at least one."""
    findings = []
    scaling = target.world.scaling
    writer = "dr" if target.world.database.role("dr") == "primary" else "primary"
    for role in model.ROLES:
        try:
            if scaling is None:
                raise NexusError("this world has no view of its workload")
            view = scaling.show(role)
        except NexusError as exc:
            findings.append(Finding("workload", _scope(target, role, "nexus-api"), False, str(exc)))
            continue
        missing = view.api_desired - view.api_ready
        ok = missing == 0 and (role != writer or view.api_desired > 0)
        detail = f"{view.api_ready} of {view.api_desired} replicas ready"
        if missing:
            detail += f": {missing} not ready (`nexus status`, the pods' logs)"
        elif not ok:
            detail += ": the writer's region runs none"
        findings.append(Finding("workload", _scope(target, role, "nexus-api"), ok, detail))
    return findings


def configuration(target: Target, clients: Callable[[str, str], Any]) -> list[Finding]:
    """The app config secret and the secrets it names exist and are complete in each region's replica."""
    findings = []
    for role in model.ROLES:
        region = target.platform.region(role).region
        try:
            secrets = read_secrets(clients("secretsmanager", region), target.platform.name_prefix)
            ok = bool(secrets.app.username and secrets.app.password and secrets.cache_token)
            detail = "app config, database and cache secrets present" if ok else "a secret is empty"
        except Exception as exc:
            ok, detail = False, f"cannot read the application's secrets: {str(exc).splitlines()[0]}"
        findings.append(Finding("configuration", _scope(target, role, "secrets"), ok, detail))
    return findings


def run(target: Target, clients: Callable[[str, str], Any]) -> list[Finding]:
    return [*workload(target), *configuration(target, clients)]
