"""Performance checks (troubleshooting guide, section 3), world-blind: the cross-region replica streams within
the lag alarm, each region has scaling headroom (the autoscaler and node groups below their maximum), and
each region's API answers, with the round trip measured now."""

from __future__ import annotations

import uuid

from nexus_platform import model
from nexus_platform.doctor.infrastructure import Finding
from nexus_platform.errors import NexusError
from nexus_platform.runbooks.dr import Target


def _scope(target: Target, role: str, what: str = "") -> str:
    return f"{role} ({target.platform.region(role).region}) {what}".rstrip()


def replication(target: Target) -> list[Finding]:
    """The replica's region (DR, or the primary's after a failover) streams within the lag alarm."""
    replica = "primary" if target.world.database.role("dr") == "primary" else "dr"
    lag = target.world.database.lag(replica)
    alarm = target.platform.replica_lag_alarm_seconds
    if not lag.streaming:
        ok, detail = False, "the replica is not streaming from its source (replication broken or stopped)"
    elif lag.seconds is not None and lag.seconds > alarm:
        ok, detail = False, f"{lag.seconds:.1f} s behind (alarm at {alarm} s)"
    else:
        seconds = "unknown" if lag.seconds is None else f"{lag.seconds:.3f} s"
        ok, detail = True, f"streaming, {seconds} behind (alarm at {alarm} s)"
    return [Finding("replication", _scope(target, replica, "database replica"), ok, detail)]


def headroom(target: Target) -> list[Finding]:
    """Room to scale: nexus-api below its autoscaler's maximum, node groups below theirs."""
    findings = []
    for role in model.ROLES:
        try:
            if target.world.scaling is None:
                raise NexusError("this world has no view of its scaling")
            view = target.world.scaling.show(role)
        except NexusError as exc:
            findings.append(Finding("headroom", _scope(target, role), False, str(exc)))
            continue
        full = [f"node group {g.name} at its maximum {g.max}" for g in view.node_groups if g.desired >= g.max]
        if view.api_max is not None and view.api_desired >= view.api_max:
            full.append(f"nexus-api at its autoscaler's maximum {view.api_max}")
        bound = "no autoscaler" if view.api_max is None else f"{view.api_desired} of at most {view.api_max}"
        findings.append(
            Finding(
                "headroom",
                _scope(target, role),
                not full,
                "; ".join(full) + " (`nexus scale show`)" if full else f"nexus-api {bound}",
            )
        )
    return findings


def api_latency(target: Target) -> list[Finding]:
    """A no-cache read through each region's API, timed now."""
    findings = []
    record = f"nexus-doctor-{uuid.uuid4().hex[:8]}"  # not there: a 404 answers as fast as a hit
    for role in model.ROLES:
        answer = target.world.probe.read(record, role)
        ok = answer.status in (200, 404)
        detail = (
            f"answered in {answer.milliseconds:.1f} ms"
            if ok
            else f"no answer ({answer.status or answer.detail}) after {answer.milliseconds:.0f} ms"
        )
        findings.append(Finding("api-latency", _scope(target, role, "nexus-api"), ok, detail))
    return findings


def run(target: Target) -> list[Finding]:
    return [*replication(target), *headroom(target), *api_latency(target)]
