"""The disaster-recovery runbooks: failover to the DR region and failback, one runbook for every world.

The specification's flow is "failure detected -> update DNS records -> route traffic to DR"; made safe it
is: readiness -> fence the old primary (out of traffic, no more writes, its workload to zero) -> promote the
DR database -> fail the cache over -> scale DR compute to the primary's size -> switch traffic -> verify
through the global endpoint. A planned failover (switchover) waits for the replica to catch up after the
fence, so it loses nothing. Failback rebuilds the old primary region as a replica of the new primary, then
switches back the same way, so the topology after it is the one before the failover.

The steps see only `world.base.World` and the platform model: which world they drive is not their business.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from nexus_platform.errors import NexusError, Unreachable
from nexus_platform.ops.context import Context
from nexus_platform.ops.parallel import side_by_side
from nexus_platform.ops.step import Call, Precondition, Runbook, Step
from nexus_platform.platform import Platform
from nexus_platform.world.base import Lag, World

PRIMARY, DR = "primary", "dr"
UNREACHABLE = "unreachable"  # what a read of a region that does not answer records
# Generous: a loaded sandbox promotes in under a second, RDS in minutes.
WAIT_PROMOTE_SECONDS = 900.0
WAIT_SHORT_SECONDS = 120.0


@dataclass(frozen=True)
class Target:
    """What the steps act on: a world's adapters and the platform's names."""

    world: World
    platform: Platform

    def writer(self) -> str:
        """The role whose database takes writes now (the DR region's after a failover)."""
        return DR if self.world.database.role(DR) == "primary" else PRIMARY


def _target(ctx: Context) -> Target:
    target = ctx.world
    if not isinstance(target, Target):
        raise NexusError("the DR runbooks need a Target (world and platform) as their context's world")
    return target


def _name(ctx: Context, role: str) -> str:
    return _target(ctx).platform.region(role).region


def _lag(ctx: Context, role: str) -> dict[str, Any]:
    lag = _target(ctx).world.database.lag(role)
    return {
        "lag_bytes": lag.bytes,
        "lag_seconds": lag.seconds,
        "streaming": lag.streaming,
        "rpo_bound_seconds": rpo_bound(lag),
    }


# --- the RPO rule: one place for the runbook's precondition, `dr status` and `dr watch` ---------------------


def rpo_bound(lag: Lag) -> float | None:
    """What a failover now could lose, in seconds of writes: nothing from a streaming synchronous replica,
    else the replica's lag; None when it cannot be told (the replica does not stream, or reports no lag)."""
    if lag.synchronous and lag.streaming:
        return 0.0
    return lag.seconds


@dataclass(frozen=True)
class RpoVerdict:
    ok: bool
    bound: float | None  # seconds of writes a failover now could lose (None: unknown)
    reason: str  # why not, when not ok; what was measured, when ok


def rpo_verdict(target: Target, role: str = "dr") -> RpoVerdict:
    """May `role`'s database take over now without losing more than the RPO budget?"""
    world, platform = target.world, target.platform
    name = platform.region(role).region
    found = world.database.role(role)
    if found == "primary":
        return RpoVerdict(True, 0.0, f"{name} is the writer already: nothing left to lose")
    if found != "replica":
        return RpoVerdict(False, None, f"the {name} database is {found}, not a replica")
    bound = rpo_bound(world.database.lag(role))
    budget = platform.rpo_target_seconds
    if bound is None:
        return RpoVerdict(False, None, f"the {name} replica's lag is unknown")
    if bound > budget:
        return RpoVerdict(
            False, bound, f"the {name} replica is {bound:.0f}s behind, beyond the RPO budget of {budget}s"
        )
    return RpoVerdict(True, bound, f"{bound:.1f}s of writes at risk, within the RPO budget of {budget}s")


# --- preconditions ------------------------------------------------------------------------------------------


def _is_replica_or_promoted(role: str) -> Precondition:
    def check(ctx: Context) -> bool | str:
        found = _target(ctx).world.database.role(role)
        return found in ("replica", "primary") or f"the {_name(ctx, role)} database is {found}"

    return Precondition(f"{role}-database-available", check, "start it, or fix its replication first")


def _lag_within_rpo(role: str) -> Precondition:
    def check(ctx: Context) -> bool | str:
        verdict = rpo_verdict(_target(ctx), role)  # a resume after the promotion: nothing left to lose
        return verdict.ok or verdict.reason

    return Precondition(f"{role}-lag-within-rpo", check, "wait for the replica to catch up, or --force")


def _cache_available(role: str) -> Precondition:
    def check(ctx: Context) -> bool | str:
        found = _target(ctx).world.cache.role(role)
        return found != "down" or f"the {_name(ctx, role)} cache does not answer"

    return Precondition(f"{role}-cache-available", check, "start it first")


def _is_writer(role: str) -> Precondition:
    def check(ctx: Context) -> bool | str:
        found = _target(ctx).world.database.role(role)
        return found == "primary" or f"the {_name(ctx, role)} database is {found}, not the writer"

    return Precondition(f"{role}-is-the-writer", check, "failback follows a failover to that region")


# --- failover -----------------------------------------------------------------------------------------------


def _readiness(ctx: Context) -> Mapping[str, Any]:
    t = _target(ctx)
    read = side_by_side({"topology": lambda: topology(t), "lag": lambda: _lag(ctx, DR)})
    before = read["topology"]
    return {
        "primary_capacity": before["compute"][PRIMARY],
        "dr_capacity": before["compute"][DR],
        "primary_database": before["database"][PRIMARY],
        "serving": before["serving"],
        # What failback restores (the journal keeps it: `failback` reads it from the last failover's run).
        "topology": before,
        **read["lag"],
    }


def _fence_primary(ctx: Context) -> Mapping[str, Any]:
    t = _target(ctx)
    # The replica's lag at the fence bounds the writes an unplanned failover loses (the report's RPO bound).
    lag = _lag(ctx, DR)
    fenced_at = time.time()
    # Out of traffic first, through the global edge (DNS / the edge's view): that is in our hands even when
    # the region is not, and it is what keeps clients from writing there.
    t.world.traffic.drain(PRIMARY)
    # The region's own APIs may be down (the case DR exists for): what cannot be reached is recorded, and the
    # failover goes on; the report says what could not be fenced, to be done when the region answers.
    unfenced: dict[str, str] = {}
    database: tuple[str, Callable[[], None]] = ("database", lambda: t.world.database.fence(PRIMARY))
    compute: tuple[str, Callable[[], None]] = ("compute", lambda: t.world.compute.scale(PRIMARY, 0))
    # Unplanned, the database first: it is what stops acknowledging writes the DR region will not have, and
    # the workload's requests in flight then fail. Planned, nothing can be lost either way (the promotion
    # waits for the replica to apply everything), so the workload drains first and its requests in flight
    # complete instead of failing against a database that refuses them (or, before the sandbox's 1 s stop
    # grace, waiting out their pool's 2 s timeout: fences of 2.2 s and once 10.2 s, drill 2026-12-06).
    actions = (compute, database) if ctx.params.get("planned") else (database, compute)
    for part, action in actions:
        try:
            action()
        except Unreachable as exc:
            unfenced[part] = str(exc)
            ctx.note(f"could not fence the {_name(ctx, PRIMARY)} {part}: the region does not answer")
    return {**lag, "fenced_at": fenced_at, "unfenced": unfenced}


def _primary_fenced(ctx: Context) -> bool:
    t = _target(ctx)
    if t.world.traffic.health(PRIMARY) != "drained":
        return False
    try:
        return t.world.database.is_fenced(PRIMARY)
    except Unreachable:
        return True  # no application reaches it either: nothing writes there until it answers again


def _promote_dr(ctx: Context) -> Mapping[str, Any]:
    t = _target(ctx)
    if ctx.params.get("planned"):
        ctx.wait(
            "the DR replica to apply everything the fenced primary wrote",
            lambda: t.world.database.caught_up(DR),
            timeout=WAIT_SHORT_SECONDS,
        )
    t.world.database.promote(DR)
    return {
        "role": ctx.wait(
            "the DR database to accept writes",
            lambda: (role := t.world.database.role(DR)) == "primary" and role,
            timeout=WAIT_PROMOTE_SECONDS,
        )
    }


def _fail_over_cache(ctx: Context) -> Mapping[str, Any]:
    t = _target(ctx)
    t.world.cache.promote(DR)
    ctx.wait(
        "the DR cache to become the primary",
        lambda: t.world.cache.role(DR) == "primary",
        timeout=WAIT_PROMOTE_SECONDS,
    )
    return {"role": "primary"}


def _wanted_capacity(ctx: Context, of: str) -> int:
    """The size the readiness step recorded for `of`; when that region did not answer, the DR region's own
    size (at least 1): it is all that can be known."""
    readiness = ctx.results.get("readiness", {})
    for key in (f"{of}_capacity", "dr_capacity"):
        value = readiness.get(key)
        if isinstance(value, int) and value > 0:
            return value
    return 1


def _scale(role: str, like: str) -> Step:
    def apply(ctx: Context) -> Mapping[str, Any]:
        t, wanted = _target(ctx), _wanted_capacity(ctx, like)
        t.world.compute.scale(role, wanted)
        ctx.wait(
            f"{wanted} workload replicas in {_name(ctx, role)}",
            lambda: t.world.compute.desired(role) >= wanted,
            timeout=WAIT_PROMOTE_SECONDS,
        )
        return {"replicas": wanted}

    def done(ctx: Context) -> bool:
        return _target(ctx).world.compute.desired(role) >= _wanted_capacity(ctx, like)

    return Step(
        f"scale-{role}-compute",
        f"scale {role} compute to the {like} region's size"
        if like != role
        else f"scale {role} compute back to its size before the failover",
        reversible=True,
        apply=apply,
        done=done,
        calls=lambda ctx: [
            Call("compute", "scale", {"region": _name(ctx, role), "replicas": _wanted_capacity(ctx, like)})
        ],
    )


def _switch_to(role: str) -> Step:
    def apply(ctx: Context) -> Mapping[str, Any]:
        t = _target(ctx)
        # Its workload ready first (a just-promoted database is seen writable on the pods' next role poll),
        # so that the edge can take a fresh verdict now instead of waiting for its own checks to rise.
        ctx.wait(
            f"the workload in {_name(ctx, role)} to be ready",
            lambda: (c := t.world.compute.capacity(role)).desired > 0 and c.ready >= c.desired,
            timeout=WAIT_PROMOTE_SECONDS,
        )
        t.world.traffic.restore(role)
        ctx.wait(
            f"the global endpoint to send traffic to {_name(ctx, role)}",
            lambda: t.world.traffic.serving() == role,
            timeout=WAIT_PROMOTE_SECONDS,
        )
        return {"serving": role}

    return Step(
        f"switch-traffic-to-{role}",
        f"route the global endpoint to {role}",
        reversible=True,
        apply=apply,
        done=lambda ctx: _target(ctx).world.traffic.serving() == role,
        calls=lambda ctx: [Call("traffic", "restore", {"region": _name(ctx, role)})],
    )


def _verify(role: str) -> Step:
    def apply(ctx: Context) -> Mapping[str, Any]:
        t = _target(ctx)
        record_id = f"nexus-dr-verify-{ctx.run_id}"
        region = _name(ctx, role)
        # The new writer's workload notices its database became writable on its next role poll (about 1 s).
        write = ctx.wait(
            f"a write through the global endpoint to be stored in {region}",
            lambda: (r := t.world.probe.write(record_id)).ok and r,
            timeout=WAIT_SHORT_SECONDS,
        )
        read = ctx.wait(
            "the write to read back through the global endpoint",
            lambda: (r := t.world.probe.read(record_id)).ok and r,
            timeout=WAIT_SHORT_SECONDS,
        )
        if write.region not in (None, region):
            raise NexusError(f"the verification write was served by {write.region}, not {region}")
        return {
            "record_id": record_id,
            "region": write.region,
            "write_ms": round(write.milliseconds, 1),
            "read_ms": round(read.milliseconds, 1),
        }

    return Step(
        "verify",
        "write and read back through the global endpoint",
        reversible=True,
        apply=apply,
        calls=lambda ctx: [Call("probe", "write+read", {"via": "global endpoint"})],
    )


def failover(*, planned: bool = False) -> Runbook:
    """Unplanned: fence first (every second the old primary keeps acknowledging writes may be lost), the DR
    workload scaled after the promotion. Planned (a switchover): the DR workload is scaled to the primary's
    size before the fence, while the primary still serves, so that its start-up (0.6 s of the ~1 s writes were
    refused, drill 2026-12-06) leaves the window; a warm standby's pods are ready against the replica and see
    it writable on their next role poll."""
    readiness = Step(
        "readiness",
        "check the DR region can take over; record the capacities and the replica's lag",
        reversible=True,
        apply=_readiness,
        preconditions=(_is_replica_or_promoted(DR), _lag_within_rpo(DR), _cache_available(DR)),
        calls=lambda ctx: [Call("database", "lag", {"region": _name(ctx, DR)})],
    )
    fence = Step(
        "fence-primary",
        "take the primary region out of traffic, stop its database taking writes, scale its workload to 0",
        reversible=True,
        apply=_fence_primary,
        done=_primary_fenced,
        calls=lambda ctx: [
            Call("traffic", "drain", {"region": _name(ctx, PRIMARY)}),
            Call("database", "fence", {"region": _name(ctx, PRIMARY)}),
            Call("compute", "scale", {"region": _name(ctx, PRIMARY), "replicas": 0}),
        ],
    )
    promote = Step(
        "promote-dr-database",
        "promote the DR replica to the writable primary (planned: after it has applied everything)",
        reversible=False,
        apply=_promote_dr,
        done=lambda ctx: _target(ctx).world.database.role(DR) == "primary",
        calls=lambda ctx: [Call("database", "promote", {"region": _name(ctx, DR)})],
    )
    cache = Step(
        "fail-over-cache",
        "make the DR cache the primary",
        reversible=False,
        apply=_fail_over_cache,
        done=lambda ctx: _target(ctx).world.cache.role(DR) == "primary",
        calls=lambda ctx: [Call("cache", "promote", {"region": _name(ctx, DR)})],
    )
    scale = _scale(DR, like=PRIMARY)
    steps = (
        (readiness, scale, fence, promote, cache) if planned else (readiness, fence, promote, cache, scale)
    )
    return Runbook(
        "dr.failover", "fail the platform over to the DR region", (*steps, _switch_to(DR), _verify(DR))
    )


def named(name: str, *, planned: bool = False) -> Runbook:
    """The runbook `dr.failover` (in its planned or unplanned order) or `dr.failback`."""
    return failover(planned=planned) if name == "dr.failover" else failback()


# --- failback -----------------------------------------------------------------------------------------------


def _reseed(role: str, source: str) -> Step:
    def apply(ctx: Context) -> Mapping[str, Any]:
        t = _target(ctx)
        t.world.database.reseed_as_replica(role, source)
        t.world.cache.follow(role, source)
        ctx.wait(
            f"the {_name(ctx, role)} replica to stream from {_name(ctx, source)}",
            lambda: t.world.database.lag(role).streaming,
            timeout=WAIT_PROMOTE_SECONDS,
        )
        return _lag(ctx, role)

    def done(ctx: Context) -> bool:
        t = _target(ctx)
        return t.world.database.role(role) == "replica" and t.world.database.lag(role).streaming

    return Step(
        f"reseed-{role}-as-replica",
        f"rebuild the {role} region's database as a replica of the {source} region's",
        reversible=False,
        apply=apply,
        done=done,
        calls=lambda ctx: [
            Call("database", "reseed_as_replica", {"region": _name(ctx, role), "source": _name(ctx, source)}),
            Call("cache", "follow", {"region": _name(ctx, role), "source": _name(ctx, source)}),
        ],
    )


def _back_behind_the_edge(role: str) -> Step:
    """A warm standby serves reads: back behind the global endpoint once rebuilt, ready when the edge's own
    health check passes on it again (a fresh verdict: it was drained, so no stale one)."""

    def apply(ctx: Context) -> Mapping[str, Any]:
        t = _target(ctx)
        # Its workload first, asked directly: just after the re-seed it may still be reconnecting, and an edge
        # verdict taken then can be stale either way.
        ctx.wait(
            f"the workload in {_name(ctx, role)} to be ready",
            lambda: (c := t.world.compute.capacity(role)).desired > 0 and c.ready >= c.desired,
            timeout=WAIT_PROMOTE_SECONDS,
        )
        t.world.traffic.restore(role)
        ctx.wait(
            f"the edge to see {_name(ctx, role)} healthy",
            lambda: t.world.traffic.health(role) == "healthy",
            timeout=WAIT_PROMOTE_SECONDS,
        )
        return {"health": "healthy"}

    return Step(
        f"restore-{role}-traffic",
        f"put the {role} region back behind the global endpoint (it serves reads)",
        reversible=True,
        apply=apply,
        done=lambda ctx: _target(ctx).world.traffic.health(role) == "healthy",
        calls=lambda ctx: [Call("traffic", "restore", {"region": _name(ctx, role)})],
    )


def restore_target(ctx: Context) -> dict[str, Any]:
    """The topology failback restores: the steady shape (who writes, replicates and serves) with each region's
    compute at the size the last failover recorded before it changed anything (param `restore`). The primary
    gets at least the DR region's size now: DR has been carrying the whole load, and an unplanned failover may
    have recorded a region half gone (the instances that had not died yet). A size it could not record (the
    primary's workload dead or its API unreachable) is DR's now, or what the primary region still runs if that
    is more."""
    captured = ctx.params.get("restore")
    sizes = captured.get("compute", {}) if isinstance(captured, Mapping) else {}
    compute = _target(ctx).world.compute
    now = compute.desired(DR)

    def size(role: str) -> int:
        value = sizes.get(role)
        if isinstance(value, int) and value > 0:
            return max(value, now) if role == PRIMARY else value
        # Not recorded. A primary region back from an outage may still hold the workload it ran before
        # (its Deployment was never scaled down): that is its size, if larger than what DR carries now.
        try:
            held = compute.desired(role) if role == PRIMARY else 0
        except NexusError:
            held = 0
        return max(now, held)

    return {**STEADY, "compute": {PRIMARY: size(PRIMARY), DR: size(DR)}}


def _failback_readiness(ctx: Context) -> Mapping[str, Any]:
    t = _target(ctx)
    wanted = restore_target(ctx)
    return {
        # The primary region gets back the size it had before the failover; DR returns to its standby size.
        "primary_capacity": wanted["compute"][PRIMARY],
        "dr_capacity": wanted["compute"][DR],
        "serving": t.world.traffic.serving(),
        "topology": wanted,
    }


def _scale_back(role: str) -> Step:
    """`role`'s compute back to the size the readiness step recorded for it (warm standby: smaller)."""

    def wanted(ctx: Context) -> int:
        return int(ctx.results.get("readiness", {}).get(f"{role}_capacity") or 0)

    def apply(ctx: Context) -> Mapping[str, Any]:
        t, size = _target(ctx), wanted(ctx)
        t.world.compute.scale(role, size)
        ctx.wait(
            f"{size} workload replicas in {_name(ctx, role)}",
            lambda: t.world.compute.desired(role) == size,
            timeout=WAIT_PROMOTE_SECONDS,
        )
        return {"replicas": size}

    return Step(
        f"scale-{role}-compute-back",
        f"scale {role} compute back to its size before the failover",
        reversible=True,
        apply=apply,
        done=lambda ctx: _target(ctx).world.compute.desired(role) == wanted(ctx),
        calls=lambda ctx: [Call("compute", "scale", {"region": _name(ctx, role), "replicas": wanted(ctx)})],
    )


def _fence_dr(ctx: Context) -> Mapping[str, Any]:
    t = _target(ctx)
    # Out of traffic as well: fenced, its workload fails its readiness, and an edge that has not noticed yet
    # would report it healthy after the failback; its re-seed puts it back and waits for a fresh verdict.
    t.world.traffic.drain(DR)
    t.world.database.fence(DR)
    return {"fenced_at": time.time()}


def _promote_primary(ctx: Context) -> Mapping[str, Any]:
    t = _target(ctx)
    ctx.wait(
        "the primary region's replica to apply everything the fenced DR database wrote",
        lambda: t.world.database.caught_up(PRIMARY),
        timeout=WAIT_PROMOTE_SECONDS,
    )
    t.world.database.promote(PRIMARY)
    ctx.wait(
        "the primary region's database to accept writes",
        lambda: t.world.database.role(PRIMARY) == "primary",
        timeout=WAIT_PROMOTE_SECONDS,
    )
    return {"role": "primary"}


def _fail_back_cache(ctx: Context) -> Mapping[str, Any]:
    t = _target(ctx)
    t.world.cache.promote(PRIMARY)
    t.world.cache.follow(DR, PRIMARY)
    return {"role": "primary"}


def failback() -> Runbook:
    return Runbook(
        "dr.failback",
        "rebuild the primary region from the DR region, then switch back to it",
        (
            Step(
                "readiness",
                "check the DR region is the writer; record its capacity",
                reversible=True,
                apply=_failback_readiness,
                preconditions=(_is_writer(DR),),
            ),
            # Its workload's role is primary: it is not ready (nor healthy at the edge) until promoted.
            _reseed(PRIMARY, DR),
            _scale(PRIMARY, like=PRIMARY),
            Step(
                "fence-dr",
                "stop the DR database taking writes (a planned switchover: nothing is lost)",
                reversible=True,
                apply=_fence_dr,
                done=lambda ctx: (
                    _target(ctx).world.database.role(PRIMARY) == "primary"
                    or _target(ctx).world.database.is_fenced(DR)
                ),
                calls=lambda ctx: [
                    Call("traffic", "drain", {"region": _name(ctx, DR)}),
                    Call("database", "fence", {"region": _name(ctx, DR)}),
                ],
            ),
            Step(
                "promote-primary-database",
                "promote the primary region's replica once it has applied everything",
                reversible=False,
                apply=_promote_primary,
                done=lambda ctx: _target(ctx).world.database.role(PRIMARY) == "primary",
                calls=lambda ctx: [Call("database", "promote", {"region": _name(ctx, PRIMARY)})],
            ),
            Step(
                "fail-back-cache",
                "make the primary region's cache the primary again, the DR one its replica",
                reversible=False,
                apply=_fail_back_cache,
                done=lambda ctx: _target(ctx).world.cache.role(PRIMARY) == "primary",
                calls=lambda ctx: [
                    Call("cache", "promote", {"region": _name(ctx, PRIMARY)}),
                    Call("cache", "follow", {"region": _name(ctx, DR), "source": _name(ctx, PRIMARY)}),
                ],
            ),
            _switch_to(PRIMARY),
            _reseed(DR, PRIMARY),
            _back_behind_the_edge(DR),
            _scale_back(DR),
            _verify(PRIMARY),
        ),
    )


def topology(target: Target) -> dict[str, Any]:
    """The shape failback must restore: who writes, who replicates, who serves.

    Its nine readings are independent reads of different services: they are made side by side (the
    failover's readiness step reads this before it fences: one reading's latency, not nine, ~0.1 s of every
    unplanned failover's RTO in the sandbox)."""
    world = target.world

    def desired(role: str) -> int | str:
        try:
            return world.compute.desired(role)
        except Unreachable:
            return UNREACHABLE

    roles = (PRIMARY, DR)
    parts: dict[str, Callable[[str], Any]] = {
        "database": world.database.role,
        "cache": world.cache.role,
        "edge": world.traffic.health,
        "compute": desired,
    }
    readings: dict[tuple[str, str], Callable[[], Any]] = {
        (part, role): functools.partial(read, role) for part, read in parts.items() for role in roles
    }
    read = side_by_side({**readings, ("serving", ""): world.traffic.serving})
    shape = {part: {role: read[part, role] for role in roles} for part in parts}
    return {**shape, "serving": read["serving", ""]}


#: What the platform looks like when nothing has failed over (compute sizes aside: see `restore_target`).
STEADY: dict[str, Any] = {
    "database": {PRIMARY: "primary", DR: "replica"},
    "cache": {PRIMARY: "primary", DR: "replica"},
    "serving": PRIMARY,
    "edge": {PRIMARY: "healthy", DR: "healthy"},
}
