"""The `nexus` command line: the root command, its groups (one module each in commands/), and the error
handling every command shares (one line on stderr, exit 2 for bad input, 1 otherwise)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from nexus_platform import __version__, errormap, logs
from nexus_platform.commands import backup, db, doctor, infra, sandbox, scale
from nexus_platform.commands import dr as dr_commands
from nexus_platform.commands.common import console, err_console
from nexus_platform.errors import InputError, NexusError

# boto3/botocore and psycopg are imported by the commands that use them: `nexus status` must answer in well
# under a second, and those imports alone cost half of one.

app = typer.Typer(
    help="Nexus Platform: multi-region AWS infrastructure and its operations toolkit.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(sandbox.up)
app.command()(sandbox.down)
app.command()(sandbox.status)
app.command()(doctor.doctor)
app.add_typer(infra.app, name="infra")
app.add_typer(db.app, name="db")
app.add_typer(dr_commands.app, name="dr")
app.add_typer(backup.app, name="backup")
app.add_typer(scale.app, name="scale")


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
