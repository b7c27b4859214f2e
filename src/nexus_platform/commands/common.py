"""What every command shares: the consoles, the output switch, the environment option."""

from __future__ import annotations

import json
import os
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console

from nexus_platform import model

console = Console()
if not console.is_terminal and "COLUMNS" not in os.environ:
    # Logs and CI have no terminal width; rich's 80-column default would fold every table row.
    console = Console(width=160)
err_console = Console(stderr=True)


class Output(StrEnum):
    text = "text"
    json = "json"


OutputOption = Annotated[Output, typer.Option("--output", "-o", help="text for people, json for automation")]
EnvOption = Annotated[str, typer.Option("--env", "-e", help=f"environment: {', '.join(model.ENVIRONMENTS)}")]


def plan_or_execute(runbook: Any, ctx: Any, *, execute: bool, resume: str | None, output: Output) -> None:
    """A runbook's dry run (its plan), or with `execute` its journaled run, printed for people or as JSON."""
    from nexus_platform.ops import run as engine  # noqa: PLC0415
    from nexus_platform.ops.report import plan_json, render_plan, render_report, report_json  # noqa: PLC0415

    if not execute:
        plan = engine.plan(runbook, ctx)
        if output is Output.json:
            console.print_json(json.dumps(plan_json(plan)))
        else:
            console.print(render_plan(plan))
            console.print("dry run: nothing changed (add --execute to run it)")
        return
    report = engine.execute(runbook, ctx, state_dir=model.paths().state_dir, resume=resume)
    if output is Output.json:
        console.print_json(json.dumps(report_json(report)))
    else:
        console.print(render_report(report))
