"""The `nexus` command line."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from nexus_platform import __version__, audit, awsapi, logs, model
from nexus_platform.database import approle
from nexus_platform.doctor import infrastructure
from nexus_platform.errors import NexusError
from nexus_platform.sandbox import inventory
from nexus_platform.sandbox.controlplane import ControlPlane
from nexus_platform.terraform import cliconfig
from nexus_platform.terraform.runner import ApplyEvent

app = typer.Typer(
    help="Nexus Platform: multi-region AWS infrastructure and its operations toolkit.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
infra_app = typer.Typer(
    help="Terraform of the platform: plan, drift, CLI configuration.", no_args_is_help=True
)
app.add_typer(infra_app, name="infra")
db_app = typer.Typer(help="The platform's PostgreSQL databases.", no_args_is_help=True)
app.add_typer(db_app, name="db")

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


def _version(value: bool) -> None:
    if value:
        console.print(f"nexus {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version and exit")
    ] = False,
) -> None:
    logs.setup()


class _ApplyProgress:
    """Progress of a Terraform apply: a bar on a terminal, one line per finished resource otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.interactive = console.is_terminal
        self.done = 0
        self.progress: Progress | None = None
        self.task: TaskID | None = None

    def __enter__(self) -> _ApplyProgress:
        if self.enabled and self.interactive:
            self.progress = Progress(
                TextColumn("[bold]terraform apply"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.description}"),
                console=console,
            )
            self.progress.start()
            self.task = self.progress.add_task("planning", total=None)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def __call__(self, event: ApplyEvent) -> None:
        # Data-source reads also report start/complete; only planned resource changes count as progress.
        if not self.enabled or event.kind not in ("start", "complete", "errored") or event.action == "read":
            return
        if event.kind != "start":
            self.done += 1
        if self.progress is not None and self.task is not None:
            self.progress.update(
                self.task, total=event.planned, completed=self.done, description=event.address
            )
        elif event.kind != "start":
            verb = "failed" if event.kind == "errored" else f"{event.action or 'done'} ({event.elapsed:.0f}s)"
            console.print(
                f"[{self.done:>4}/{event.planned}] {event.address} {verb}", highlight=False, soft_wrap=True
            )


@app.command()
def up(output: OutputOption = Output.text) -> None:
    """Bring up the sandbox: the AWS emulator with the platform's Terraform applied to it."""

    plane = ControlPlane()
    if output is Output.text:
        console.print(f"Starting the AWS emulator on {plane.endpoint_url} and applying terraform/aws ...")
    with _ApplyProgress(enabled=output is Output.text) as progress:
        result = plane.up(on_event=progress)
    rows = inventory.collect(result.outputs, plane.env.region("primary").name, plane.client)
    if output is Output.json:
        payload = {
            "applied": result.applied,
            "resources": result.resources,
            "apply_seconds": round(result.apply_seconds, 1),
            "endpoint_url": result.endpoint_url,
            "inventory": [asdict(row) for row in rows],
        }
        console.print_json(json.dumps(payload))
        return
    verb = f"applied in {result.apply_seconds:.0f}s" if result.applied else "unchanged since the last apply"
    table = Table(title=f"Nexus sandbox: {result.resources} resources, {verb}")
    for column in ("scope", "kind", "name", "detail"):
        table.add_column(column)
    for row in rows:
        table.add_row(row.scope, row.kind, row.name, row.detail)
    console.print(table)
    console.print(f"AWS API: {result.endpoint_url} (any credentials). Stop everything with: nexus down")


@app.command()
def down(output: OutputOption = Output.text) -> None:
    """Stop everything the sandbox started (nothing is left running)."""

    stopped = ControlPlane().down()
    if output is Output.json:
        console.print_json(json.dumps({"stopped": stopped}))
    else:
        console.print("Sandbox stopped." if stopped else "Sandbox was not running.")


@app.command()
def status(output: OutputOption = Output.text) -> None:
    """Show whether the sandbox runs and what it holds."""

    plane = ControlPlane()
    record = plane.emulator()
    payload = {"emulator": {"running": record is not None, "pid": record.pid if record else None}}
    if output is Output.json:
        console.print_json(json.dumps(payload))
    else:
        state = f"running (pid {record.pid}) on {plane.endpoint_url}" if record else "not running"
        console.print(f"emulator: {state}")


@infra_app.command("env")
def infra_env() -> None:
    """Print shell exports that make plain `terraform` commands work here (offline mirror if present).

    Use: eval "$(nexus infra env)", then cd terraform/aws and run terraform as usual.
    """
    config = cliconfig.write(model.paths().tf_cli_config)
    for key, value in cliconfig.environment(config).items():
        if key in ("TF_CLI_CONFIG_FILE", "CHECKPOINT_DISABLE"):
            console.print(f"export {key}={value}", highlight=False, soft_wrap=True)


@infra_app.command("drift")
def infra_drift(env: EnvOption = "sandbox", output: OutputOption = Output.text) -> None:
    """Re-plan an applied environment and list resources whose real state differs from the code."""

    if env != "sandbox":
        model.paths().tfvars(env)  # validates the name
        raise NexusError(
            f"drift for {env!r} needs that environment's backend and credentials",
            hint="run terraform plan there; the CLI reports drift for the sandbox",
        )
    plane = ControlPlane()
    if plane.emulator() is None:
        raise NexusError("the sandbox is not running", hint="run `nexus up` first")
    result = plane.root().plan(plane.paths.tfvars("sandbox"))
    pending = [asdict(change) for change in result.pending]
    if output is Output.json:
        console.print_json(json.dumps({"drifting": len(pending), "changes": pending}))
        return
    for change in pending:
        console.print(f"{change['action']:>8}  {change['address']}", highlight=False)
    console.print(f"{len(pending)} resource(s) would change.")


@app.command()
def doctor(env: EnvOption = "sandbox", output: OutputOption = Output.text) -> None:
    """Check the applied platform (read-only): AWS APIs, VPC egress paths, security-group exposure.

    Exits 1 when any check fails.
    """
    if env != "sandbox":
        model.paths().tfvars(env)  # validates the name
        raise NexusError(
            f"doctor for {env!r} needs that environment's Terraform state and credentials",
            hint="the CLI checks the sandbox today",
        )
    plane = ControlPlane()
    if plane.emulator() is None:
        raise NexusError("the sandbox is not running", hint="run `nexus up` first")
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


def _secrets_client(env: model.EnvironmentModel) -> Any:
    """Secrets Manager of the environment's primary region (the emulator's, for the sandbox)."""
    region = env.region("primary").name
    if env.endpoint_url:
        plane = ControlPlane()
        if plane.emulator() is None:
            raise NexusError("the sandbox is not running", hint="run `nexus up` first")
        return plane.client("secretsmanager", region)
    return awsapi.client("secretsmanager", region)


@db_app.command("app-role")
def db_app_role(
    *,
    env: EnvOption = "production",
    db_host: Annotated[
        str | None, typer.Option(help="primary database address (default: from the app config secret)")
    ] = None,
    db_port: Annotated[int | None, typer.Option(min=1, max=65535, help="primary database port")] = None,
    database: Annotated[str, typer.Option(help="the application's database (helm/nexus values)")] = "nexus",
    execute: Annotated[
        bool, typer.Option("--execute", help="make the changes (default: only show them)")
    ] = False,
    output: OutputOption = Output.text,
) -> None:
    """Create nexus-api's PostgreSQL role from its Secrets Manager secret, or bring it back in step.

    Needs the primary database reachable: run it inside the VPC, or forward a port and pass
    --db-host/--db-port.
    Dry run unless --execute; every run is recorded in the audit log.
    """
    environment = model.environment(env)
    target = approle.resolve(
        _secrets_client(environment), environment.name_prefix, database=database, host=db_host, port=db_port
    )
    steps = approle.plan(target)
    where = {"env": env, "host": target.host, "port": target.port, "database": database}
    done: list[approle.Step] = []
    try:
        if execute:
            approle.apply(target, steps, on_step=done.append)
    finally:
        outcome = (
            "complete" if len(done) == len(steps) else f"stopped after {len(done)} of {len(steps)} steps"
        )
        audit.append(
            "db.app-role",
            executed=execute,
            outcome=outcome if execute else "dry run",
            role=target.app.username,
            steps=[step.name for step in (done if execute else steps)],
            **where,
        )
    if output is Output.json:
        payload = {**where, "role": target.app.username, "executed": execute}
        payload["steps"] = [asdict(step) for step in steps]
        console.print_json(json.dumps(payload))
        return
    if not steps:
        console.print(f"role {target.app.username!r} already matches its secret: nothing to do")
        return
    for step in steps:
        console.print(f"{'done' if execute else 'would'}: {step.description}", highlight=False)
    if not execute:
        console.print("dry run: nothing changed (add --execute to make these changes)")


def main() -> None:
    try:
        app()
    except NexusError as exc:
        err_console.print(f"error: {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
