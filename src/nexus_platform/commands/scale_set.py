"""`nexus scale set`: change what a region runs (node group, nexus-api's autoscaler bounds, the database's
read replicas, the cache's replicas per shard) as a runbook, within the rules of runbooks/scaling.py.

A dry run unless `--execute`; journaled and audited (`--resume RUN_ID`). On AWS the change is drift from
Terraform and the chart: the command prints the edits that make it permanent, and `--write-tfvars` makes the
tfvars ones."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from nexus_platform import connect as choose
from nexus_platform import model
from nexus_platform.commands.common import EnvOption, Output, OutputOption, console, plan_or_execute
from nexus_platform.commands.dr import ExecuteOption, OutputsOption, ResumeOption
from nexus_platform.commands.reach import KubeApiOption, KubeCaOption, WorldOption, reach_of
from nexus_platform.errors import InputError, NexusError
from nexus_platform.ops.journal import Journal
from nexus_platform.runbooks import scaling
from nexus_platform.terraform import tfvars


def set_(
    *,
    region: Annotated[str, typer.Option("--region", "-r", help="region role: primary or dr")],
    nodes: Annotated[
        str | None, typer.Option("--nodes", metavar="[GROUP=]MIN:DESIRED:MAX", help="a node group's sizes")
    ] = None,
    api_replicas: Annotated[
        str | None, typer.Option("--api-replicas", metavar="MIN:MAX", help="nexus-api's autoscaler bounds")
    ] = None,
    db_read_replicas: Annotated[
        int | None,
        typer.Option(
            "--db-read-replicas", metavar="N", help="the writer's read replicas, the DR one included"
        ),
    ] = None,
    cache_replicas: Annotated[
        int | None, typer.Option("--cache-replicas", metavar="N", help="the cache's replicas per shard")
    ] = None,
    write_tfvars: Annotated[
        bool,
        typer.Option("--write-tfvars", help="with --execute: write the change into the environment's tfvars"),
    ] = False,
    env: EnvOption = "sandbox",
    outputs: OutputsOption = None,
    world: WorldOption = None,
    kube_api: KubeApiOption = None,
    kube_ca: KubeCaOption = None,
    execute: ExecuteOption = False,
    resume: ResumeOption = None,
    output: OutputOption = Output.text,
) -> None:
    """Change a region's scale: refuses what breaks a rule (min > max, the DR replica removed, the writer at
    zero, the standby below its floor, over a quota) with the rule's name, before anything changes."""
    from nexus_platform.ops.context import Context  # noqa: PLC0415

    if region not in model.ROLES:
        raise InputError(
            f"unknown region role {region!r}", hint=f"--region {' or --region '.join(model.ROLES)}"
        )
    if write_tfvars and not execute:
        raise InputError("--write-tfvars changes a file: it goes with --execute", hint="add --execute")
    if resume is not None:
        params: dict[str, Any] = dict(
            Journal(model.paths().state_dir).load(resume, runbook="scale.set").params
        )
        request = scaling.Request.from_params(params)
    else:
        request = scaling.Request(
            role=region,
            nodes=None if nodes is None else scaling.parse_nodes(nodes),
            api=None if api_replicas is None else scaling.parse_pair(api_replicas),
            db_read_replicas=db_read_replicas,
            cache_replicas=cache_replicas,
        )
    if request.empty():
        raise InputError(
            "nothing to change", hint="give --nodes, --api-replicas, --db-read-replicas or --cache-replicas"
        )
    target = choose.target(env, outputs, reach_of(world, kube_api, kube_ca))
    scaler = scaling.scaling_of(target)
    views = {role: scaler.show(role) for role in model.ROLES}
    writer = target.writer()
    broken = scaling.refusals(request, views, writer, scaler.quotas(request.role))
    if broken:
        raise InputError(broken[0], hint="; ".join(broken[1:]) or "`nexus scale show` shows what runs now")
    ctx = Context(
        env=env,
        params={**request.as_params(), "world": target.world.name},
        world=target,
        quiet=output is Output.json,
    )
    plan_or_execute(scaling.set_runbook(request), ctx, execute=execute, resume=resume, output=output)
    group = scaling.node_group(request, views[request.role])
    edits = scaling.permanent(
        request,
        group,
        f"terraform/aws/{env}.tfvars",
        f"helm/nexus/values-{request.role}.yaml",
    )
    if target.world.name != "aws" or not edits:
        return
    say = console.print if output is Output.text else (lambda *_a, **_k: None)
    say("drift: Terraform and the chart still say otherwise; make it permanent with:", highlight=False)
    for edit in edits:
        say(f"  {edit.line()}", highlight=False)
    if write_tfvars and execute:
        path = model.paths().tfvars(env)
        wanted = {e.keys: e.value for e in edits if e.file.endswith(".tfvars")}
        if not wanted:
            raise NexusError("nothing of this change lives in the tfvars", hint="edit the chart's values")
        for key, (before, after) in tfvars.set_numbers(path, wanted).items():
            say(f"wrote {path.name}: {key} {before} -> {after}", highlight=False)
