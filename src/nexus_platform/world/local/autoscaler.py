"""The sandbox's HorizontalPodAutoscaler: nexus-api instances per region follow the request rate.

It does what the chart's HPA does on EKS, with the same settings (helm/nexus `autoscaling`): the per-instance
target is `requestRate.targetAverageValue`, the bounds `minReplicas`/`maxReplicas` (or what `nexus scale
set --api-replicas` gave the region), and the algorithm is Kubernetes': desired = ceil(rate / target),
nothing done within 10 % of the target, up at once, down only to the highest recommendation of the
stabilization window.
Where the sandbox differs, and why:

- the rate is the region's load balancer's (HAProxy's frontend req_tot, sampled every `interval`), not
  prometheus-adapter's 2-minute rate: the sandbox's time runs faster, as its stabilization window does;
- it adds and removes only the spare instances (api_spare_ports): the ones `nexus up` starts (api_ports) are
  `nexus up`'s and the runbooks' (a failover resizes regions itself), so its floor is what they hold and its
  ceiling the chart's maximum held to the region's ports (2 cores run the sandbox: minReplicas 3 would crowd
  the tests);
- like an HPA it never scales a region with no instances (a runbook scaled it to zero) and it does not restart
  a killed instance (that is a kubelet's job, which the sandbox does not have: `nexus up` does it);
- it stands aside while a runbook holds the environment's lock (a failover resizes regions itself).
"""

from __future__ import annotations

import json
import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from nexus_platform import logs, model
from nexus_platform.errors import NexusError
from nexus_platform.world.local import api, haproxy

log = logs.get("sandbox.autoscaler")

#: Kubernetes' --horizontal-pod-autoscaler-tolerance default: no change within 10 % of the target.
TOLERANCE = 0.1


@dataclass(frozen=True)
class Bounds:
    low: int
    high: int


@dataclass(frozen=True)
class Settings:
    target_per_instance: float
    chart: Bounds  # the chart's (or `nexus scale set`'s) minReplicas..maxReplicas
    effective: Bounds  # what the sandbox holds the region to (clamped to its ports)


def settings(
    chart: Path,
    role: str,
    baseline: int,
    slots: int,
    override: tuple[int, int] | None,
    *,
    target: float | None = None,
) -> Settings:
    """The region's autoscaling settings: the chart's, or `nexus scale set`'s bounds, clamped to the ports;
    `target` (sandbox.toml) in place of the chart's per-instance request rate."""
    values = api.chart_values(chart, role).get("autoscaling") or {}
    if not values.get("enabled"):
        raise NexusError(f"autoscaling is off in helm/nexus for the {role} region")
    low, high = override or (int(values["minReplicas"]), int(values["maxReplicas"]))
    rate = values.get("requestRate") or {}
    if not rate.get("enabled"):
        raise NexusError("helm/nexus autoscaling.requestRate is off: the sandbox scales on request rate")
    target = target or float(rate.get("targetAverageValue", 0))
    if target <= 0:
        raise NexusError("helm/nexus autoscaling.requestRate is off: the sandbox scales on request rate")
    # Floor: the baseline (what `nexus up` and the runbooks hold); ceiling: the maximum, within the ports.
    ceiling = max(1, min(high, slots))
    return Settings(target, Bounds(low, high), Bounds(min(baseline, ceiling), ceiling))


def region_settings(plane: Any, role: str) -> Settings:
    """`settings` for a region of the running sandbox (its chart, ports, overrides and sandbox.toml)."""
    return settings(
        plane.chart,
        role,
        len(plane.instances(role)),
        len(plane.slots(role)),
        plane.api_bounds(role),
        target=plane.config.autoscaler_target_requests_per_s,
    )


def recommend(rate: float, current: int, target: float, bounds: Bounds) -> int:
    """Kubernetes' HPA rule for an average-value metric: ceil(total / target), within the bounds."""
    if current > 0 and abs(rate / current / target - 1) <= TOLERANCE:
        want = current
    else:
        want = math.ceil(rate / target)
    return max(bounds.low, min(bounds.high, want))


class Stabilizer:
    """Scale down only to the highest recommendation of the last `window` seconds (behavior.scaleDown)."""

    def __init__(self, window: float) -> None:
        self.window = window
        self.history: deque[tuple[float, int]] = deque()

    def __call__(self, now: float, recommendation: int, current: int) -> int:
        self.history.append((now, recommendation))
        while self.history and self.history[0][0] < now - self.window:
            self.history.popleft()
        if recommendation >= current:
            return recommendation
        return min(current, max(r for _, r in self.history))


@dataclass(frozen=True)
class Decision:
    at: float  # time.time()
    role: str
    region: str
    rate: float
    current: int
    recommended: int
    desired: int


class Compute(Protocol):
    """What the loop needs of world/local/world.py's LocalCompute."""

    def wanted(self, role: str) -> list[api.Instance]: ...
    def start(self, role: str, instances: list[api.Instance]) -> None: ...
    def stop(self, instances: list[api.Instance]) -> None: ...


class Autoscaler:
    def __init__(
        self,
        plane: Any,
        compute: Compute,
        *,
        window: float,
        busy: Callable[[], str | None],
        events: Path,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.plane, self.compute, self.busy, self.events, self.clock = plane, compute, busy, events, clock
        self.stabilizers = {role: Stabilizer(window) for role in model.ROLES}
        self.last: dict[str, tuple[float, int]] = {}

    def settings(self, role: str) -> Settings:
        return region_settings(self.plane, role)

    def rate(self, role: str) -> float | None:
        """Requests per second at the region's load balancer since the last look (None on the first)."""
        total: int = self.plane.runtime().requests_total(haproxy.region_proxy(self.plane.region(role)))
        now, before = self.clock(), self.last.get(role)
        self.last[role] = (now, total)
        if before is None or now <= before[0] or total < before[1]:
            return None  # first look, or HAProxy restarted (its counters with it)
        return (total - before[1]) / (now - before[0])

    def tick(self) -> list[Decision]:
        holder = self.busy()
        decisions = []
        for role in model.ROLES:
            rate = self.rate(role)
            if rate is None or holder:
                continue
            wanted = self.compute.wanted(role)
            baseline = {i.name for i in self.plane.instances(role)}
            held = [i for i in wanted if i.name in baseline]
            if not held:
                continue  # scaled to zero by a runbook: an HPA does not scale a target with no replicas
            config = self.settings(role)
            current = len(wanted)
            # Up to the maximum, as far as the spares go (the baseline instances are not its to start).
            room = len(held) + len(self.plane.slots(role)) - len(baseline)
            bounds = Bounds(len(held), max(len(held), min(config.effective.high, room)))
            recommended = recommend(rate, current, config.target_per_instance, bounds)
            desired = max(len(held), self.stabilizers[role](self.clock(), recommended, current))
            if desired == current:
                continue
            decision = Decision(
                time.time(), role, self.plane.region(role), round(rate, 1), current, recommended, desired
            )
            self.apply(role, wanted, desired)
            self.record(decision)
            decisions.append(decision)
        return decisions

    def apply(self, role: str, wanted: list[api.Instance], desired: int) -> None:
        """Start free spares, or stop the last started ones: never a baseline instance."""
        baseline = {i.name for i in self.plane.instances(role)}
        spares = [i for i in wanted if i.name not in baseline]
        if desired > len(wanted):
            names = {i.name for i in wanted}
            free = [i for i in self.plane.slots(role) if i.name not in names and i.name not in baseline]
            self.compute.start(role, free[: desired - len(wanted)])
        else:
            self.compute.stop(spares[len(spares) - (len(wanted) - desired) :])

    def record(self, decision: Decision) -> None:
        log.warning("scaled nexus-api", extra=asdict(decision))
        self.events.parent.mkdir(parents=True, exist_ok=True)
        with self.events.open("a") as out:
            out.write(json.dumps(asdict(decision)) + "\n")

    def run(self, interval: float, stop: Callable[[], bool]) -> None:
        while not stop():
            started = self.clock()
            try:
                self.tick()
            except NexusError as exc:
                # A region being restarted or failed over: look again next time.
                log.warning("autoscaler tick failed", extra={"error": str(exc)})
                self.last.clear()
            time.sleep(max(0.0, interval - (self.clock() - started)))


def events(path: Path) -> list[Mapping[str, Any]]:
    """The decisions an autoscaler recorded (oldest first)."""
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return []
    found = []
    for line in lines:
        try:
            found.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line torn by a crash mid-write
    return found
