"""`nexus backup run|list|verify|restore|prune`: the platform database's backups (runbooks/backup.py) on
either world.

`run` and `prune` are dry runs unless `--execute`, journaled and audited (`run --resume RUN_ID` finishes the
same backup); `verify` restores into a scratch database that it removes again, and is audited.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict
from datetime import UTC, datetime
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
        source = target.writer()
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
    record PASS/FAIL on the backup and remove the scratch copy. Where the backup has an AWS Backup recovery
    point, restore that too through an AWS Backup restore job and record the verdict on the job
    (PutRestoreValidationResult). Exits 1 on FAIL."""
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
        if result.restore_validation is not None:
            rv = result.restore_validation
            console.print(
                f"  AWS Backup restore job {rv.restore_job}: validation {rv.status}: {rv.message}",
                highlight=False,
            )
        for check in result.tables:
            if not check.ok:
                console.print(
                    f"  {check.table}: {check.rows} rows ({check.checksum}), expected {check.expected_rows} "
                    f"({check.expected_checksum})",
                    highlight=False,
                )
    if not result.ok:
        raise typer.Exit(1)


_NAME = re.compile(r"^[a-z](?:[a-z0-9]|-(?!-)){0,62}(?<!-)$")


def _when(text: str) -> float:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"--to-time {text!r} is not an ISO 8601 time", hint="e.g. 2026-12-05T11:30:00Z"
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


@app.command("restore")
def restore(
    *,
    region: Annotated[
        str | None,
        typer.Option("--region", "-r", help="the region role to restore in (default: the writer's)"),
    ] = None,
    backup: Annotated[
        str | None,
        typer.Option("--backup", metavar="ID", help="the backup (default: the region's newest good one)"),
    ] = None,
    to_time: Annotated[
        str | None,
        typer.Option(
            "--to-time", metavar="ISO8601", help="point in time (UTC unless it says): instead of a backup"
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", help="the new instance's name (default: <database>-restore-<time>)"),
    ] = None,
    env: EnvOption = "sandbox",
    outputs: OutputsOption = None,
    world: WorldOption = None,
    execute: ExecuteOption = False,
    resume: ResumeOption = None,
    output: OutputOption = Output.text,
) -> None:
    """Restore a backup (or, on AWS, the database as it was at --to-time) into a new instance, never over the
    platform's own database. Dry run unless --execute; journaled, audited, --resume RUN_ID."""
    from nexus_platform.ops.context import Context  # noqa: PLC0415
    from nexus_platform.ops.journal import Journal  # noqa: PLC0415

    if backup is not None and to_time is not None:
        raise InputError("--backup and --to-time: choose one", hint="a backup, or a point in time")
    if region is not None and region not in model.ROLES:
        raise InputError(f"unknown region role {region!r}", hint=f"one of {', '.join(model.ROLES)}")
    target = choose.target(env, outputs, reach_of(world))
    if resume is not None:
        params = dict(Journal(model.paths().state_dir).load(resume, runbook="backup.restore").params)
    else:
        role = region or target.writer()
        when = None if to_time is None else _when(to_time)
        if when is None and backup is None:
            backup = _newest_good(backups.backups_of(target).list(), role).id
        stamp = datetime.fromtimestamp(time.time(), UTC).strftime("%Y%m%d-%H%M%S")
        name = name or f"{target.platform.region(role).db_instance_identifier}-restore-{stamp}"
        if not _NAME.match(name):
            raise InputError(
                f"--name {name!r} is not a valid instance name",
                hint="1-63 lowercase letters, digits and single hyphens, starting with a letter",
            )
        params = {
            "world": target.world.name,
            "region": role,
            "name": name,
            "backup_id": backup,
            "to_time": when,
        }
    ctx = Context(env=env, params=params, world=target, quiet=output is Output.json)
    plan_or_execute(backups.restore_runbook(), ctx, execute=execute, resume=resume, output=output)


def _newest_good(found: list[Backup], role: str) -> Backup:
    good = [b for b in found if b.role == role and b.status == "available" and b.verified != "FAIL"]
    if not good:
        raise InputError(f"no good backup in the {role} region", hint="run `nexus backup run --execute`")
    return max(good, key=lambda b: b.created)


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
