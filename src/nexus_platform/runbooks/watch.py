"""The unplanned failover's trigger (`nexus dr watch`), world-blind: when has the primary region failed,
and may the DR region take over now?

The primary has failed after `threshold` consecutive checks in which the edge does not see it healthy (the
edge's own health checks decide what clients see; the watch reads their verdict). It then fails over unless:
a failover ran inside the cool-down window (never two in one window, `--force` or not: a flapping primary
must not bounce the platform between regions), or the DR database is not a streaming replica within the RPO
budget (`runbooks.dr.rpo_verdict`; `--force` goes past this one, recorded).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from nexus_platform.runbooks.dr import Target, rpo_verdict

HEALTHY, SUSPECT, REFUSE, FAIL_OVER = "healthy", "suspect", "refuse", "fail-over"


@dataclass(frozen=True)
class Decision:
    action: str  # healthy | suspect | refuse | fail-over
    count: int  # consecutive failed checks
    first_failure: float | None  # wall-clock time of the first of them
    detail: str  # what the edge sees, or why the failover is refused


class Detector:
    """Counts failed checks of the primary and decides, one check at a time."""

    def __init__(
        self,
        target: Target,
        *,
        threshold: int,
        cooldown_seconds: float,
        last_failover: Callable[[], float | None],
        force: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.target, self.threshold, self.cooldown = target, threshold, cooldown_seconds
        self.last_failover, self.force, self.clock = last_failover, force, clock
        self.count = 0
        self.first_failure: float | None = None

    def refusal(self) -> str | None:
        """Why the DR region must not take over now, or None."""
        last = self.last_failover()
        if last is not None and self.clock() - last < self.cooldown:
            return (
                f"a failover ran {self.clock() - last:.0f}s ago, inside the {self.cooldown:g}s cool-down "
                "(--force does not override it)"
            )
        if self.force:
            return None
        role = self.target.world.database.role("dr")
        if role != "replica":
            return f"the DR database is {role}, not a replica"
        verdict = rpo_verdict(self.target)
        return None if verdict.ok else verdict.reason

    def check(self) -> Decision:
        health = self.target.world.traffic.health("primary")
        if health == "healthy":
            self.count, self.first_failure = 0, None
            return Decision(HEALTHY, 0, None, "the edge sees the primary healthy")
        self.count += 1
        if self.first_failure is None:
            self.first_failure = self.clock()
        seen = f"the edge sees the primary {health}"
        if self.count < self.threshold:
            return Decision(SUSPECT, self.count, self.first_failure, seen)
        reason = self.refusal()
        if reason is not None:
            return Decision(REFUSE, self.count, self.first_failure, reason)
        return Decision(FAIL_OVER, self.count, self.first_failure, seen)
