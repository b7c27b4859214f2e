"""Application checks (troubleshooting guide, section 2), world-blind: each region's workload has every wanted
replica ready; none restarted within the last hour (else which, why, and its last log lines: "review pod
logs"); the service mesh holds (Istio's sidecar on every pod, mTLS STRICT in force; not applicable in the
sandbox); and the configuration the workloads read (the app config secret, the database and cache secrets it
names) exists and is complete in each region, as External Secrets reads it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nexus_platform import model
from nexus_platform.doctor.infrastructure import Finding
from nexus_platform.errors import NexusError
from nexus_platform.runbooks.dr import Target
from nexus_platform.secrets import read_secrets
from nexus_platform.world.base import Workloads


def _scope(target: Target, role: str, what: str = "") -> str:
    return f"{role} ({target.platform.region(role).region}) {what}".rstrip()


def workload(target: Target) -> list[Finding]:
    """Every wanted nexus-api replica is ready; the writer's region runs at least one."""
    findings = []
    scaling = target.world.scaling
    writer = target.writer()
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


RESTART_WINDOW_SECONDS = 3600.0


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f", {seconds / 60:.0f} min ago" if seconds >= 60 else f", {seconds:.0f} s ago"


def _per_region(
    target: Target, check: str, what: str, judge: Callable[[Workloads, str], tuple[bool, str]]
) -> list[Finding]:
    """One finding per region from `judge(workloads, role)`; an error reading the world fails that region."""
    findings = []
    for role in model.ROLES:
        scope = _scope(target, role, what)
        try:
            if target.world.workloads is None:
                raise NexusError("this world has no view of its pods")
            ok, detail = judge(target.world.workloads, role)
        except NexusError as exc:
            ok, detail = False, str(exc)
        findings.append(Finding(check, scope, ok, detail))
    return findings


def restarts(target: Target, window: float = RESTART_WINDOW_SECONDS) -> list[Finding]:
    """Replicas that stopped within `window`, each with why and its last log lines."""

    def judge(workloads: Workloads, role: str) -> tuple[bool, str]:
        found = workloads.restarts(role, window)
        if not found:
            return True, f"none in the last {window / 60:.0f} min"
        lines = []
        for r in found:
            count = f"{r.restarts} restart(s), " if r.restarts else ""
            lines.append(f"{r.name}: {count}{r.reason}{_ago(r.seconds_ago)}")
            lines += [f"  | {line}" for line in r.log_tail] or ["  | (no log lines)"]
        return False, "\n".join(lines)

    return _per_region(target, "restarts", "nexus-api", judge)


def mesh(target: Target) -> list[Finding]:
    """Istio's sidecar on every nexus-api pod and mTLS STRICT in force for them."""

    def judge(workloads: Workloads, role: str) -> tuple[bool, str]:
        state = workloads.mesh(role)
        if not state.applicable:
            return True, state.detail
        problems = []
        if state.without_sidecar:
            problems.append(
                f"no istio-proxy sidecar in {', '.join(state.without_sidecar)} (is injection on?)"
            )
        if state.mtls != "STRICT":
            why = f": {state.detail}" if state.detail else ""
            problems.append(f"mTLS {state.mtls or 'not set'}, not STRICT{why}")
        return not problems, "; ".join(problems) or f"sidecar in all {state.pods} pods, mTLS STRICT"

    return _per_region(target, "mesh", "service mesh", judge)


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
    return [*workload(target), *restarts(target), *mesh(target), *configuration(target, clients)]
