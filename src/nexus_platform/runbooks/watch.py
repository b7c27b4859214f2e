"""The unplanned failover's trigger (`nexus dr watch`), world-blind: when has the primary region failed,
and may the DR region take over now?

One detection path: the edge's health checks decide what clients see, so the watch counts *their* failures
toward the same threshold, never a second count on top of theirs. Where the edge reports its own count of
consecutive failed checks (the sandbox's HAProxy), the watch takes it as it is and acts the moment it reaches
the threshold (polling the edge several times per check interval), and dates the first failure from the
check it counted first. Where the edge reports only each check's last result (Route 53's checkers), the watch
reads it once per check interval and counts those readings itself. Stacking the two counts (waiting for the
edge to call the region down, then for N more readings of that verdict) cost ~3 s of every outage before
this. The primary has failed after `threshold` consecutive failed checks. It then fails over unless:
a failover ran inside the cool-down window (never two in one window, `--force` or not: a flapping primary
must not bounce the platform between regions), or the DR database is not a streaming replica within the RPO
budget (`runbooks.dr.rpo_verdict`; `--force` goes past this one, recorded).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

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
        check_interval: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.target, self.threshold, self.cooldown = target, threshold, cooldown_seconds
        self.last_failover, self.force, self.clock = last_failover, force, clock
        self.check_interval = check_interval
        self.count = 0
        self.first_failure: float | None = None
        #: Whether the edge counts its failed checks itself (known after the first check).
        self.edge_counts: bool | None = None
        self.down_since: float | None = None

    def poll_interval(self, asked: float | None) -> float:
        """Seconds between readings of the edge: `asked`, else a tenth of a check interval where the edge
        counts (reading it often is what makes the failover start with its verdict: two reads of the edge's
        runtime API, ~1 ms each in the sandbox), else one interval."""
        if asked:
            return asked
        return max(0.05, self.check_interval / 10) if self.edge_counts else self.check_interval

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

    def _count(self, health: str, counted: int | None) -> int:
        """The consecutive failed checks now: the edge's own count where it keeps one (a drained region is
        not checked: each reading counts), else one more per reading that is not healthy."""
        if counted is None or health == "drained":
            return 0 if health == "healthy" else self.count + 1
        if health != "unhealthy" or self.check_interval <= 0:
            self.down_since = None
            return counted
        # Down: the edge's count stops at its threshold; a larger --failures goes on counting its checks.
        now = self.clock()
        if self.down_since is None:
            self.down_since = now
        return counted + int((now - self.down_since) // self.check_interval)

    def check(self) -> Decision:
        traffic = self.target.world.traffic
        health = traffic.health("primary")
        counted = traffic.failed_checks("primary")
        self.edge_counts = counted is not None
        count = self._count(health, counted)
        if count == 0:
            self.count, self.first_failure = 0, None
            return Decision(HEALTHY, 0, None, "the edge sees the primary healthy")
        if self.first_failure is None or count < self.count:
            # Seen first at its `count`-th failure: the first one came (count - 1) checks earlier.
            self.first_failure = self.clock() - (count - 1) * self.check_interval
        self.count = count
        seen = (
            f"the edge sees the primary {health}"
            if health != "healthy"
            else f"the edge's last {count} check(s) of the primary failed"
        )
        if self.count < self.threshold:
            return Decision(SUSPECT, self.count, self.first_failure, seen)
        reason = self.refusal()
        if reason is not None:
            return Decision(REFUSE, self.count, self.first_failure, reason)
        return Decision(FAIL_OVER, self.count, self.first_failure, seen)


# --- the watch's memory of its last failover (the cool-down survives a restart of the watch) ---------------


def state_file(state_dir: Path, env: str) -> Path:
    return state_dir / "dr" / f"watch-{env}.json"


def last_failover(path: Path) -> float | None:
    try:
        return float(json.loads(path.read_text())["failed_over_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def record_failover(path: Path, detected_at: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"failed_over_at": time.time(), "detected_at": detected_at}))
