"""`nexus backup run|list|verify|prune`: the platform database's backups (runbooks/backup.py) on either world.

`run` and `prune` are dry runs unless `--execute`, journaled and audited (`run --resume RUN_ID` finishes the
same backup); `verify` restores into a scratch database that it removes again, and is audited.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.table import Table

from nexus_platform import audit, model
from nexus_platform import connect as choose
from nexus_platform.commands.common import EnvOption, Output, OutputOption, console, plan_or_execute
from nexus_platform.commands.dr import ExecuteOption, OutputsOption, ResumeOption
from nexus_platform.commands.reach import WorldOption, reach_of
from nexus_platform.errors import InputError
from nexus_platform.runbooks import backup as backups
from nexus_platform.world.base import Backup

app = typer.Typer(help="Backups of the platform's database: take, list, verify, prune.", no_args_is_help=True)


def _age(backup: Backup) -> str:
    hours = (time.time() - backup.created) / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} d"


def _size(count: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} B"


@app.command("run")
def run(
    *,
    env: EnvOption = "sandbox",
    outputs: OutputsOption = None,
    world: WorldOption = None,
    pushgateway: Annotated[
        str | None,
        typer.Option(
            "--pushgateway",
            metavar="URL",
            help="where to publish the backups' times (default: the sandbox's; NEXUS_PUSHGATEWAY_URL)",
        ),
    ] = None,
    execute: ExecuteOption = False,
    resume: ResumeOption = None,
    output: OutputOption = Output.text,
) -> None:
    """Back up the writer's database now, copy it into the other region (its key there), and publish the
    backups' times to the Pushgateway (BackupTooOld's input)."""
    from nexus_platform.ops.context import Context  # noqa: PLC0415

    target = choose.target(env, outputs, reach_of(world))
    params: dict[str, Any] = {"world": target.world.name}
    if resume is None:
        source = backups.writer(target)
        params.update(
            source=source,
            copy_to=target.platform.other(source),
            backup_id=backups.new_id(target.platform, source),
            pushgateway=pushgateway or choose.pushgateway(env),
        )
    ctx = Context(env=env, params=params, world=target, quiet=output is Output.json)
    plan_or_execute(backups.run(), ctx, execute=execute, resume=resume, output=output)


@app.command("list")
def list_(
    *,
    env: EnvOption = "sandbox",
    outputs: OutputsOption = None,
    world: WorldOption = None,
    output: OutputOption = Output.text,
) -> None:
    """Every database backup in both regions: age, size, region, key, source, status, last verify."""
    target = choose.target(env, outputs, reach_of(world))
    found = backups.backups_of(target).list()
    if output is Output.json:
        console.print_json(json.dumps({"backups": [asdict(b) for b in found]}))
        return
    table = Table(title=f"nexus backup list ({env}): {len(found)} backups")
    for column in ("id", "region", "age", "size", "status", "verified", "ours", "source", "key"):
        table.add_column(column, overflow="fold")
    for b in found:
        size = "-" if b.size_bytes is None else _size(b.size_bytes)
        table.add_row(
            b.id,
            b.region,
            _age(b),
            size,
            b.status,
            b.verified or "-",
            "yes" if b.made_by_platform else "no",
            b.source,
            b.encryption_key or "-",
        )
    console.print(table)


@app.command("verify")
def verify(
    *,
    env: EnvOption = "sandbox",
    outputs: OutputsOption = None,
    world: WorldOption = None,
    backup_id: Annotated[
        str | None, typer.Option("--id", help="the backup to verify (default: the newest of the platform's)")
    ] = None,
    region: Annotated[
        str, typer.Option("--region-role", help="where the backup is: primary or dr")
    ] = "primary",
    output: OutputOption = Output.text,
) -> None:
    """Restore a backup into a scratch database, compare every table with the source at the backup's time,
    record PASS/FAIL on the backup and remove the scratch copy. Exits 1 on FAIL."""
    if region not in model.ROLES:
        raise InputError(f"unknown region role {region!r}", hint=f"one of {', '.join(model.ROLES)}")
    target = choose.target(env, outputs, reach_of(world))
    store = backups.backups_of(target)
    if backup_id is None:
        ours = [
            b for b in store.list() if b.role == region and b.made_by_platform and b.status == "available"
        ]
        if not ours:
            raise InputError(
                f"no backup of the platform's in the {region} region", hint="run `nexus backup run --execute`"
            )
        backup_id = max(ours, key=lambda b: b.created).id
    began = time.monotonic()
    result = store.verify(backup_id, region)
    seconds = round(time.monotonic() - began, 2)
    audit.append(
        "backup.verify",
        executed=True,
        outcome="PASS" if result.ok else f"FAIL: {result.detail}",
        env=env,
        backup_id=backup_id,
        region=region,
        seconds=seconds,
    )
    if output is Output.json:
        payload = {**asdict(result), "verdict": "PASS" if result.ok else "FAIL", "seconds": seconds}
        console.print_json(json.dumps(payload))
    else:
        verdict = "[green]PASS[/]" if result.ok else "[red]FAIL[/]"
        console.print(f"{backup_id}: {verdict} in {seconds:g}s: {result.detail}")
        for check in result.tables:
            if not check.ok:
                console.print(
                    f"  {check.table}: {check.rows} rows ({check.checksum}), expected {check.expected_rows} "
                    f"({check.expected_checksum})",
                    highlight=False,
                )
    if not result.ok:
        raise typer.Exit(1)


@app.command("prune")
def prune(
    *,
    env: EnvOption = "sandbox",
    outputs: OutputsOption = None,
    world: WorldOption = None,
    execute: ExecuteOption = False,
    output: OutputOption = Output.text,
) -> None:
    """Delete the platform's backups past the retention (Terraform's backup_retention_days, 30): only those
    tagged as the platform's, never the newest good one of a region. Dry run unless --execute; an
    interrupted prune is finished by running it again (what is gone is not listed any more)."""
    from nexus_platform.ops.context import Context  # noqa: PLC0415

    target = choose.target(env, outputs, reach_of(world))
    retention = target.platform.backup_retention_days
    doomed = backups.prunable(backups.backups_of(target).list(), time.time(), retention)
    if not doomed:
        message = (
            f"nothing is older than {retention} days (or it is the newest good backup): nothing to prune"
        )
        if output is Output.json:
            console.print_json(json.dumps({"retention_days": retention, "delete": []}))
        else:
            console.print(message)
        audit.append("backup.prune", executed=execute, outcome="nothing to prune", env=env)
        return
    ctx = Context(
        env=env,
        params={"world": target.world.name, "retention_days": retention},
        world=target,
        quiet=output is Output.json,
    )
    plan_or_execute(backups.prune(doomed), ctx, execute=execute, resume=None, output=output)
