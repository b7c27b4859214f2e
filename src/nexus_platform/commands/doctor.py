"""`nexus doctor`: the troubleshooting guide's checks, read-only."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from nexus_platform import model
from nexus_platform.commands.common import EnvOption, Output, OutputOption, console
from nexus_platform.commands.dr import OutputsOption
from nexus_platform.commands.reach import KubeApiOption, KubeCaOption, WorldOption, reach_of
from nexus_platform.errors import InputError, NexusError

SECTIONS = ("infrastructure", "application", "performance")


def doctor(
    *,
    env: EnvOption = "sandbox",
    outputs: OutputsOption = None,
    section: Annotated[
        list[str] | None,
        typer.Option("--section", help=f"only these sections ({', '.join(SECTIONS)}); default: all"),
    ] = None,
    world: WorldOption = None,
    kube_api: KubeApiOption = None,
    kube_ca: KubeCaOption = None,
    output: OutputOption = Output.text,
) -> None:
    """The troubleshooting guide's checks, read-only: infrastructure (AWS APIs, VPC egress, security-group
    exposure), application (workload replicas ready, the secrets the workloads read), performance
    (replication lag, scaling headroom, each region's API round trip). Exits 1 when any check fails."""
    from nexus_platform import connect  # noqa: PLC0415

    wanted = list(section or SECTIONS)
    unknown = [name for name in wanted if name not in SECTIONS]
    if unknown:
        raise InputError(f"unknown section {unknown[0]!r}", hint=f"one of {', '.join(SECTIONS)}")
    model.paths().tfvars(env)  # validates the name
    findings = []
    if "infrastructure" in wanted:
        if not connect.emulated(env):
            raise NexusError(
                f"the infrastructure checks of {env!r} need its Terraform state and credentials",
                hint="the CLI runs them on the sandbox today: --section application --section performance",
            )
        from nexus_platform.doctor import infrastructure  # noqa: PLC0415
        from nexus_platform.sandbox import planes  # noqa: PLC0415

        plane = planes.control()
        findings += [("infrastructure", f) for f in infrastructure.run(plane.root().outputs(), plane.client)]
    if "application" in wanted or "performance" in wanted:
        from nexus_platform.doctor import application, performance  # noqa: PLC0415

        reach = reach_of(world, kube_api, kube_ca)
        target = connect.target(env, outputs, reach)
        if "application" in wanted:
            findings += [
                ("application", f) for f in application.run(target, connect.control_clients(env, reach))
            ]
        if "performance" in wanted:
            findings += [("performance", f) for f in performance.run(target)]
    failed = [f for _, f in findings if not f.ok]
    if output is Output.json:
        payload = {"ok": not failed, "findings": [{"section": s, **asdict(f)} for s, f in findings]}
        console.print_json(json.dumps(payload))
    else:
        table = Table(title=f"nexus doctor: {len(findings) - len(failed)} ok, {len(failed)} failed")
        for column in ("section", "check", "scope", "result", "detail"):
            table.add_column(column)
        for name, f in findings:
            # Text: a detail quotes log lines, whose brackets are not rich markup.
            table.add_row(name, f.check, f.scope, "ok" if f.ok else "[red]FAIL[/]", Text(f.detail))
        console.print(table)
    if failed:
        raise typer.Exit(1)
