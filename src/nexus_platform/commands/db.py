"""`nexus db app-role`: nexus-api's PostgreSQL role from its secret."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any

import typer

from nexus_platform import audit, errormap, model
from nexus_platform.commands.common import EnvOption, Output, OutputOption, console

app = typer.Typer(help="The platform's PostgreSQL databases.", no_args_is_help=True)


def _secrets_client(env: model.EnvironmentModel) -> Any:
    """Secrets Manager of the environment's primary region (the emulator's, for the sandbox)."""
    region = env.region("primary").name
    if env.endpoint_url:
        from nexus_platform.sandbox import planes  # noqa: PLC0415

        return planes.control().client("secretsmanager", region)
    from nexus_platform import awsapi  # noqa: PLC0415

    return awsapi.client("secretsmanager", region)


@app.command("app-role")
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
    resume: Annotated[
        str | None, typer.Option("--resume", metavar="RUN_ID", help="continue a run that was interrupted")
    ] = None,
    output: OutputOption = Output.text,
) -> None:
    """Create nexus-api's PostgreSQL role from its Secrets Manager secret, or bring it back in step.

    Needs the primary database reachable: run it inside the VPC, or forward a port and pass
    --db-host/--db-port.
    Dry run unless --execute; an executed run is journaled (--resume RUN_ID) under the environment's lock;
    every run is recorded in the audit log.
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
    from nexus_platform.ops import run as engine  # noqa: PLC0415
    from nexus_platform.ops.context import Context  # noqa: PLC0415
    from nexus_platform.ops.report import report_json  # noqa: PLC0415
    from nexus_platform.runbooks import app_role  # noqa: PLC0415

    where = {"env": env, "host": target.host, "port": target.port, "database": database}
    params = {"host": target.host, "port": target.port, "database": database, "role": target.app.username}
    runbook = app_role.runbook(target)
    ctx = Context(env=env, params=params, world=target, quiet=output is Output.json)
    report = None
    if execute:
        # Journaled, under the environment's lock, audited; each step re-checks the database first.
        report = engine.execute(runbook, ctx, state_dir=model.paths().state_dir, resume=resume)
    else:
        engine.plan(runbook, ctx)  # audited as a dry run
    if output is Output.json:
        payload: dict[str, Any] = {**where, "role": target.app.username, "executed": execute}
        payload["steps"] = [asdict(step) for step in steps]
        if report is not None:
            payload["run"] = report_json(report)
        console.print_json(json.dumps(payload))
        return
    if not steps:
        console.print(f"role {target.app.username!r} already matches its secret: nothing to do")
        return
    for step in steps:
        console.print(f"{'done' if execute else 'would'}: {step.description}", highlight=False)
    if not execute:
        console.print("dry run: nothing changed (add --execute to make these changes)")
