"""One drill run on the sandbox: load through the edge, a fault, recovery by the product, ground truth,
failback.

The drill never tells the product when to fail over: `nexus dr watch --execute` runs beside it from before
the load starts and decides on its own (its report gives the runbook's phases). The drill only knows when it
injected the fault, so the RTO it reports runs from there to the first acknowledged write (truth.py), and
the watch's own figure (from its first failed check) is reported beside it. Afterwards `nexus dr failback
--execute` restores the topology, which is checked, so every run starts from the same one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from nexus_platform.drill import faults
from nexus_platform.drill.load import LoadGenerator, Outcome, Sent, put_record
from nexus_platform.drill.truth import Truth, ground_truth, record_exists
from nexus_platform.errors import NexusError
from nexus_platform.sandbox.dataplane import DataPlane

NEXUS = [sys.executable, "-c", "from nexus_platform.cli import main; main()"]


@dataclass
class RunResult:
    run: int
    fault: str
    rate: float
    achieved_rate: float
    truth: Truth
    watch_rto_seconds: float | None
    phases: dict[str, float | None]
    failback_seconds: float
    topology_restored: bool
    wall_seconds: float
    log: list[Sent] = field(default_factory=list, repr=False)

    def as_json(self, *, requests: bool = False) -> dict[str, Any]:
        payload = {k: v for k, v in asdict(self).items() if k not in ("log", "truth")}
        payload["truth"] = {**asdict(self.truth), "unresolved": self.truth.unresolved}
        if requests:
            payload["requests"] = [
                {
                    "id": s.id,
                    "sent": s.sent,
                    "answered": s.answered,
                    "status": s.status,
                    "outcome": s.outcome.value,
                }
                for s in self.log
            ]
        return payload


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


def _acknowledged_since(load: LoadGenerator, since: float) -> bool:
    return any(s.outcome is Outcome.ACKNOWLEDGED and s.sent >= since for s in list(load.log))


def one_run(
    plane: DataPlane,
    number: int,
    *,
    rate: float,
    fault: str = "kill",
    warmup: float = 3.0,
    after: float = 3.0,
    timeout: float = 120.0,
) -> RunResult:
    began = time.monotonic()
    edge = urlsplit(plane.edge_url())
    host, port = edge.hostname or "127.0.0.1", edge.port or 80
    watch = subprocess.Popen(
        # No cool-down: each run's failover follows the previous run's failback.
        [
            *NEXUS,
            "dr",
            "watch",
            "--execute",
            "--cooldown",
            "0",
            "--max-seconds",
            str(timeout),
            "--output",
            "json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    load = LoadGenerator(host, port, rate=rate, clients=4)
    try:
        load.start()
        time.sleep(warmup)
        if fault != "kill":
            raise NexusError(f"fault {fault!r} is not implemented yet", hint="use --fault kill")
        injected = faults.kill_region(plane, "primary")
        try:
            out, err = watch.communicate(timeout=timeout + 30)
        except subprocess.TimeoutExpired:
            watch.kill()
            raise NexusError(f"the watch did not fail over within {timeout:g}s of the fault") from None
        deadline = time.monotonic() + 30
        while not _acknowledged_since(load, injected.at) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(after)
    finally:
        log = load.stop()
        if watch.poll() is None:
            watch.kill()
            watch.wait()
    try:
        report: dict[str, Any] = json.loads(out) if out.strip() else {}
    except json.JSONDecodeError:
        report = {}
    if watch.returncode != 0 or report.get("outcome") != "complete":
        last = (err.strip() or out.strip() or "no output").splitlines()[-1]
        raise NexusError(f"the watch did not complete a failover (exit {watch.returncode}): {last}")
    truth = ground_truth(
        log,
        exists=lambda record_id: record_exists(host, port, record_id),
        resend=lambda record_id: put_record(host, port, record_id),
        fault_at=injected.at,
    )
    phases = {str(step["name"]): step.get("duration") for step in report.get("steps", [])}
    started = time.monotonic()
    failback = _nexus_json(["dr", "failback", "--execute"], timeout=600)
    return RunResult(
        run=number,
        fault=fault,
        rate=rate,
        achieved_rate=round(load.achieved_rate(), 1),
        truth=truth,
        watch_rto_seconds=report.get("rto_seconds"),
        phases=phases,
        failback_seconds=round(time.monotonic() - started, 2),
        topology_restored=bool(failback.get("topology_restored")),
        wall_seconds=round(time.monotonic() - began, 2),
        log=log,
    )
