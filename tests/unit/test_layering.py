"""The toolkit's layers: the runbook engine (ops/), the runbooks and the worlds never import the sandbox's
orchestration or the CLI, and only connect.py picks a world by environment. Read from the source (every
import, also the ones inside functions), so a new shortcut fails here."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support import ROOT

PACKAGE = ROOT / "src" / "nexus_platform"
LOWER = ("ops", "runbooks", "world")
UPPER = ("nexus_platform.sandbox", "nexus_platform.cli", "nexus_platform.commands", "nexus_platform.connect")


def imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
    return found


def test_the_engine_the_runbooks_and_the_worlds_import_nothing_above_them() -> None:
    wrong = {
        f"{path.relative_to(PACKAGE)}: {name}"
        for layer in LOWER
        for path in (PACKAGE / layer).rglob("*.py")
        for name in imports(path)
        if name.startswith(UPPER)
    }
    assert not wrong, sorted(wrong)


def test_only_connect_tells_environments_apart_by_name() -> None:
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name not in ("connect.py", "model.py")
        and ('== "sandbox"' in path.read_text() or '!= "sandbox"' in path.read_text())
    ]
    assert not offenders, f"ask connect.emulated(env) instead: {offenders}"


def test_the_platform_model_does_not_reach_into_the_sandbox() -> None:
    """platform.py reads Terraform outputs; the sandbox's applied state is connect.platform_of's to read."""
    wrong = [name for name in imports(PACKAGE / "platform.py") if name.startswith(UPPER)]
    assert not wrong, wrong


def test_the_cli_is_thin() -> None:
    """One module per command group, none much over 300 lines: logic goes to runbooks/, world/ or sandbox/."""
    modules = [PACKAGE / "cli.py", *(PACKAGE / "commands").glob("*.py")]
    sizes = {path.name: len(path.read_text().splitlines()) for path in modules}
    assert all(size <= 330 for size in sizes.values()), sizes
    assert not [name for path in modules for name in imports(path) if name.startswith(("boto3", "botocore"))]


def test_one_copy_of_the_local_postgresql_discovery() -> None:
    """Finding PostgreSQL's binaries and running them as the postgres user lives in nexus-api's localservers;
    the sandbox's PostgreSQL uses it (the platform runs that package's service anyway)."""
    sources = [*PACKAGE.rglob("*.py"), *(ROOT / "services" / "nexus-api" / "src").rglob("*.py")]
    holders = [path.name for path in sources if '"/usr/lib/postgresql"' in path.read_text()]
    assert holders == ["localservers.py"], holders
