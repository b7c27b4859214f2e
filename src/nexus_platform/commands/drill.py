"""`nexus dr drill`: fail the sandbox's primary region under write load, let the product recover, and measure
RTO, RPO and unknown outcomes from the requests' ground truth (src/nexus_platform/drill). Sandbox only: it
kills processes. Every run ends with a failback whose restored topology is checked."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from nexus_platform import audit, model
from nexus_platform.commands.common import Output, OutputOption, console
from nexus_platform.errors import InputError

#: Above this many writes per second the load generator (4 threads, one connection per write) cannot keep a
#: steady rate on a 2-core machine beside the sandbox itself: refused rather than silently missed.
MAX_RATE = 200.0
FAULTS = ("kill",)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def drill(
    *,
    runs: Annotated[int, typer.Option(help="how many fault-and-recover runs")] = 1,
    fault: Annotated[
        str, typer.Option(help="the fault: kill (SIGKILL the primary region's processes)")
    ] = "kill",
    rate: Annotated[float, typer.Option(help="writes per second through the edge")] = 40.0,
    timeout: Annotated[float, typer.Option(help="seconds the watch may take to fail over")] = 120.0,
    output: OutputOption = Output.text,
) -> None:
    """Run the DR drill on the sandbox: per run a steady write load through the edge, the fault, the failover
    decided by `nexus dr watch` on its own, the ground truth (RTO from the fault, acknowledged writes lost,
    unknown outcomes settled) and a failback. Writes the report (every request's outcome) to the state
    directory. Exits 1 when a run left an outcome unresolved, did not restore the topology or, with
    synchronous replication, lost an acknowledged write (async may lose those acknowledged within the lag)."""
    if runs < 1:
        raise InputError(f"--runs must be at least 1, not {runs}")
    if fault not in FAULTS:
        raise InputError(f"unknown fault {fault!r}", hint=f"one of: {', '.join(FAULTS)}")
    if not 0 < rate <= MAX_RATE:
        raise InputError(
            f"--rate {rate:g} is outside 0 < rate <= {MAX_RATE:g}: no steady load above it on this machine",
        )
    from nexus_platform.drill.run import one_run  # noqa: PLC0415
    from nexus_platform.drill.truth import summary  # noqa: PLC0415
    from nexus_platform.sandbox import planes  # noqa: PLC0415

    _, plane = planes.running()
    results = []
    for number in range(1, runs + 1):
        if output is Output.text:
            console.print(f"run {number}/{runs}: {rate:g} writes/s, fault {fault} ...", highlight=False)
        results.append(one_run(plane, number, rate=rate, fault=fault, timeout=timeout))
    rtos = [r.truth.rto for r in results if r.truth.rto is not None]
    report: dict[str, Any] = {
        "fault": fault,
        "rate": rate,
        "mode": model.sandbox_config().replication_mode,
        "rto_seconds": summary(rtos),
        "runs": [r.as_json() for r in results],
    }
    directory = model.paths().state_dir / "drills"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"drill-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    path.write_text(json.dumps({**report, "runs": [r.as_json(requests=True) for r in results]}, indent=1))
    report["report"] = str(path)
    # Async replication may lose the writes acknowledged within the lag at the fault (reported, the RPO);
    # synchronous replication must lose none.
    sync = report["mode"] == "sync"
    failed = [
        r.run
        for r in results
        if (sync and r.truth.lost) or r.truth.unresolved or r.truth.rejected or not r.topology_restored
    ]
    audit.append(
        "dr.drill",
        executed=True,
        outcome="ok"
        if not failed
        else f"runs {failed} lost writes, left outcomes unresolved or did not restore",
        env="sandbox",
        runs=runs,
        fault=fault,
        rate=rate,
        report=str(path),
    )
    if output is Output.json:
        console.print_json(json.dumps(report))
    else:
        _print(results, report, Path(path))
    if failed:
        raise typer.Exit(1)


def _print(results: list[Any], report: dict[str, Any], path: Path) -> None:
    table = Table(title=f"DR drill: fault {report['fault']}, {report['rate']:g} writes/s through the edge")
    for column in (
        "run",
        "RTO from fault (s)",
        "watch RTO (s)",
        "first failure (s)",
        "acked",
        "lost",
        "unknown: stored / not / unresolved",
        "refused",
        "failback (s)",
        "restored",
    ):
        table.add_column(column)
    for r in results:
        unknown = r.truth.unknown
        stored = sum(u.outcome == "stored" for u in unknown)
        not_stored = sum(u.outcome == "not_stored" for u in unknown)
        table.add_row(
            str(r.run),
            _seconds(r.truth.rto),
            _seconds(r.watch_rto_seconds),
            _seconds(r.truth.first_failure),
            str(r.truth.acknowledged),
            str(len(r.truth.lost)),
            f"{stored} / {not_stored} / {r.truth.unresolved}",
            str(r.truth.not_stored),
            _seconds(r.failback_seconds),
            "yes" if r.topology_restored else "NO",
        )
    console.print(table)
    stats = report["rto_seconds"]
    if stats:
        console.print(
            "RTO from the fault: " + ", ".join(f"{k} {v:.2f} s" for k, v in stats.items()), highlight=False
        )
    console.print(f"report: {path}", highlight=False)
