"""`nexus dr drill`: fail the sandbox's primary region under write load, let the product recover, and measure
RTO, RPO, split brain and unknown outcomes from the requests' ground truth (src/nexus_platform/drill).
Sandbox only: it kills processes and cuts the network. Every run ends with a failback whose restored
topology is checked."""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from nexus_platform import audit, model, telemetry
from nexus_platform.commands.common import Output, OutputOption, console
from nexus_platform.errors import InputError

#: Above this many writes per second the load generator (4 threads, one connection per write) cannot keep a
#: steady rate on a 2-core machine beside the sandbox itself: refused rather than silently missed.
MAX_RATE = 200.0
FAULT_CHOICES = ("kill", "partition", "both", "planned")


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _peak_memory_mb() -> dict[str, float]:
    """Peak resident memory of the drill's own process and of the largest child it waited for (the watch,
    the failback), in MiB (ru_maxrss is in KiB on Linux)."""
    return {
        "drill": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "largest_child": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
    }


def drill(
    *,
    runs: Annotated[int, typer.Option(help="how many fault-and-recover runs per fault")] = 1,
    mode: Annotated[
        str | None,
        typer.Option(help="replication during the drill: async or sync (default: the sandbox's now)"),
    ] = None,
    fault: Annotated[
        str,
        typer.Option(
            help="kill (SIGKILL the primary region's processes), partition (cut it off while it runs), both, "
            "or planned (a planned switchover and back, timed by the writes refused)"
        ),
    ] = "kill",
    rate: Annotated[float, typer.Option(help="writes per second through the edge")] = 40.0,
    timeout: Annotated[float, typer.Option(help="seconds the watch may take to fail over")] = 120.0,
    alert_wait: Annotated[
        float, typer.Option(help="seconds after the fault to wait for NexusRegionDown in Alertmanager")
    ] = 45.0,
    output: OutputOption = Output.text,
) -> None:
    """Run the DR drill on the sandbox: per run a steady write load through the edge, the fault, the failover
    decided by `nexus dr watch` on its own, the ground truth (RTO from the fault, acknowledged writes lost,
    split brain, unknown outcomes settled, alerts fired) and a failback. Writes the report (every request's
    outcome) and a timeline picture per run to the state directory. Exits 1 when a run left an outcome
    unresolved, let the old primary acknowledge a write after its fence, did not restore the topology or,
    with synchronous replication, lost an acknowledged write (async may lose those within the lag)."""
    if runs < 1:
        raise InputError(f"--runs must be at least 1, not {runs}")
    if fault not in FAULT_CHOICES:
        raise InputError(f"unknown fault {fault!r}", hint=f"one of: {', '.join(FAULT_CHOICES)}")
    if mode is not None and mode not in model.REPLICATION_MODES:
        raise InputError(f"unknown mode {mode!r}", hint=f"one of: {', '.join(model.REPLICATION_MODES)}")
    if not 0 < rate <= MAX_RATE:
        raise InputError(
            f"--rate {rate:g} is outside 0 < rate <= {MAX_RATE:g}: no steady load above it on this machine",
        )
    if alert_wait < 0:
        raise InputError(f"--alert-wait must not be negative, not {alert_wait:g}")
    from nexus_platform.drill.run import one_run, planned_run  # noqa: PLC0415
    from nexus_platform.drill.truth import summary  # noqa: PLC0415
    from nexus_platform.sandbox import planes  # noqa: PLC0415

    _, plane = planes.running()
    was = plane.mode()
    mode = mode or was
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    directory = model.paths().state_dir / "drills"
    pictures = directory / f"drill-{stamp}"
    faults = ("kill", "partition") if fault == "both" else (fault,)
    results = []
    began = time.monotonic()
    try:
        if mode != was:
            plane.set_mode(mode)
        for kind in faults:
            for number in range(1, runs + 1):
                if output is Output.text:
                    console.print(
                        f"run {number}/{runs}: fault {kind}, {mode}, {rate:g} writes/s ...", highlight=False
                    )
                results.append(
                    planned_run(plane, number, rate=rate)
                    if kind == "planned"
                    else one_run(
                        plane,
                        number,
                        rate=rate,
                        fault=kind,
                        timeout=timeout,
                        alert_wait=alert_wait,
                        pictures=pictures,
                    )
                )
    finally:
        if plane.mode() != was:
            plane.set_mode(was)
    report: dict[str, Any] = {
        "fault": fault,
        "mode": mode,
        "rate": rate,
        "rto_seconds": {
            kind: summary([r.truth.rto for r in results if r.fault == kind and r.truth.rto is not None])
            for kind in faults
            if kind != "planned"
        },
        "refused_seconds": {
            step: summary(
                [v for r in results if r.refused_seconds and (v := r.refused_seconds[step]) is not None]
            )
            for step in ("failover", "failback")
        }
        if fault == "planned"
        else None,
        "cost": {
            "wall_seconds": round(time.monotonic() - began, 1),
            "wall_seconds_per_run": summary([r.wall_seconds for r in results]),
            "peak_memory_mib": _peak_memory_mb(),
        },
        "runs": [r.as_json() for r in results],
    }
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"drill-{stamp}.json"
    path.write_text(json.dumps({**report, "runs": [r.as_json(requests=True) for r in results]}, indent=1))
    report["report"] = str(path)
    # Async replication may lose the writes acknowledged within the lag at the fault (reported, the RPO);
    # synchronous replication must lose none; split brain is never allowed.
    failed = [
        f"{r.fault} run {r.run}"
        for r in results
        if ((mode == "sync" or r.fault == "planned") and r.truth.lost)
        or r.truth.unresolved
        or r.truth.unverified
        or r.truth.rejected
        or r.split_brain
        or not r.topology_restored
    ]
    _publish(plane, mode, results, ok=not failed)
    audit.append(
        "dr.drill",
        executed=True,
        outcome="ok"
        if not failed
        else f"{', '.join(failed)}: lost, split or unresolved writes, or no restore",
        env="sandbox",
        runs=runs,
        fault=fault,
        mode=mode,
        rate=rate,
        report=str(path),
    )
    if output is Output.json:
        console.print_json(json.dumps(report, default=str))
    else:
        _print(results, report, Path(path))
    if failed:
        raise typer.Exit(1)


def _refused(results: list[Any]) -> dict[str, Any]:
    from nexus_platform.drill.truth import summary  # noqa: PLC0415

    windows = [r.refused_seconds for r in results if r.refused_seconds]
    return {
        step: summary([w[step] for w in windows if w[step] is not None]) for step in ("failover", "failback")
    }


def _publish(plane: Any, mode: str, results: list[Any], *, ok: bool) -> None:
    """The last drill's figures as nexus_ops_dr_drill_* on the sandbox's Pushgateway (a dashboard's input);
    a Pushgateway that does not answer is not the drill's failure."""
    from nexus_platform.errors import NexusError  # noqa: PLC0415

    last = results[-1]
    lost = [s for s in last.log if s.id in set(last.truth.lost)]
    rpo = (time.monotonic() - min(s.answered for s in lost)) if lost else 0.0
    labels = {"mode": mode}
    samples = [
        telemetry.Sample(telemetry.DR_DRILL_LAST_RTO, labels, last.truth.rto or 0.0),
        telemetry.Sample(
            telemetry.DR_DRILL_LAST_RPO, labels, round(last.truth.lost_window or 0.0, 3) if lost else rpo
        ),
        telemetry.Sample(telemetry.DR_DRILL_LAST_SUCCESS, labels, 1.0 if ok else 0.0),
        telemetry.Sample(telemetry.DR_DRILL_LAST_RUN_TIMESTAMP, labels, time.time()),
    ]
    try:
        telemetry.push(plane.pushgateway_url(), samples, {"drill": mode})
    except NexusError as exc:
        console.print(f"drill metrics not published: {exc}", highlight=False)


def _print(results: list[Any], report: dict[str, Any], path: Path) -> None:
    table = Table(
        title=f"DR drill: {report['mode']} replication, {report['rate']:g} writes/s through the edge"
    )
    for column in (
        "fault",
        "run",
        "RTO from fault (s)",
        "watch RTO (s)",
        "detect / fence / promote / verify (s)",
        "acked",
        "lost (window s; lag at fault s)",
        "unknown: stored / not / unresolved",
        "direct: diverged / split brain",
        "alerts (fired after s)",
        "failback (s)",
        "restored",
    ):
        table.add_column(column)
    for r in results:
        unknown = r.truth.unknown
        stored = sum(u.outcome == "stored" for u in unknown)
        not_stored = sum(u.outcome == "not_stored" for u in unknown)
        phases = " / ".join(_seconds(r.phases.get(k)) for k in ("detect", "fence", "promote", "verify"))
        lag = _seconds(r.lag_at_fault.get("seconds"))
        lost = f"{len(r.truth.lost)} ({_seconds(r.truth.lost_window)}; {lag})"
        table.add_row(
            r.fault,
            str(r.run),
            _seconds(r.truth.rto),
            _seconds(r.watch_rto_seconds),
            phases,
            str(r.truth.acknowledged),
            lost,
            f"{stored} / {not_stored} / {r.truth.unresolved}",
            "-" if r.direct is None else f"{r.direct.diverged} / {r.direct.split_brain}",
            ", ".join(f"{a.name} {a.fired_after:.0f}" for a in r.alerts) or "-",
            _seconds(r.failback_seconds),
            "yes" if r.topology_restored else "NO",
        )
    console.print(table)
    for step, stats in (report["refused_seconds"] or {}).items():
        if stats:
            console.print(
                f"writes refused by the planned {step}: "
                + ", ".join(f"{k} {v:.2f} s" for k, v in stats.items()),
                highlight=False,
            )
    for kind, stats in report["rto_seconds"].items():
        if stats:
            console.print(
                f"RTO from the fault ({kind}): " + ", ".join(f"{k} {v:.2f} s" for k, v in stats.items()),
                highlight=False,
            )
    cost = report["cost"]
    console.print(
        f"cost: {cost['wall_seconds']:.0f} s in all; peak memory {cost['peak_memory_mib']['drill']:.0f} MiB "
        f"(drill), {cost['peak_memory_mib']['largest_child']:.0f} MiB (largest child)",
        highlight=False,
    )
    pictures = [r.picture for r in results if r.picture]
    if pictures:
        console.print(f"timelines: {Path(pictures[0]).parent}", highlight=False)
    console.print(f"report: {path}", highlight=False)
