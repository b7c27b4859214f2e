"""Every `nexus ...` command an operator is told to run exists: the ones named in the runbooks
(docs/runbooks/*.md, in code), in the alert annotations (monitoring/rules/*.yaml) and in the CLI's own hints
and messages (src/, in `backquotes` or "(nexus ...)") answer `--help` with exit 0.

Commands the open operations issues will add are listed in PENDING. A pending command must still be missing
(its `--help` fails) and still be named somewhere: when one lands, or a runbook stops naming it, this test
fails until the entry is removed, so the list only shrinks.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict
from functools import cache
from typing import Any

import click
import pytest
import typer
import yaml
from tests.support import ROOT

from nexus_platform import cli

RUNBOOKS = ROOT / "docs" / "runbooks"
RULES = ROOT / "monitoring" / "rules"
SOURCES = ROOT / "src" / "nexus_platform"
# In the code: a command quoted for the operator, `nexus dr status` or "(nexus status)".
_SOURCE_MENTION = re.compile(r"`(nexus [^`\n]+)`|\((nexus [a-z][^)\n]*)\)")
CLI = [sys.executable, "-c", "from nexus_platform.cli import main; main()"]

# Named by the runbooks, not implemented yet (the DR drill, backup and scaling issues add them).
PENDING: set[str] = set()  # empty: every command the runbooks and alerts name exists

# `nexus` as a command word: not part of a longer name (nexus-api, nexus_ops_..., .../nexus-platform) and not
# kubectl's namespace argument (`kubectl -n nexus get pods`). Then up to two command words.
_COMMAND = re.compile(
    r"(?<![\w./=-])(?<!-n )(?<!--namespace )nexus((?: [a-z][a-z0-9-]*){1,2})(?![\w-])",
)
_CODE_SPAN = re.compile(r"`([^`\n]+)`")


@cache
def _top_level() -> dict[str, click.Command]:
    group = typer.main.get_command(cli.app)
    assert isinstance(group, click.Group)
    return dict(group.commands)


def commands_in(text: str) -> list[str]:
    """The `nexus` commands named in `text` as "<group> <command>" (or "<command>" for a top-level one)."""
    found = []
    for match in _COMMAND.finditer(text):
        words = match.group(1).split()
        top = _top_level().get(words[0])
        if top is not None and not isinstance(top, click.Group):
            words = words[:1]  # `nexus up --mode sync`, `nexus status then ...`
        found.append(" ".join(words))
    return found


def markdown_code(text: str) -> list[tuple[int, str]]:
    """(line number, code) of the inline code spans and fenced code blocks of a Markdown page (prose is not
    scanned: "the nexus namespace" is not a command)."""
    code, fenced = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif fenced:
            code.append((number, line))
        else:
            code.extend((number, span) for span in _CODE_SPAN.findall(line))
    return code


def _annotations(node: Any) -> list[str]:
    texts: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "annotations" and isinstance(value, dict):
                texts.extend(str(v) for v in value.values())
            else:
                texts.extend(_annotations(value))
    elif isinstance(node, list):
        for item in node:
            texts.extend(_annotations(item))
    return texts


@cache
def named_commands() -> dict[str, list[str]]:
    """command -> where it is named (file, or file:line for runbooks)."""
    where: dict[str, list[str]] = defaultdict(list)
    for page in sorted(RUNBOOKS.glob("*.md")):
        for number, code in markdown_code(page.read_text()):
            for command in commands_in(code):
                where[command].append(f"{page.relative_to(ROOT)}:{number}")
    for rules in sorted(RULES.glob("*.yaml")):
        for text in _annotations(yaml.safe_load(rules.read_text())):
            for command in commands_in(text):
                where[command].append(f"{rules.relative_to(ROOT)} (annotation)")
    for source in sorted(SOURCES.rglob("*.py")):
        for number, line in enumerate(source.read_text().splitlines(), start=1):
            for match in _SOURCE_MENTION.finditer(line):
                for command in commands_in(match.group(1) or match.group(2)):
                    where[command].append(f"{source.relative_to(ROOT)}:{number}")
    return dict(where)


def help_of(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *command.split(), "--help"], capture_output=True, text=True, timeout=120, check=False, cwd=ROOT
    )


# --- the collector itself -----------------------------------------------------------------------------------


def test_the_collector_finds_commands_and_only_commands() -> None:
    text = (
        "run `nexus dr failover --execute`, `nexus backup list --region <region>` or `nexus up --mode sync`; "
        "(nexus infra drift). Not: `kubectl -n nexus get pods`, `kubectl --namespace nexus logs x`, "
        "nexus_api_read_only, nexus-api, nexus_ops_backup, https://x/nexus-platform/nexus-platform"
    )
    assert commands_in(text) == ["dr failover", "backup list", "up", "infra drift"]
    page = "The nexus platform.\n```\n$ nexus db app-role --env production\n```\nthen `nexus status`\n"
    found = [(number, cmd) for number, code in markdown_code(page) for cmd in commands_in(code)]
    assert found == [(3, "db app-role"), (5, "status")]


def test_the_runbooks_and_alerts_name_commands() -> None:
    named = named_commands()
    assert "infra drift" in named, named  # docs/runbooks/GlobalEndpointDown.md
    assert any("(annotation)" in place for places in named.values() for place in places), named
    assert any(place.startswith("src/") for places in named.values() for place in places), named


# --- the commands -------------------------------------------------------------------------------------------


def _existing() -> list[str]:
    return sorted(set(named_commands()) - PENDING)


@pytest.mark.parametrize("command", _existing())
def test_a_named_command_exists(command: str) -> None:
    result = help_of(command)
    assert result.returncode == 0, (
        f"`nexus {command}` is named in {', '.join(named_commands()[command])} but `--help` exits "
        f"{result.returncode}: {result.stderr.strip()[-500:]}"
    )


@pytest.mark.parametrize("command", sorted(PENDING))
def test_a_pending_command_is_still_pending(command: str) -> None:
    assert command in named_commands(), (
        f"`nexus {command}` is no longer named in docs/runbooks or alert annotations: remove it from PENDING"
    )
    result = help_of(command)
    assert result.returncode != 0, f"`nexus {command}` exists now: remove it from PENDING in {__file__}"
