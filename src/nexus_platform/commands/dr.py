"""`nexus dr status|failover|failback`: the DR runbooks on either world.

`--env sandbox` drives the sandbox's data plane; `--env production` drives AWS, with the platform model
from `--outputs` (a `terraform output -json` file). Dry run unless `--execute`; every run is journaled (resume
a killed one with `--resume RUN_ID`) and recorded in the audit log.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from nexus_platform import connect as choose
from nexus_platform import model
from nexus_platform.commands import drill as drill_command
from nexus_platform.commands.common import EnvOption, Output, OutputOption, console
from nexus_platform.commands.reach import (
    ApiUrlOption,
    KubeApiOption,
    KubeCaOption,
    OutageOption,
    WorldOption,
    reach_of,
)
from nexus_platform.errors import NexusError
from nexus_platform.runbooks import dr as runbooks
from nexus_platform.runbooks import outcome
from nexus_platform.runbooks import watch as watching
from nexus_platform.runbooks.readiness import readiness

app = typer.Typer(
    help="Disaster recovery: readiness, failover to the DR region, failback, the measured drill.",
    no_args_is_help=True,
)
app.command("drill")(drill_command.drill)

OutputsOption = Annotated[
    Path | None,
    typer.Option(
        "--outputs", help="Terraform outputs JSON (terraform output -json > FILE) instead of the state"
    ),
]
ExecuteOption = Annotated[bool, typer.Option("--execute", help="make the changes (default: only plan them)")]
ForceOption = Annotated[
    bool,
    typer.Option("--force", help="go on past failed preconditions (recorded in the journal and audit log)"),
]
ResumeOption = Annotated[
    str | None, typer.Option("--resume", metavar="RUN_ID", help="continue a run that was interrupted")
]


@app.command("status")
def status(
    *,
    env: EnvOption = "sandbox",
    outputs: OutputsOption = None,
    world: WorldOption = None,
    kube_api: KubeApiOption = None,
    kube_ca: KubeCaOption = None,
    api_url: ApiUrlOption = None,
    outage: OutageOption = None,
    output: OutputOption = Output.text,
) -> None:
    """Readiness of the DR region (replica lag vs the RPO, capacity, health checks, DNS TTLs, secret
    replicas and KMS keys in DR, backup age): PASS/WARN/FAIL each. Exits 1 on any FAIL."""
    reach = reach_of(world, kube_api, kube_ca, api_url, outage)
    target = choose.target(env, outputs, reach)
    checks = readiness(target, choose.control_clients(env, reach))
    failed = [c for c in checks if c.status == "FAIL"]
    if output is Output.json:
        payload = {
            "env": env,
            "world": target.world.name,
            "ok": not failed,
            "checks": [c.__dict__ for c in checks],
            "topology": runbooks.topology(target),
        }
        console.print_json(json.dumps(payload))
    else:
        table = Table(title=f"nexus dr status ({env}): {len(failed)} failed")
        for column in ("check", "result", "detail", "hint"):
            table.add_column(column)
        colour = {"PASS": "green", "WARN": "yellow", "FAIL": "red", "SKIP": "dim"}
        for c in checks:
            table.add_row(c.name, f"[{colour[c.status]}]{c.status}[/]", c.detail, c.hint)
        console.print(table)
    if failed:
        raise typer.Exit(1)


def _run(
    runbook_name: str,
    env: str,
    outputs: Path | None,
    *,
    execute: bool,
    force: bool,
    resume: str | None,
    params: dict[str, Any],
    output: Output,
    reach: choose.Reach,
    target: runbooks.Target | None = None,
) -> None:
    from nexus_platform.ops import run as engine  # noqa: PLC0415
    from nexus_platform.ops.context import Context  # noqa: PLC0415
    from nexus_platform.ops.report import plan_json, render_plan, render_report, report_json  # noqa: PLC0415

    runbook = runbooks.named(runbook_name, planned=bool(params.get("planned")))
    try:
        # The world is one of the run's parameters: a resume in another world is refused.
        params = {**params, "world": reach.world_for(env)}
        target = target or choose.target(env, outputs, reach)
    except NexusError as exc:
        from nexus_platform import audit  # noqa: PLC0415

        audit.append(
            runbook.name, executed=execute, outcome=f"failed before planning: {exc}", env=env, **params
        )
        raise
    ctx = Context(env=env, params=params, world=target, dry_run=not execute, quiet=output is Output.json)
    if not execute:
        before, plan = runbooks.topology(target), engine.plan(runbook, ctx)
        if output is Output.json:
            console.print_json(json.dumps({**plan_json(plan), "topology": before}))
        else:
            console.print(render_plan(plan))
            console.print("dry run: nothing changed (add --execute to run it)")
        return
    ahead = None if runbook.name == "dr.failover" else runbooks.topology(target)
    report = engine.execute(runbook, ctx, state_dir=model.paths().state_dir, force=force, resume=resume)
    before = ahead if ahead is not None else outcome.recorded_topology(report)
    after = runbooks.topology(target)
    # The RTO's clock starts at the detection (the watch's first failed check, or --since), else at the run's
    # first start: a resumed run keeps both from its journal.
    since = report.params.get("detected_at") or report.started.timestamp()
    summary = outcome.summary(report, target, float(since), before, after)
    if output is Output.json:
        console.print_json(json.dumps({**report_json(report), **summary, "detected_at": float(since)}))
        return
    console.print(render_report(report))
    for key, value in summary.items():
        console.print(f"{key}: {value}", highlight=False)


@app.command("failover")
def failover(
    *,
    env: EnvOption = "sandbox",
    outputs: OutputsOption = None,
    planned: Annotated[
        bool, typer.Option("--planned", help="switchover: wait for the replica first (RPO 0)")
    ] = False,
    since: Annotated[
        float | None, typer.Option("--since", help="unix time the failure was detected (RTO starts there)")
    ] = None,
    execute: ExecuteOption = False,
    force: ForceOption = False,
    resume: ResumeOption = None,
    world: WorldOption = None,
    kube_api: KubeApiOption = None,
    kube_ca: KubeCaOption = None,
    api_url: ApiUrlOption = None,
    outage: OutageOption = None,
    output: OutputOption = Output.text,
) -> None:
    """Fail over to DR: fence the primary, promote DR's database and cache, scale, switch, verify."""
    _run(
        "dr.failover",
        env,
        outputs,
        execute=execute,
        force=force,
        resume=resume,
        params={"planned": planned, **({"detected_at": since} if since is not None else {})},
        output=output,
        reach=reach_of(world, kube_api, kube_ca, api_url, outage),
    )


@app.command("failback")
def failback(
    *,
    env: EnvOption = "sandbox",
    outputs: OutputsOption = None,
    execute: ExecuteOption = False,
    force: ForceOption = False,
    resume: ResumeOption = None,
    world: WorldOption = None,
    kube_api: KubeApiOption = None,
    kube_ca: KubeCaOption = None,
    api_url: ApiUrlOption = None,
    outage: OutageOption = None,
    output: OutputOption = Output.text,
) -> None:
    """Rebuild the primary region as a replica of the DR region, then switch back (planned: nothing lost).
    Afterwards the topology is the one before the failover (checked, reported)."""
    reach = reach_of(world, kube_api, kube_ca, api_url, outage)
    params = (
        {}
        if resume
        else {"restore": outcome.topology_before_failover(model.paths().state_dir, env, reach.world_for(env))}
    )
    _run(
        "dr.failback",
        env,
        outputs,
        execute=execute,
        force=force,
        resume=resume,
        params=params,
        output=output,
        reach=reach,
    )


@app.command("watch")
def watch(
    *,
    env: EnvOption = "sandbox",
    outputs: OutputsOption = None,
    interval: Annotated[
        float | None,
        typer.Option(
            help="seconds between readings of the edge (default: a tenth of its check interval where the "
            "edge counts its failed checks, the sandbox's; else the check interval)"
        ),
    ] = None,
    failures: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="consecutive failed health checks that declare the primary failed (default: Terraform's)",
        ),
    ] = None,
    cooldown: Annotated[
        float, typer.Option(help="seconds after a failover in which no other one starts")
    ] = 3600,
    max_seconds: Annotated[
        float | None, typer.Option("--max-seconds", help="stop watching after this long (default: never)")
    ] = None,
    execute: ExecuteOption = False,
    force: ForceOption = False,
    world: WorldOption = None,
    kube_api: KubeApiOption = None,
    kube_ca: KubeCaOption = None,
    api_url: ApiUrlOption = None,
    outage: OutageOption = None,
    output: OutputOption = Output.text,
) -> None:
    """Watch the primary region from the edge's point of view and fail over when it has failed.

    Declares it failed after N consecutive failed health checks, counted by the edge itself where it keeps
    the count (the sandbox: no second count on top of the edge's); never fails over when the DR replica is
    unhealthy or behind by more than the RPO budget (unless --force), nor twice in one cool-down window (not
    even forced). The failover's RTO starts at the first failed health check. Without --execute it only says
    what it would do.
    """
    from nexus_platform import audit  # noqa: PLC0415

    reach = reach_of(world, kube_api, kube_ca, api_url, outage)
    target = choose.target(env, outputs, reach)
    platform = target.platform
    check_interval = choose.check_interval(env, platform)
    memory = watching.state_file(model.paths().state_dir, env)
    threshold = failures or platform.health_check.failure_threshold
    detector = watching.Detector(
        target,
        threshold=threshold,
        cooldown_seconds=cooldown,
        last_failover=lambda: watching.last_failover(memory),
        force=force,
        check_interval=check_interval,
    )
    began = time.monotonic()
    refused: str | None = None
    poll: float | None = None

    def say(message: str) -> None:
        if output is Output.text:
            console.print(message, highlight=False)

    said = 0
    while max_seconds is None or time.monotonic() - began < max_seconds:
        decision = detector.check()
        if poll is None:
            poll = detector.poll_interval(interval)
            say(
                f"watching {platform.region('primary').region}: reading the edge every {poll:g}s, "
                f"{threshold} failed checks (every {check_interval:g}s) to act"
            )
        if decision.action == watching.SUSPECT:
            if decision.count != said:
                say(f"failed check {decision.count}/{threshold}: {decision.detail}")
        elif decision.action == watching.REFUSE:
            if decision.detail != refused:
                say(f"not failing over: {decision.detail}")
                audit.append("dr.watch", executed=execute, outcome=f"refused: {decision.detail}", env=env)
            refused = decision.detail
        elif decision.action == watching.FAIL_OVER:
            assert decision.first_failure is not None
            if not execute:
                say("the primary has failed: would run `nexus dr failover --execute` (add --execute)")
                audit.append("dr.watch", executed=False, outcome="would fail over", env=env)
                return
            watching.record_failover(memory, decision.first_failure)
            ago = time.time() - decision.first_failure
            say(f"the primary has failed (first failed check {ago:.1f}s ago): failing over")
            _run(
                "dr.failover",
                env,
                outputs,
                execute=True,
                force=force,
                resume=None,
                params={"planned": False, "detected_at": decision.first_failure},
                output=output,
                reach=reach,
                target=target,
            )
            return
        said = decision.count
        time.sleep(poll)
    if refused:
        raise NexusError(f"watched for {max_seconds:g}s without failing over: {refused}")
