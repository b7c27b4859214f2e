"""One drill run on the sandbox: load through the edge, a fault, recovery by the product, ground truth,
failback.

The drill never tells the product when to fail over: `nexus dr watch --execute` runs beside it from before
the load starts and decides on its own (its report gives the runbook's phases). The drill only knows when it
injected the fault, so the RTO it reports runs from there to the first acknowledged write (truth.py), and
the watch's own figure (from the first failed health check) is reported beside it. With a partition, a
client that reaches the old primary directly keeps writing there: what it gets acknowledged after the
runbook's fence is split brain (must be 0), what it got acknowledged between the partition and the fence
diverged (it exists only on the old primary, which the failback rebuilds from the new one). The alerts that
fired are read from Alertmanager while the region is still down. Afterwards the fault is healed and
`nexus dr failback --execute` restores the topology, which is checked, so every run starts from the same one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from nexus_platform import model
from nexus_platform.drill import alerts, faults, picture
from nexus_platform.drill.load import LoadGenerator, Outcome, Sent, put_record
from nexus_platform.drill.truth import Truth, ground_truth, reader, recovery
from nexus_platform.errors import NexusError
from nexus_platform.sandbox.dataplane import DataPlane

NEXUS = [sys.executable, "-c", "from nexus_platform.cli import main; main()"]
#: The alert a regional outage must raise (monitoring/rules/edge.yaml).
REGION_DOWN_ALERT = "NexusRegionDown"
#: The runbook's phases, in order, as the report and the picture name them.
PHASES = (
    ("fence", "fence-primary"),
    ("promote", "promote-dr-database"),
    ("cache", "fail-over-cache"),
    ("scale", "scale-dr-compute"),
    ("switch", "switch-traffic-to-dr"),
    ("verify", "verify"),
)


@dataclass
class Direct:
    """The writes of a client that reaches the old primary's region directly (partition only)."""

    requests: int
    acknowledged_after_fault: int
    #: Acknowledged by the old primary between the partition and the end of the fence: they exist only there.
    diverged: int
    #: Acknowledged by the old primary for a write sent after the fence completed: must be 0.
    split_brain: int


@dataclass
class RunResult:
    run: int
    fault: str
    mode: str
    rate: float
    achieved_rate: float
    truth: Truth
    watch_rto_seconds: float | None
    #: Seconds from the fault: the first failed check, the watch's decision, each phase's end, first success.
    marks: dict[str, float | None]
    #: Each phase's duration (detect: fault -> the watch's decision).
    phases: dict[str, float | None]
    #: The replica's replay lag (bytes, seconds) from the primary's WAL sender just before the fault.
    lag_at_fault: dict[str, float | int | None]
    direct: Direct | None
    alerts: list[alerts.Fired]
    failback_seconds: float
    topology_restored: bool
    wall_seconds: float
    picture: str | None = None
    #: Planned switchover only: how long writes were refused (first refused write -> next acknowledged one).
    refused_seconds: dict[str, float | None] | None = None
    log: list[Sent] = field(default_factory=list, repr=False)
    direct_log: list[Sent] = field(default_factory=list, repr=False)
    started: float = field(default=0.0, repr=False)
    fault_at: float = field(default=0.0, repr=False)

    @property
    def split_brain(self) -> int:
        return self.direct.split_brain if self.direct else 0

    def as_json(self, *, requests: bool = False) -> dict[str, Any]:
        skip = ("log", "direct_log", "truth", "started", "fault_at")
        payload = {k: v for k, v in asdict(self).items() if k not in skip}
        payload["truth"] = {**asdict(self.truth), "unresolved": self.truth.unresolved}
        payload["split_brain"] = self.split_brain
        if requests:
            payload["requests"] = _requests(self.log)
            payload["direct_requests"] = _requests(self.direct_log)
        return payload


def _requests(log: list[Sent]) -> list[dict[str, Any]]:
    return [
        {"id": s.id, "sent": s.sent, "answered": s.answered, "status": s.status, "outcome": s.outcome.value}
        for s in log
    ]


def _nexus_json(args: list[str], timeout: float) -> dict[str, Any]:
    result = subprocess.run(
        [*NEXUS, *args, "--output", "json"],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ.copy(),
        check=False,
    )
    try:
        payload: dict[str, Any] = json.loads(result.stdout) if result.stdout.strip() else {}
    except json.JSONDecodeError:
        payload = {}
    if result.returncode != 0:
        last = (result.stderr.strip() or result.stdout.strip() or "no output").splitlines()[-1]
        raise NexusError(f"`nexus {' '.join(args)}` failed: {last}")
    return payload


def _edge(plane: DataPlane) -> tuple[str, int]:
    """The global endpoint's host and port, where the drill's clients write and read back."""
    edge = urlsplit(plane.edge_url())
    return edge.hostname or model.LOCALHOST, edge.port or 80


def _acknowledged_since(load: LoadGenerator, since: float) -> bool:
    return any(s.outcome is Outcome.ACKNOWLEDGED and s.sent >= since for s in list(load.log))


def _monotonic(stamp: object, offset: float) -> float | None:
    """A wall-clock time (ISO text or epoch seconds) on the monotonic clock (`offset` = wall - monotonic)."""
    if isinstance(stamp, int | float):
        return float(stamp) - offset
    if isinstance(stamp, str):
        return datetime.fromisoformat(stamp).timestamp() - offset
    return None


Marks = dict[str, float | None]


def timings(report: dict[str, Any], fault_at: float, offset: float) -> tuple[Marks, Marks]:
    """(marks, phases) of a run from the watch's failover report, in seconds from the fault."""

    def since_fault(stamp: object) -> float | None:
        at = _monotonic(stamp, offset)
        return None if at is None else round(at - fault_at, 3)

    steps = {str(step["name"]): step for step in report.get("steps", [])}
    marks: dict[str, float | None] = {
        "first failed check": since_fault(report.get("detected_at")),
        "decided": since_fault(report.get("started")),
    }
    phases: dict[str, float | None] = {"detect": marks["decided"]}
    for short, name in PHASES:
        step = steps.get(name, {})
        phases[short] = step.get("duration")
        if short in ("fence", "promote"):
            marks[f"{short}d" if short == "fence" else "promoted"] = since_fault(step.get("ended"))
    return marks, phases


def direct_outcome(log: list[Sent], fault_at: float, fence_end: float | None) -> Direct:
    acknowledged = [s for s in log if s.outcome is Outcome.ACKNOWLEDGED and s.sent >= fault_at]
    fenced = fence_end if fence_end is not None else float("inf")
    return Direct(
        requests=len(log),
        acknowledged_after_fault=len(acknowledged),
        diverged=sum(1 for s in acknowledged if s.sent < fenced),
        split_brain=sum(1 for s in acknowledged if s.sent >= fenced),
    )


def refused_window(log: list[Sent], since: float) -> float | None:
    """Seconds writes sent after `since` were refused: from the first one refused to the next acknowledged
    one (0.0 when none was refused, None when none was acknowledged afterwards)."""
    rto, first_failure = recovery([s for s in log if s.sent >= since], since)
    if first_failure is None:
        return 0.0
    return None if rto is None else round(rto - first_failure, 3)


def _wait_acknowledged(load: LoadGenerator, since: float, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not _acknowledged_since(load, since) and time.monotonic() < deadline:
        time.sleep(0.1)


def planned_run(
    plane: DataPlane, number: int, *, rate: float, warmup: float = 3.0, after: float = 3.0
) -> RunResult:
    """A planned switchover and back under load: `nexus dr failover --planned --execute`, then `nexus dr
    failback --execute`, each timed by the writes it refused; nothing may be lost (RPO 0 by design)."""
    began = time.monotonic()
    offset = time.time() - time.monotonic()
    host, port = _edge(plane)
    load = LoadGenerator(host, port, rate=rate, clients=4)
    try:
        load.start()
        time.sleep(warmup)
        at = time.monotonic()
        report = _nexus_json(["dr", "failover", "--planned", "--execute"], timeout=600)
        _wait_acknowledged(load, at)
        time.sleep(after)
        back = time.monotonic()
        failback = _nexus_json(["dr", "failback", "--execute"], timeout=600)
        failback_seconds = round(time.monotonic() - back, 2)
        _wait_acknowledged(load, back)
        time.sleep(after)
    finally:
        log = load.stop()
    truth = ground_truth(
        log,
        exists=reader(host, port),
        resend=lambda record_id: put_record(host, port, record_id),
        fault_at=at,
    )
    marks, phases = timings(report, at, offset)
    return RunResult(
        run=number,
        fault="planned",
        mode=plane.mode(),
        rate=rate,
        achieved_rate=round(load.achieved_rate(), 1),
        truth=truth,
        watch_rto_seconds=None,
        marks=marks,
        phases=phases,
        lag_at_fault={"bytes": None, "seconds": None},
        direct=None,
        alerts=[],
        failback_seconds=failback_seconds,
        topology_restored=bool(failback.get("topology_restored")),
        wall_seconds=round(time.monotonic() - began, 2),
        refused_seconds={"failover": refused_window(log, at), "failback": refused_window(log, back)},
        log=log,
        started=load.started or began,
        fault_at=at,
    )


def one_run(
    plane: DataPlane,
    number: int,
    *,
    rate: float,
    fault: str = "kill",
    warmup: float = 3.0,
    after: float = 3.0,
    timeout: float = 120.0,
    alert_wait: float = 45.0,
    pictures: Path | None = None,
) -> RunResult:
    began = time.monotonic()
    offset = time.time() - time.monotonic()
    host, port = _edge(plane)
    watch = subprocess.Popen(
        # No cool-down: each run's failover follows the previous run's failback.
        [
            *NEXUS,
            *("dr", "watch", "--execute", "--cooldown", "0"),
            "--max-seconds",
            str(timeout),
            "-o",
            "json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    load = LoadGenerator(host, port, rate=rate, clients=4)
    direct = (
        LoadGenerator(
            model.LOCALHOST,
            plane.config.regions["primary"].lb,
            rate=max(2.0, rate / 4),
            clients=1,
            prefix=f"{load.prefix}-direct",
        )
        if fault == "partition"
        else None
    )
    injected: faults.Injected | None = None
    fired: list[alerts.Fired] = []
    lag: dict[str, float | int | None] = {"bytes": None, "seconds": None}
    out = err = ""
    try:
        load.start()
        if direct is not None:
            direct.start()
        time.sleep(warmup)
        lag_bytes, lag_seconds = plane.postgres("primary").replication_lag()
        lag = {"bytes": lag_bytes, "seconds": lag_seconds}
        injected = faults.inject(plane, fault)
        try:
            out, err = watch.communicate(timeout=timeout + 30)
        except subprocess.TimeoutExpired:
            watch.kill()
            raise NexusError(f"the watch did not fail over within {timeout:g}s of the fault") from None
        _wait_acknowledged(load, injected.at)
        time.sleep(after)
    finally:
        log = load.stop()
        direct_log = direct.stop() if direct is not None else []
        if watch.poll() is None:
            watch.kill()
            watch.wait()
    if injected is not None and alert_wait > 0:
        fired = alerts.watch_for(
            lambda: alerts.active(f"http://{model.LOCALHOST}:{plane.config.alertmanager_port}"),
            fault_wall=injected.at + offset,
            wanted=REGION_DOWN_ALERT,
            within=alert_wait,
        )
    assert injected is not None
    injected.heal()
    try:
        report: dict[str, Any] = json.loads(out) if out.strip() else {}
    except json.JSONDecodeError:
        report = {}
    if watch.returncode != 0 or report.get("outcome") != "complete":
        last = (err.strip() or out.strip() or "no output").splitlines()[-1]
        raise NexusError(f"the watch did not complete a failover (exit {watch.returncode}): {last}")
    truth = ground_truth(
        log,
        exists=reader(host, port),
        resend=lambda record_id: put_record(host, port, record_id),
        fault_at=injected.at,
    )
    marks, phases = timings(report, injected.at, offset)
    marks["first success"] = None if truth.rto is None else round(truth.rto, 3)
    fenced = marks.get("fenced")
    direct_result = (
        direct_outcome(direct_log, injected.at, None if fenced is None else injected.at + fenced)
        if direct is not None
        else None
    )
    started = time.monotonic()
    failback = _nexus_json(["dr", "failback", "--execute"], timeout=600)
    result = RunResult(
        run=number,
        fault=fault,
        mode=plane.mode(),
        rate=rate,
        achieved_rate=round(load.achieved_rate(), 1),
        truth=truth,
        watch_rto_seconds=report.get("rto_seconds"),
        marks=marks,
        phases=phases,
        lag_at_fault=lag,
        direct=direct_result,
        alerts=fired,
        failback_seconds=round(time.monotonic() - started, 2),
        topology_restored=bool(failback.get("topology_restored")),
        wall_seconds=round(time.monotonic() - began, 2),
        log=log,
        direct_log=direct_log,
        started=load.started or began,
        fault_at=injected.at,
    )
    if pictures is not None and picture.available():
        start = result.started
        result.picture = str(
            picture.draw(
                pictures / f"run{number}-{fault}-{result.mode}.png",
                log,
                start=start,
                marks={
                    "fault": injected.at - start,
                    **{k: None if v is None else injected.at - start + v for k, v in marks.items()},
                },
                title=(
                    f"run {number}: {fault}, {result.mode} replication, {rate:g} writes/s through the edge; "
                    f"RTO from the fault {_fmt(truth.rto)} s, {len(truth.lost)} acknowledged write(s) lost"
                ),
            )
        )
    return result


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
