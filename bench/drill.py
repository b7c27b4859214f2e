"""`make bench-drill`: the DR drill's figures, per replication mode and fault (`nexus dr drill`).

For each mode (async, sync) and fault (kill, partition, planned): `--runs` runs (5 by default) on the
running sandbox, through the product's own command, so the figures are the ones an operator gets. Printed:
per mode and fault the RTO from the fault (min / median / p95 / max), acknowledged writes lost with the
replication lag at the fault, split brain, unknown outcomes, the failback, NexusRegionDown's firing time and
the drill's own cost; for the planned switchover, how long the failover and the failback each refused writes.
Results: bench/results-drill.json (the per-request reports stay in the sandbox's state directory, with a
timeline picture per run; the first run's picture of each mode and fault is copied to bench/).

Needs the running sandbox (`nexus up`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from nexus_platform.drill.truth import summary

HERE = Path(__file__).resolve().parent
NEXUS = [sys.executable, "-c", "from nexus_platform.cli import main; main()"]


def drill(mode: str, fault: str, runs: int, rate: float) -> dict[str, Any]:
    args = ["dr", "drill", "--runs", str(runs), "--mode", mode, "--fault", fault, "--rate", f"{rate:g}"]
    result = subprocess.run([*NEXUS, *args, "-o", "json"], capture_output=True, text=True, check=False)
    try:
        report: dict[str, Any] = json.loads(result.stdout)
    except json.JSONDecodeError:
        # A batch that could not finish is reported, and the others still run.
        print(f"nexus {' '.join(args)} failed: {result.stderr.strip()[-2000:]}", file=sys.stderr)
        return {"runs": [], "cost": {}, "exit_code": result.returncode or 1}
    report["exit_code"] = result.returncode
    return report


def row(mode: str, fault: str, report: dict[str, Any]) -> dict[str, Any]:
    runs = report["runs"]

    def values(get: Any) -> list[float]:
        return [float(v) for v in (get(r) for r in runs) if v is not None]

    region_down = [a["fired_after"] for r in runs for a in r["alerts"] if a["name"] == "NexusRegionDown"]
    return {
        "mode": mode,
        "fault": fault,
        "runs": len(runs),
        "rto_from_fault": summary(values(lambda r: r["truth"]["rto"])),
        "watch_rto": summary(values(lambda r: r["watch_rto_seconds"])),
        "detect": summary(values(lambda r: r["phases"]["detect"])),
        "lost_per_run": [len(r["truth"]["lost"]) for r in runs],
        "lost_window": [r["truth"]["lost_window"] for r in runs],
        "lag_at_fault_seconds": [r["lag_at_fault"]["seconds"] for r in runs],
        "unknown_per_run": [len(r["truth"]["unknown"]) for r in runs],
        "unresolved": sum(r["truth"]["unresolved"] for r in runs),
        "split_brain": sum(r["split_brain"] for r in runs),
        "diverged_per_run": [r["direct"]["diverged"] for r in runs if r["direct"]],
        "failback": summary(values(lambda r: r["failback_seconds"])),
        "restored": all(r["topology_restored"] for r in runs),
        "region_down_fired_after": summary(region_down),
        "refused_failover": summary(values(lambda r: (r.get("refused_seconds") or {}).get("failover"))),
        "refused_failback": summary(values(lambda r: (r.get("refused_seconds") or {}).get("failback"))),
        "cost": report["cost"],
        "exit_code": report["exit_code"],
    }


def _stats(stats: dict[str, float] | None) -> str:
    if not stats:
        return "-"
    return " / ".join(f"{stats[k]:.2f}" for k in ("min", "median", "p95", "max"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rate", type=float, default=40.0)
    parser.add_argument("--modes", default="async,sync")
    parser.add_argument("--faults", default="kill,partition,planned")
    args = parser.parse_args()
    rows, began = [], time.monotonic()
    for mode in args.modes.split(","):
        for fault in args.faults.split(","):
            print(f"{mode} / {fault}: {args.runs} runs at {args.rate:g} writes/s ...", flush=True)
            report = drill(mode, fault, args.runs, args.rate)
            if not report["runs"]:
                rows.append({"mode": mode, "fault": fault, "runs": 0, "exit_code": report["exit_code"]})
                continue
            rows.append(row(mode, fault, report))
            pictures = [r["picture"] for r in report["runs"] if r.get("picture")]
            if pictures:
                shutil.copyfile(pictures[0], HERE / f"drill-{mode}-{fault}.png")
    print()
    header = (
        "mode",
        "fault",
        "runs",
        "RTO from the fault, s (min / median / p95 / max)",
        "detect, s (median)",
        "lost per run",
        "lag at fault, s",
        "split brain",
        "unknown (unresolved)",
        "failback, s (median)",
        "NexusRegionDown after, s (median)",
        "writes refused, s (planned: failover / failback, max)",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        if not r["runs"]:
            print(f"| {r['mode']} | {r['fault']} | 0 (failed: see above) |")
            continue
        lags = ", ".join(f"{v:.2f}" for v in r["lag_at_fault_seconds"] if v is not None) or "-"
        down = r["region_down_fired_after"]
        cells = (
            r["mode"],
            r["fault"],
            str(r["runs"]),
            _stats(r["rto_from_fault"]),
            f"{r['detect']['median']:.2f}" if r["detect"] else "-",
            str(r["lost_per_run"]),
            lags,
            str(r["split_brain"]),
            f"{sum(r['unknown_per_run'])} ({r['unresolved']})",
            f"{r['failback']['median']:.2f}" if r["failback"] else "-",
            f"{down['median']:.0f}" if down else ("-" if r["fault"] == "planned" else "not fired"),
            (
                f"{r['refused_failover']['max']:.2f} / {r['refused_failback']['max']:.2f}"
                if r["refused_failover"] and r["refused_failback"]
                else "-"
            ),
        )
        print("| " + " | ".join(cells) + " |")
    wall = time.monotonic() - began
    done = [r for r in rows if r["runs"]]
    memory = ", ".join(f"{r['cost']['peak_memory_mib']['drill']:.0f} MiB" for r in done)
    per_run = [r["cost"]["wall_seconds_per_run"]["median"] for r in done if r["cost"]["wall_seconds_per_run"]]
    print(f"\nwall time {wall:.0f} s; median wall time per run {per_run}; peak memory of the drill: {memory}")
    out = HERE / "results-drill.json"
    document = {"rate": args.rate, "wall_seconds": round(wall, 1), "rows": rows}
    out.write_text(json.dumps(document, indent=1) + "\n")
    print(f"results: {out}")
    if any(r["exit_code"] for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
