"""`make bench-sandbox`: the sandbox's numbers (issue goals), measured on the running sandbox.

- data plane start on top of an applied control plane (the data plane stopped, then `nexus up`), 3 runs;
- peak memory of the whole sandbox, both planes: the sum of every process's PSS (proportional set size, so
  PostgreSQL's shared buffers count once), sampled while writes flow;
- a write through the edge -> visible on the DR replica (no-cache read of the DR API), p50/p99 over N writes,
  in async and in sync replication.

Starts the sandbox with `nexus up` if it is not running (that cold start is timed too), leaves it running in
the mode it found. Loopback only; bounded in count and time. Results: bench/results-sandbox.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from nexus_platform.sandbox import dataplane, planes
from nexus_platform.world.local import traffic
from nexus_platform.world.local.processes import descendants

HERE = Path(__file__).resolve().parent
NEXUS = [sys.executable, "-c", "from nexus_platform.cli import main; main()"]


def nexus(*args: str) -> dict[str, Any]:
    result = subprocess.run([*NEXUS, *args, "--output", "json"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"nexus {' '.join(args)} failed: {result.stderr.strip()[-500:]}")
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


def timed_text(*args: str) -> float:
    """Seconds one `nexus ARGS` takes with its text output (as a user runs it)."""
    began = time.monotonic()
    result = subprocess.run([*NEXUS, *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"nexus {' '.join(args)} failed: {result.stderr.strip()[-500:]}")
    return round(time.monotonic() - began, 2)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def sandbox_pss_kib(plane: dataplane.DataPlane) -> dict[str, int]:
    """PSS per named sandbox process with everything below it (PostgreSQL's backends leave its group)."""
    usage: dict[str, int] = {}
    for name in [*plane.process_names(), "emulator"]:
        record = plane.processes.running(name)
        if record is None:
            continue
        total = 0
        for pid in [record.pid, *descendants(record.pid)]:
            try:
                for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
            except (OSError, ValueError):
                continue
        usage[name] = total
    return usage


class MemorySampler(threading.Thread):
    def __init__(self, plane: dataplane.DataPlane) -> None:
        super().__init__(daemon=True)
        self.plane, self.stop_event = plane, threading.Event()
        self.peak_total = 0
        self.peak: dict[str, int] = {}

    def run(self) -> None:
        while not self.stop_event.is_set():
            usage = sandbox_pss_kib(self.plane)
            if sum(usage.values()) > self.peak_total:
                self.peak_total, self.peak = sum(usage.values()), usage
            self.stop_event.wait(0.5)


def cross_region(plane: dataplane.DataPlane, writes: int) -> dict[str, float]:
    edge, dr_api = traffic.Client(plane.edge_url()), traffic.Client(plane.instances("dr")[0].url)
    acks, visible = [], []
    for _ in range(writes):
        write = traffic.write_and_follow(
            edge, dr_api, plane.region("dr"), prefix="bench", poll_interval=0.001
        )
        acks.append(write.ack_ms)
        visible.append(write.ack_ms + write.visible_after_ms)
    return {
        "writes": writes,
        "ack_p50_ms": round(percentile(acks, 50), 2),
        "ack_p99_ms": round(percentile(acks, 99), 2),
        "edge_to_dr_p50_ms": round(percentile(visible, 50), 2),
        "edge_to_dr_p99_ms": round(percentile(visible, 99), 2),
        "edge_to_dr_max_ms": round(max(visible), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=1000, help="writes per replication mode")
    parser.add_argument("--starts", type=int, default=3, help="data-plane starts to time")
    args = parser.parse_args()
    control, plane = planes.both()
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}}
    if control.emulator() is None or not all(plane.running().values()):
        began = time.monotonic()
        first = nexus("up")
        results["first_up"] = {
            "seconds": round(time.monotonic() - began, 1),
            "terraform_applied": first["applied"],
            "apply_seconds": first["apply_seconds"],
        }
        print(f"nexus up (sandbox was not running): {results['first_up']}")
    mode = plane.mode()
    starts = []
    for run in range(args.starts * 2):
        # Alternately from nothing (initdb, base backup through the link) and a restart with the data kept.
        fresh = run % 2 == 0
        if fresh:
            plane.down()
        else:
            plane.stop(plane.process_names())
        began = time.monotonic()
        report = nexus("up")
        starts.append(
            {
                "fresh": fresh,
                "command_seconds": round(time.monotonic() - began, 2),
                "dataplane_seconds": report["dataplane"]["seconds"],
            }
        )
        print(f"data plane start on the applied control plane: {starts[-1]}")
    results["dataplane_start"] = {"runs": starts}
    for kind, fresh in (("fresh", True), ("restart", False)):
        runs = [s for s in starts if s["fresh"] is fresh]
        for key in ("dataplane_seconds", "command_seconds"):
            results["dataplane_start"][f"{kind}_median_{key}"] = statistics.median(s[key] for s in runs)
    # As a user runs them, in text (`--output json` adds the inventory's calls to `up`): median of 3 each.
    for key, command in (("noop_up_seconds", "up"), ("status_seconds", "status")):
        results[key] = statistics.median(timed_text(command) for _ in range(3))
        print(f"nexus {command} (text, everything running): {results[key]} s")

    sampler = MemorySampler(plane)
    sampler.start()
    results["cross_region"] = {}
    for replication in ("async", "sync"):
        nexus("up", f"--{replication}")
        time.sleep(1)
        results["cross_region"][replication] = cross_region(plane, args.writes)
        print(f"{replication}: {results['cross_region'][replication]}")
    nexus("up", f"--{mode}")
    sampler.stop_event.set()
    sampler.join()
    results["memory"] = {
        "peak_total_mib": round(sampler.peak_total / 1024, 1),
        "by_process_mib": {name: round(kib / 1024, 1) for name, kib in sorted(sampler.peak.items())},
    }
    print(f"peak memory (PSS, both planes): {results['memory']['peak_total_mib']} MiB")
    for name, mib in results["memory"]["by_process_mib"].items():
        print(f"  {name:32} {mib:8.1f} MiB")
    (HERE / "results-sandbox.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {HERE / 'results-sandbox.json'}")


if __name__ == "__main__":
    main()
