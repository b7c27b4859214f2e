"""The ground truth of a drill run, from the load generator's log (load.py) and what the platform holds
afterwards.

  RTO      from the fault to the first acknowledged write once writes had started failing (0 when no write
           failed at all): the outage as a client saw it, not as a runbook reports it.
  RPO      acknowledged writes missing afterwards (read back by id through the edge, bypassing the cache), as
           a count and as the time window their acknowledgements spanned.
  unknown  each write whose outcome was unknown, settled: found stored, or not stored (then sent again with
           the same id, so the data set ends complete), or still unresolved (the read failed): reported apart.
"""

from __future__ import annotations

import http.client
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from nexus_platform.drill.load import RECORDS_PATH, Outcome, Sent


@dataclass(frozen=True)
class Resolution:
    id: str
    outcome: str  # "stored" | "not_stored" | "unresolved"
    detail: str = ""


@dataclass(frozen=True)
class Truth:
    requests: int
    acknowledged: int
    not_stored: int
    rejected: int
    lost: tuple[str, ...]
    #: Seconds between the first and the last lost write's acknowledgement (0.0 for one, None for none).
    lost_window: float | None
    unknown: tuple[Resolution, ...] = field(default_factory=tuple)
    #: Fault -> first acknowledged write after writes started failing (None: no fault time, or no recovery).
    rto: float | None = None
    #: Fault -> the first write that failed (how soon clients noticed).
    first_failure: float | None = None
    #: Acknowledged writes whose read-back kept failing: neither confirmed nor lost (the run fails on them).
    unverified: tuple[str, ...] = ()

    @property
    def unresolved(self) -> int:
        return sum(1 for r in self.unknown if r.outcome == "unresolved")


def reader(host: str, port: int, *, attempts: int = 5) -> Callable[[str], bool]:
    """`record_exists` through the edge, tried again on a failed read (a 503 while an instance leaves the
    load balancer, a reset): a transient error must not turn into an unverified write."""
    import tenacity  # noqa: PLC0415

    retrying = tenacity.retry(
        retry=tenacity.retry_if_exception_type(OSError),
        stop=tenacity.stop_after_attempt(attempts),
        wait=tenacity.wait_exponential(multiplier=0.2, max=2.0),
        reraise=True,
    )
    return retrying(lambda record_id: record_exists(host, port, record_id))


def record_exists(host: str, port: int, record_id: str, *, timeout: float = 5.0) -> bool:
    """Whether the platform holds the record: a GET through the edge that bypasses the cache (200 / 404);
    anything else is an error, so a read failure is never taken for a lost write."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", f"{RECORDS_PATH}{record_id}", headers={"Cache-Control": "no-cache"})
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    if response.status == 200:
        return True
    if response.status == 404:
        return False
    raise OSError(f"reading {record_id} answered HTTP {response.status}")


def recovery(log: Sequence[Sent], fault_at: float) -> tuple[float | None, float | None]:
    """(RTO, first failure), both in seconds from the fault: the RTO ends at the first acknowledgement of a
    write sent once writes had started failing; with no failure after the fault it is 0.0 (no outage)."""
    failures = [s for s in log if s.sent >= fault_at and s.outcome is not Outcome.ACKNOWLEDGED]
    if not failures:
        return 0.0, None
    first = min(failures, key=lambda s: s.sent)
    recovered = [s.answered for s in log if s.outcome is Outcome.ACKNOWLEDGED and s.sent >= first.sent]
    rto = min(recovered) - fault_at if recovered else None
    return rto, first.sent - fault_at


def ground_truth(
    log: Sequence[Sent],
    *,
    exists: Callable[[str], bool],
    resend: Callable[[str], Sent],
    fault_at: float | None = None,
) -> Truth:
    """Read back every acknowledged write, settle every unknown one, and time the recovery."""
    acknowledged = [s for s in log if s.outcome is Outcome.ACKNOWLEDGED]
    lost, unverified = [], []
    for entry in acknowledged:
        try:
            if not exists(entry.id):
                lost.append(entry)
        except OSError:
            unverified.append(entry.id)
    window = None
    if lost:
        window = max(s.answered for s in lost) - min(s.answered for s in lost)
    resolutions = []
    for entry in (s for s in log if s.outcome is Outcome.UNKNOWN):
        try:
            if exists(entry.id):
                resolutions.append(Resolution(entry.id, "stored"))
                continue
        except OSError as exc:
            resolutions.append(Resolution(entry.id, "unresolved", str(exc)))
            continue
        again = resend(entry.id)
        if again.outcome is Outcome.ACKNOWLEDGED:
            resolutions.append(Resolution(entry.id, "not_stored", "sent again: stored now"))
        else:
            resolutions.append(
                Resolution(entry.id, "unresolved", f"sent again: {again.outcome} {again.detail}")
            )
    rto, first_failure = recovery(log, fault_at) if fault_at is not None else (None, None)
    return Truth(
        requests=len(log),
        acknowledged=len(acknowledged),
        not_stored=sum(1 for s in log if s.outcome is Outcome.NOT_STORED),
        rejected=sum(1 for s in log if s.outcome is Outcome.REJECTED),
        lost=tuple(s.id for s in lost),
        lost_window=window,
        unknown=tuple(resolutions),
        rto=rto,
        first_failure=first_failure,
        unverified=tuple(unverified),
    )


def summary(values: Iterable[float]) -> dict[str, float] | None:
    """min / median / p95 / max of a drill's runs (None without values); p95 interpolates between runs."""
    data = sorted(values)
    if not data:
        return None
    p95 = data[0] if len(data) == 1 else statistics.quantiles(data, n=100, method="inclusive")[94]
    return {"min": data[0], "median": statistics.median(data), "p95": p95, "max": data[-1]}


def timeline(log: Sequence[Sent], start: float, bucket: float = 0.1) -> dict[str, list[int]]:
    """Writes per `bucket` seconds of send time since `start`, by outcome (the drill's picture)."""
    if not log:
        return {o.value: [] for o in Outcome}
    size = int((max(s.sent for s in log) - start) // bucket) + 1
    counts = {o.value: [0] * size for o in Outcome}
    for entry in log:
        index = int((entry.sent - start) // bucket)
        if 0 <= index < size:
            counts[entry.outcome.value][index] += 1
    return counts
