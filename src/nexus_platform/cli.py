"""The `nexus` command line."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from nexus_platform import __version__, audit, errormap, logs, model
from nexus_platform.commands import dr as dr_commands
from nexus_platform.commands.common import EnvOption, Output, OutputOption, console, err_console
from nexus_platform.errors import InputError, NexusError
from nexus_platform.sandbox.controlplane import ControlPlane
from nexus_platform.terraform import cliconfig
from nexus_platform.terraform.runner import ApplyEvent

# boto3/botocore and psycopg are imported by the commands that use them: `nexus status` must answer in well
# under a second, and those imports alone cost half of one.

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
app.add_typer(dr_commands.app, name="dr")


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


def _mode(sync: bool | None) -> str | None:
    return None if sync is None else ("sync" if sync else "async")


@app.command()
def up(
    output: OutputOption = Output.text,
    sync: Annotated[
        bool | None,
        typer.Option(
            "--sync/--async",
            help="replication into the DR region: synchronous (remote_apply) or asynchronous "
            "(default: sandbox.toml's replication.mode, or what the running sandbox has)",
        ),
    ] = None,
) -> None:
    """Bring up the sandbox: the AWS emulator with the platform's Terraform applied, then the data plane.

    The data plane is every region's real processes (PostgreSQL primary and cross-region replica, Redis,
    nexus-api, the link emulator, HAProxy as the edge, Prometheus and Alertmanager). Ends with a write through
    the edge, read back from the DR region. With everything running it changes nothing.
    """
    from nexus_platform.sandbox import inventory, planes  # noqa: PLC0415
    from nexus_platform.world.local import traffic  # noqa: PLC0415

    plane, data = planes.both()
    emulator_was_running = plane.emulator() is not None
    # Before anything starts: a taken port must not leave a half-started sandbox behind.
    before = data.check_ports()
    started: list[str] = []
    text = output is Output.text
    try:
        if text:
            console.print(
                f"Control plane: the AWS emulator on {plane.endpoint_url}, terraform/aws applied to it ..."
            )
        with _ApplyProgress(enabled=text) as progress:
            result = plane.up(on_event=progress)
        with (
            console.status("data plane", spinner="dots")
            if text and console.is_terminal
            else _Quiet() as shown
        ):

            def say(message: str) -> None:
                if text:
                    if console.is_terminal:
                        shown.update(f"data plane: starting {message}")
                    else:
                        console.print(f"data plane: {message}", highlight=False)

            report = data.up(
                result.outputs,
                lambda region: plane.client("secretsmanager", region),
                mode=_mode(sync),
                progress=say,
                started=started,
            )
        # Inside the cleanup: a Ctrl-C while waiting for the edge or the proof write stops what was started.
        data.wait_serving()
        edge = traffic.Client(data.edge_url())
        # Read back through the DR region's own load balancer, which names the region that answered.
        dr_api = traffic.Client(data.lb_url("dr"))
        proof = traffic.write_and_follow(edge, dr_api, data.region("dr"))
    except BaseException as exc:
        # Stop what this run started of the data plane (what it found running stays as it was). On Ctrl-C the
        # emulator it started goes too; after a failure it stays, so the next `up` need not apply again.
        data.stop([name for name, was_running in before.items() if not was_running])
        if isinstance(exc, KeyboardInterrupt) and not emulator_was_running:
            plane.down()
        raise
    if output is Output.json:
        rows = inventory.collect(result.outputs, plane.env.region("primary").name, plane.client)
        payload = {
            "applied": result.applied,
            "resources": result.resources,
            "apply_seconds": round(result.apply_seconds, 1),
            "endpoint_url": result.endpoint_url,
            "inventory": [asdict(row) for row in rows],
            "dataplane": {
                "started": report.started,
                "seconds": round(report.seconds, 2),
                "mode": report.mode,
            },
            "proof": asdict(proof),
            "edge_url": data.edge_url(),
        }
        console.print_json(json.dumps(payload))
        return
    verb = f"applied in {result.apply_seconds:.0f}s" if result.applied else "unchanged since the last apply"
    console.print(f"Control plane: {result.resources} resources, {verb}. AWS API: {result.endpoint_url}")
    if report.started:
        console.print(
            f"Data plane: started {len(report.started)} processes in {report.seconds:.1f}s "
            f"({report.mode} replication)."
        )
    else:
        console.print(f"Data plane: already running ({report.mode} replication).")
    _print_status(_status_payload())
    console.print(
        f"Write through the edge: {proof.record_id} stored in {proof.written_in} (served by "
        f"{proof.served_by}, acknowledged in {proof.ack_ms:.0f} ms), readable in {proof.read_from} "
        f"{proof.visible_after_ms:.0f} ms later.",
        highlight=False,
    )
    console.print("Try next:", highlight=False)
    for line in (
        f"curl -s -X PUT {data.edge_url()}/api/v1/records/hello -H 'Content-Type: application/json' "
        '-d \'{"data": {"msg": "hi"}}\'',
        f"curl -s -H 'Cache-Control: no-cache' {data.instances('dr')[0].url}/api/v1/records/hello",
        "nexus status        # both planes, per region",
        "nexus down          # stop everything",
    ):
        console.print(f"  {line}", highlight=False, soft_wrap=True)


class _Quiet:
    """Stands in for rich's status when there is no terminal to draw on."""

    def __enter__(self) -> _Quiet:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, _message: str) -> None:
        return None


@app.command()
def down(output: OutputOption = Output.text) -> None:
    """Stop everything the sandbox started, both planes (nothing is left running, no listener, no orphan)."""
    from nexus_platform.sandbox import planes  # noqa: PLC0415

    plane, data = planes.both()
    stopped_data = data.down()
    stopped = plane.down()
    if output is Output.json:
        console.print_json(json.dumps({"stopped": stopped or bool(stopped_data), "processes": stopped_data}))
    else:
        count = len(stopped_data) + (1 if stopped else 0)
        console.print(f"Sandbox stopped ({count} processes)." if count else "Sandbox was not running.")


def _status_payload() -> dict[str, Any]:
    from nexus_platform.sandbox import planes, status  # noqa: PLC0415

    plane, data = planes.both()
    record = plane.emulator()
    return {
        "control_plane": {
            "emulator": {
                "running": record is not None,
                "pid": record.pid if record else None,
                "endpoint_url": plane.endpoint_url,
            },
            "applied": plane.applied_record() is not None,
        },
        **status.collect(data, data.cache_token()),
    }


def _print_status(payload: dict[str, Any]) -> None:
    cp = payload["control_plane"]["emulator"]
    state = f"running (pid {cp['pid']}) on {cp['endpoint_url']}" if cp["running"] else "not running"
    console.print(f"control plane: emulator {state}", highlight=False)
    link_state = payload["link"]
    edge = payload["edge"]
    delay = "" if link_state.get("delay_ms") is None else f", {link_state['delay_ms']:g} ms one way"
    table = Table(
        title=f"data plane ({payload['mode']} replication): edge {edge['url']} serving "
        f"{edge.get('serving_region') or 'nothing'}; link {link_state.get('state') or 'down'}{delay}"
    )
    for column in ("region", "process", "port", "state", "role", "detail"):
        table.add_column(column)
    for role, region in payload["regions"].items():
        db, cache = region["database"], region["cache"]
        for process in region["processes"]:
            detail, kind = "", ""
            if process["name"].endswith(".postgres"):
                kind = db.get("role") or ""
                if kind == "primary" and db.get("replica_lag_bytes") is not None:
                    detail = f"replica behind {db['replica_lag_bytes']} B / {db['replica_lag_seconds']:.3f} s"
                elif kind == "replica":
                    age = db.get("heartbeat_age_seconds")
                    detail = (
                        f"{'streaming' if db.get('streaming') else 'NOT streaming'}, "
                        f"{db.get('replay_gap_bytes')} B to replay"
                        + (f", primary heartbeat {age:.1f} s old" if age is not None else "")
                    )
            elif process["name"].endswith(".redis"):
                kind = cache.get("role") or ""
                if cache.get("link_status"):
                    detail = f"link {cache['link_status']}"
            elif ".api-" in process["name"]:
                kind = "primary" if role == "primary" else "standby"
            table.add_row(
                f"{region['region']} ({role})",
                process["name"],
                ",".join(map(str, process["ports"])),
                "up" if process["up"] else "[red]DOWN[/red]",
                kind,
                detail,
            )
        table.add_row(
            f"{region['region']} ({role})",
            "edge's view",
            "",
            str(region.get("edge") or "unknown"),
            "",
            region["lb_url"],
        )
    for process in [
        payload["edge"]["process"],
        payload["link"]["process"],
        *payload["monitoring"]["processes"],
    ]:
        table.add_row(
            "global",
            process["name"],
            ",".join(map(str, process["ports"])),
            "up" if process["up"] else "[red]DOWN[/red]",
            "",
            "",
        )
    console.print(table)


@app.command()
def status(output: OutputOption = Output.text) -> None:
    """Show both planes side by side per region: processes, ports, roles, replication lag, link, edge.

    JSON shape (stable): control_plane.emulator, edge.url, edge.serving_region, link.state,
    regions.<primary|dr>.api_urls, .database.role (primary|replica), .cache.role, .processes[].
    """
    payload = _status_payload()
    if output is Output.json:
        console.print_json(json.dumps(payload))
    else:
        _print_status(payload)


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
    """Re-plan an applied environment and list resources whose real state differs from the code.

    Exits 1 when anything would change (like `terraform plan -detailed-exitcode`'s 2), so automation sees
    drift; 0 when the platform is as the code says.
    """

    from nexus_platform import connect  # noqa: PLC0415

    model.paths().tfvars(env)  # validates the name
    if not connect.emulated(env):
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
    else:
        for change in pending:
            console.print(f"{change['action']:>8}  {change['address']}", highlight=False)
        console.print(f"{len(pending)} resource(s) would change.")
    if pending:
        raise typer.Exit(1)


@app.command()
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
    from nexus_platform import awsapi  # noqa: PLC0415

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
    from nexus_platform.database import approle  # noqa: PLC0415

    environment = model.environment(env)
    if environment.endpoint_url and db_host is None:
        # The sandbox's RDS endpoint is an emulated name: its database is the data plane's local primary.
        db_host, db_port = model.LOCALHOST, db_port or model.sandbox_config().regions["primary"].postgres
    try:
        target = approle.resolve(
            _secrets_client(environment),
            environment.name_prefix,
            database=database,
            host=db_host,
            port=db_port,
        )
        steps = approle.plan(target)
    except Exception as exc:
        # Every run is recorded, also one that never got as far as a plan.
        reason = errormap.describe(exc) or exc
        audit.append(
            "db.app-role",
            executed=execute,
            outcome=f"failed before planning: {reason}",
            env=env,
            host=db_host,
            port=db_port,
            database=database,
        )
        raise
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
        # Bad input (an unknown environment or run id, missing outputs, a corrupt journal) is a usage error.
        sys.exit(2 if isinstance(exc, InputError) else 1)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        mapped = errormap.describe(exc)
        if mapped is None:
            raise
        err_console.print(f"error: {mapped}", highlight=False, soft_wrap=True)
        sys.exit(1)
