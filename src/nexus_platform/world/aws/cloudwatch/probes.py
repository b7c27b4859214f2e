"""Reads: a read replica's ReplicaLag (AWS/RDS, one datapoint a minute) and what it proves.

For RDS for PostgreSQL, ReplicaLag is ``now() - pg_last_xact_replay_timestamp()`` on the replica: the age of
the last transaction it replayed. It measures lag only while the source writes; on an idle (or fenced) source
it grows by a second a second although nothing is missing, so "ReplicaLag == 0" can never come true after a
fence. What the metric does prove is a lower bound of the replayed commit time: the datapoint's timestamp
minus its (maximum) value. Once that bound passes the moment the source was fenced, the replica has applied
every write the source accepted (WAL is replayed in order). When nothing commits after the fence (no internal
write either), there is no such proof; the lag measured at the fence then bounds how far behind the replica
was, and once that long plus two metric periods has passed with replication streaming it has applied
everything (a bound, not a proof: RDS does not expose LSNs).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

PERIOD_SECONDS = 60
WINDOW = timedelta(minutes=10)
# Clock skew allowed between this machine (the fence time) and the primary (commit timestamps).
SKEW_SECONDS = 5.0
# Two metric periods: a datapoint covering the fence's aftermath has then been published.
SETTLE_SECONDS = 2.0 * PERIOD_SECONDS


@dataclass(frozen=True)
class LagSample:
    at: datetime  # the start of the datapoint's period
    seconds: float  # the period's maximum ReplicaLag

    @property
    def replayed_after(self) -> float:
        """A lower bound (epoch seconds) of the commit time of the last transaction the replica replayed."""
        return self.at.timestamp() - self.seconds


def latest_replica_lag(cloudwatch: Any, identifier: str, *, now: datetime | None = None) -> LagSample | None:
    """The latest ReplicaLag datapoint of `identifier` in the last ten minutes; None when there is none (a
    replica still being created, or replication not started). RDS reports -1 while replication is not
    active: that is no measurement either."""
    end = now or datetime.now(UTC)
    answer = cloudwatch.get_metric_statistics(
        Namespace="AWS/RDS",
        MetricName="ReplicaLag",
        Dimensions=[{"Name": "DBInstanceIdentifier", "Value": identifier}],
        StartTime=end - WINDOW,
        EndTime=end,
        Period=PERIOD_SECONDS,
        Statistics=["Maximum"],
    )
    points = [p for p in answer.get("Datapoints", []) if p.get("Maximum") is not None]
    if not points:
        return None
    latest = max(points, key=lambda p: p["Timestamp"])
    value = float(latest["Maximum"])
    return None if value < 0 else LagSample(latest["Timestamp"], value)


def caught_up(
    sample: LagSample | None,
    *,
    fenced_at: float | None = None,
    lag_at_fence: float | None = None,
    now: float | None = None,
) -> bool:
    """Whether a streaming replica has applied everything its source accepted: no lag at all; or, after its
    source was fenced at `fenced_at` (epoch seconds), a replayed commit later than the fence, or (no such
    commit) the lag measured at the fence, plus two metric periods, elapsed."""
    if sample is None:
        return False
    if sample.seconds == 0:
        return True
    if fenced_at is None:
        return False
    if sample.replayed_after >= fenced_at + SKEW_SECONDS:
        return True
    elapsed = (now if now is not None else datetime.now(UTC).timestamp()) - fenced_at
    return lag_at_fence is not None and elapsed >= lag_at_fence + SETTLE_SECONDS
