"""The DR safety rules, world-blind (runbooks/dr.py's RPO rule, runbooks/watch.py's detector), against a
world of in-memory adapters: the rules read only `world.base`'s interfaces, so a fake world at that boundary
exercises all of them. The same rules run on the sandbox's and the emulator's worlds in tests/integration."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from nexus_platform.errors import Unreachable
from nexus_platform.ops.context import Context
from nexus_platform.platform import HealthCheck, Platform, RegionFacts
from nexus_platform.runbooks import watch
from nexus_platform.runbooks.dr import Target, _fence_primary, rpo_bound, rpo_verdict
from nexus_platform.world.base import Capacity, Lag, ProbeResult, World

BUDGET = 300


def _facts(role: str, region: str) -> RegionFacts:
    return RegionFacts(role, region, *(f"{region}-{n}" for n in range(11)))


PLATFORM = Platform(
    env="sandbox",
    name_prefix="nexus-test",
    regions={"primary": _facts("primary", "us-east-1"), "dr": _facts("dr", "eu-west-1")},
    api_fqdn="api.example.com",
    app_fqdn="app.example.com",
    zone_id="Z1",
    global_datastore_id="g",
    cloudfront_distribution_id="E1",
    health_check=HealthCheck("/readyz", 10, 3),
    rpo_target_seconds=BUDGET,
    replica_lag_alarm_seconds=60,
    backup_retention_days=30,
    endpoint_url=None,
)


@dataclass
class Fake:
    """Every adapter at once; the test sets the state it reads."""

    roles: dict[str, str] = field(default_factory=lambda: {"primary": "primary", "dr": "replica"})
    dr_lag: Lag = field(default_factory=lambda: Lag(0, 1.0, True))
    edge: list[str] = field(default_factory=list)  # successive answers for the primary's health
    # Successive counts of failed checks the edge reports for the primary (None: it reports none).
    counts: list[int] | None = None
    sizes: dict[str, int] = field(default_factory=lambda: {"primary": 1, "dr": 1})

    def role(self, role: str) -> str:
        return self.roles[role]

    def lag(self, role: str) -> Lag:
        return self.dr_lag if role == "dr" else Lag(None, None, False)

    def health(self, role: str) -> str:
        return self.edge.pop(0) if role == "primary" and self.edge else "healthy"

    def failed_checks(self, role: str) -> int | None:
        if self.counts is None or role != "primary":
            return None
        return self.counts.pop(0) if self.counts else 0

    def serving(self) -> str | None:
        return "primary"

    def capacity(self, role: str) -> Capacity:
        if self.sizes[role] < 0:
            raise Unreachable(f"{role}'s cluster API does not answer")
        return Capacity(self.sizes[role], self.sizes[role])

    def desired(self, role: str) -> int:
        return self.capacity(role).desired

    def record_ttls(self) -> dict[str, int] | None:
        return None

    def write(self, record_id: str) -> ProbeResult:
        return ProbeResult(True, None, 200, 1.0)


def target(fake: Fake) -> Target:
    world = World("fake", fake, fake, fake, fake, fake)  # type: ignore[arg-type]
    return Target(world=world, platform=PLATFORM)


@pytest.mark.parametrize(
    ("lag", "bound"),
    [
        (Lag(0, 4.2, True), 4.2),  # async: what the replica has not applied
        (Lag(0, 4.2, True, synchronous=True), 0.0),  # sync, streaming: every acknowledged write is there
        (Lag(None, 4.2, False, synchronous=True), 4.2),  # sync but cut off: the primary stopped waiting
        (Lag(None, None, False), None),
    ],
)
def test_the_rpo_bound(lag: Lag, bound: float | None) -> None:
    assert rpo_bound(lag) == bound


def test_the_rpo_verdict() -> None:
    fake = Fake()
    assert rpo_verdict(target(fake)).ok
    fake.dr_lag = Lag(0, BUDGET + 1.0, True)
    verdict = rpo_verdict(target(fake))
    assert not verdict.ok and verdict.bound == BUDGET + 1.0
    assert verdict.reason == f"the eu-west-1 replica is 301s behind, beyond the RPO budget of {BUDGET}s"
    fake.dr_lag = Lag(0, BUDGET + 1.0, True, synchronous=True)
    assert rpo_verdict(target(fake)).ok  # synchronous: nothing at risk, whatever the replay lag
    fake.dr_lag = Lag(None, None, False)
    assert rpo_verdict(target(fake)).reason == "the eu-west-1 replica's lag is unknown"
    fake.roles["dr"] = "down"
    assert rpo_verdict(target(fake)).reason == "the eu-west-1 database is down, not a replica"
    fake.roles["dr"] = "primary"
    verdict = rpo_verdict(target(fake))
    assert (verdict.ok, verdict.bound) == (True, 0.0)
    assert verdict.reason == "eu-west-1 is the writer already: nothing left to lose"


def detector(
    fake: Fake,
    *,
    last: float | None = None,
    force: bool = False,
    now: float = 10_000.0,
    clock: Callable[[], float] | None = None,
    threshold: int = 3,
) -> watch.Detector:
    return watch.Detector(
        target(fake),
        threshold=threshold,
        cooldown_seconds=3600,
        last_failover=lambda: last,
        force=force,
        check_interval=1.0,
        clock=clock or (lambda: now),
    )


def test_where_the_edge_counts_its_failed_checks_the_watch_acts_on_its_count() -> None:
    """No second count on top of the edge's: the third failed check of the edge is the failover."""
    fake = Fake(
        edge=["healthy", "healthy", "healthy", "healthy", "unhealthy"],
        counts=[0, 1, 1, 2, 3],
    )
    d = detector(fake)
    actions = [d.check().action for _ in range(5)]
    assert actions == ["healthy", "suspect", "suspect", "suspect", "fail-over"]
    assert d.edge_counts is True and d.first_failure == 10_000.0


def test_a_failure_first_seen_late_is_dated_from_the_edges_first_failed_check() -> None:
    # The watch started (or looked) when the edge had already counted 3: the first failed 2 checks ago.
    d = detector(Fake(edge=["unhealthy"], counts=[3]))
    decision = d.check()
    assert decision.action == "fail-over"
    assert decision.first_failure == 10_000.0 - 2 * 1.0


def test_a_new_streak_of_failures_restarts_the_clock() -> None:
    now = [100.0]
    d = detector(Fake(edge=["healthy"] * 4, counts=[1, 2, 1, 2]), clock=lambda: now[0])
    firsts = []
    for _ in range(4):
        firsts.append(d.check().first_failure)
        now[0] += 1.0
    assert firsts == [100.0, 100.0, 102.0, 102.0]


def test_more_failures_than_the_edges_threshold_go_on_counting_checks_while_it_is_down() -> None:
    now = [10.0]
    d = detector(Fake(edge=["unhealthy"] * 4, counts=[3] * 4), clock=lambda: now[0], threshold=5)
    decisions = []
    for step in (0.5, 0.5, 1.0, 0.0):
        decisions.append(d.check())
        now[0] += step
    assert [x.count for x in decisions] == [3, 3, 4, 5]
    assert [x.action for x in decisions] == ["suspect", "suspect", "suspect", "fail-over"]


def test_three_failed_checks_in_a_row_declare_the_primary_failed() -> None:
    fake = Fake(edge=["unhealthy", "unhealthy", "healthy", "unhealthy", "unhealthy", "unhealthy"])
    d = detector(fake)
    actions = [d.check().action for _ in range(6)]
    assert actions == ["suspect", "suspect", "healthy", "suspect", "suspect", "fail-over"]
    assert d.first_failure == 10_000.0


def test_a_replica_behind_the_rpo_budget_refuses_unless_forced() -> None:
    fake = Fake(edge=["unhealthy"] * 6, dr_lag=Lag(0, BUDGET + 60.0, True))
    d = detector(fake)
    decisions = [d.check() for _ in range(3)]
    assert decisions[-1].action == "refuse"
    assert decisions[-1].detail == f"the eu-west-1 replica is 360s behind, beyond the RPO budget of {BUDGET}s"
    assert detector(fake, force=True).check().action == "suspect"
    forced = detector(Fake(edge=["unhealthy"] * 3, dr_lag=Lag(0, 999.0, True)), force=True)
    assert [forced.check().action for _ in range(3)][-1] == "fail-over"


def test_a_dr_database_that_is_not_a_replica_refuses() -> None:
    fake = Fake(edge=["down"] * 3)
    fake.roles["dr"] = "down"
    d = detector(fake)
    assert [d.check() for _ in range(3)][-1].detail == "the DR database is down, not a replica"


def test_the_cool_down_refuses_a_second_failover_even_forced() -> None:
    for force in (False, True):
        d = detector(Fake(edge=["unhealthy"] * 3), last=10_000.0 - 120, force=force)
        last = [d.check() for _ in range(3)][-1]
        assert last.action == "refuse", force
        assert last.detail.startswith("a failover ran 120s ago, inside the 3600s cool-down")
    # Past the window, the same failure fails over.
    d = detector(Fake(edge=["unhealthy"] * 3), last=10_000.0 - 3601)
    assert [d.check() for _ in range(3)][-1].action == "fail-over"


@pytest.mark.parametrize(
    ("captured", "wanted"),
    [
        # A planned failover recorded both sizes: failback restores them (DR back to its smaller standby).
        ({"compute": {"primary": 6, "dr": 2}}, {"primary": 6, "dr": 2}),
        # An unplanned one found the primary half gone (1 instance still up): DR carries 4 now, so 4.
        ({"compute": {"primary": 1, "dr": 2}}, {"primary": 4, "dr": 2}),
        # An unplanned one found the primary's workload dead (0) or its API unreachable: DR's size now.
        ({"compute": {"primary": 0, "dr": 2}}, {"primary": 4, "dr": 2}),
        ({"compute": {"primary": "unreachable", "dr": 2}}, {"primary": 4, "dr": 2}),
        (None, {"primary": 4, "dr": 4}),  # no failover recorded here
    ],
)
def test_failback_restores_the_steady_shape_with_the_recorded_sizes(
    captured: dict[str, object] | None, wanted: dict[str, int]
) -> None:
    from nexus_platform.ops.context import Context  # noqa: PLC0415
    from nexus_platform.runbooks.dr import STEADY, restore_target  # noqa: PLC0415

    fake = Fake(sizes={"primary": 0, "dr": 4})
    ctx = Context(env="sandbox", params={"restore": captured}, world=target(fake), quiet=True)
    assert restore_target(ctx) == {**STEADY, "compute": wanted}


def test_failback_keeps_what_a_primary_back_from_an_outage_still_runs() -> None:
    """The failover could not reach the primary (its size unrecorded, its Deployment never scaled down): back,
    it still runs 6, more than DR's 4 now: that is its size. Fewer than DR's: DR's."""
    from nexus_platform.ops.context import Context  # noqa: PLC0415
    from nexus_platform.runbooks.dr import STEADY, restore_target  # noqa: PLC0415

    captured = {"compute": {"primary": "unreachable", "dr": 2}}
    for held, wanted in ((6, 6), (3, 4)):
        fake = Fake(sizes={"primary": held, "dr": 4})
        ctx = Context(env="sandbox", params={"restore": captured}, world=target(fake), quiet=True)
        assert restore_target(ctx) == {**STEADY, "compute": {"primary": wanted, "dr": 2}}


def test_readiness_reports_the_rpo_rule_and_an_unreachable_primary() -> None:
    from nexus_platform.runbooks.readiness import readiness  # noqa: PLC0415

    fake = Fake(dr_lag=Lag(0, BUDGET + 30.0, True), sizes={"primary": -1, "dr": 2})
    checks = {c.name: c for c in readiness(target(fake))}
    assert checks["replica-lag"].status == "FAIL"
    assert "330.0s of writes at risk" in checks["replica-lag"].detail
    assert checks["dr-capacity"].status == "PASS"
    assert checks["dr-capacity"].detail == "2 ready in eu-west-1 for ? in us-east-1 (it does not answer)"
    assert checks["dns-ttl"].status == "SKIP"  # this world fails over without DNS
    fake.dr_lag = Lag(0, 30.0, True, synchronous=True)
    checks = {c.name: c for c in readiness(target(fake))}
    assert checks["replica-lag"].status == "PASS" and "synchronous" in checks["replica-lag"].detail


@dataclass
class FenceRecorder(Fake):
    """Records what the fence step does, in order."""

    done: list[str] = field(default_factory=list)

    def drain(self, role: str) -> None:
        self.done.append(f"drain {role}")

    def fence(self, role: str) -> None:
        self.done.append(f"database {role}")

    def scale(self, role: str, replicas: int) -> None:
        self.done.append(f"compute {role} {replicas}")


@pytest.mark.parametrize(
    ("planned", "order"),
    [
        # unplanned: stop acknowledging writes (the database) before the workload drains
        (False, ["drain primary", "database primary", "compute primary 0"]),
        # planned: nothing can be lost, so the workload drains first and finishes what it started
        (True, ["drain primary", "compute primary 0", "database primary"]),
    ],
)
def test_the_fence_order_depends_on_the_failover_kind(planned: bool, order: list[str]) -> None:
    fake = FenceRecorder()
    ctx = Context(env="sandbox", params={"planned": planned}, world=target(fake), quiet=True)
    result = _fence_primary(ctx)
    assert fake.done == order
    assert result["unfenced"] == {}


@pytest.mark.parametrize(
    ("planned", "before_the_fence"),
    [
        # unplanned: the fence right after the readiness check, the DR workload only after the promotion
        (False, ["readiness"]),
        # planned: the DR workload starts while the primary still serves, outside the refused window
        (True, ["readiness", "scale-dr-compute"]),
    ],
)
def test_a_planned_failover_scales_the_dr_workload_before_the_fence(
    planned: bool, before_the_fence: list[str]
) -> None:
    from nexus_platform.runbooks.dr import failover  # noqa: PLC0415

    names = [step.name for step in failover(planned=planned).steps]
    assert names[: names.index("fence-primary")] == before_the_fence
    # The same steps either way (a journal names them): only the order moves.
    assert sorted(names) == sorted(step.name for step in failover(planned=not planned).steps)
    assert names[-2:] == ["switch-traffic-to-dr", "verify"]
