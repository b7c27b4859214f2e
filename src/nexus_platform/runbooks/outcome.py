"""What a DR run achieved, for its report: the RTO against its target, the RPO bound, what could not be
fenced, whether a failback restored the topology; and the topology a failback is to restore (the last
completed failover's, from its journal)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nexus_platform import telemetry
from nexus_platform.errors import NexusError
from nexus_platform.runbooks import dr as runbooks


def summary(
    report: Any, target: runbooks.Target, since: float, before: dict[str, Any], after: dict[str, Any]
) -> dict[str, Any]:
    """RTO from the detection (or the run's start) to the verified write; the RPO bound (lag at the fence)."""
    verify = next((s for s in report.steps if s.name == "verify"), None)
    ended = (
        verify.ended.timestamp()
        if verify is not None and verify.ended is not None
        else report.ended.timestamp()
    )
    fence = next((s for s in report.steps if s.name == "fence-primary" and s.result), None)
    rpo = fence.result.get("rpo_bound_seconds") if fence is not None and fence.result else None
    summary: dict[str, Any] = {
        "rto_seconds": round(ended - since, 2),
        "rto_target_seconds": telemetry.RTO_TARGET_SECONDS,
        "rpo_bound_seconds": None if rpo is None else round(float(rpo), 3),
        # What the fence could not reach (the primary region's APIs down): do it when the region answers.
        "unfenced": fence.result.get("unfenced", {}) if fence is not None and fence.result else {},
        "rpo_target_seconds": target.platform.rpo_target_seconds,
        "topology_before": before,
        "topology_after": after,
    }
    if report.runbook == "dr.failback":
        wanted = recorded_topology(report) or None
        summary["topology_restored"] = after == (wanted or runbooks.STEADY)
        summary["topology_wanted"] = wanted
    return summary


def recorded_topology(report: Any) -> dict[str, Any]:
    """The topology a run's readiness step recorded before it changed anything ({} when it recorded none; a
    failback's is the one it is to restore): a failover's "before", read once (in a regional outage each
    reading of the primary waits out its probes: 0.5-1 s of the RTO, drill 2026-12-06)."""
    readiness = next((s for s in report.steps if s.name == "readiness" and s.result), None)
    return dict(readiness.result.get("topology") or {}) if readiness is not None and readiness.result else {}


def topology_before_failover(state_dir: Path, env: str, world: str) -> dict[str, Any] | None:
    """The topology the last completed failover of `env` in `world` recorded before it changed anything (its
    readiness step's result, in its journal); None when no failover ran here."""
    from nexus_platform.ops.journal import Journal  # noqa: PLC0415

    journal = Journal(state_dir)
    for run_id in reversed(journal.runs()):
        try:
            run = journal.load(run_id)
        except NexusError:
            continue
        ran_in = run.params.get("world", world)  # journals from before the world was a parameter
        if run.runbook == "dr.failover" and run.env == env and ran_in == world and run.outcome == "complete":
            result = run.steps["readiness"].result if "readiness" in run.steps else None
            topology = result.get("topology") if result else None
            return dict(topology) if isinstance(topology, dict) else None
    return None
