"""`nexus doctor`: the troubleshooting guide's checks, read-only."""

from __future__ import annotations

import json
from dataclasses import asdict

import typer
from rich.table import Table

from nexus_platform import model
from nexus_platform.commands.common import EnvOption, Output, OutputOption, console
from nexus_platform.errors import NexusError


def doctor(env: EnvOption = "sandbox", output: OutputOption = Output.text) -> None:
    """Check the applied platform (read-only): AWS APIs, VPC egress paths, security-group exposure.

    Exits 1 when any check fails.
    """
    from nexus_platform import connect  # noqa: PLC0415

    model.paths().tfvars(env)  # validates the name
    if not connect.emulated(env):
        raise NexusError(
            f"doctor for {env!r} needs that environment's Terraform state and credentials",
            hint="the CLI checks the sandbox today",
        )
    from nexus_platform.doctor import infrastructure  # noqa: PLC0415
    from nexus_platform.sandbox import planes  # noqa: PLC0415

    plane = planes.control()
    findings = infrastructure.run(plane.root().outputs(), plane.client)
    failed = [f for f in findings if not f.ok]
    if output is Output.json:
        console.print_json(json.dumps({"ok": not failed, "findings": [asdict(f) for f in findings]}))
    else:
        table = Table(title=f"nexus doctor: {len(findings) - len(failed)} ok, {len(failed)} failed")
        for column in ("check", "scope", "result", "detail"):
            table.add_column(column)
        for f in findings:
            table.add_row(f.check, f.scope, "ok" if f.ok else "FAIL", f.detail)
        console.print(table)
    if failed:
        raise typer.Exit(1)
