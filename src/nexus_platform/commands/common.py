"""What every command shares: the consoles, the output switch, the environment option."""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Annotated

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
