"""yamllint over the observability YAML (config: monitoring/.yamllint)."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.monitoring import obslib


def test_yamllint_is_clean() -> None:
    yamllint = Path(sys.executable).parent / "yamllint"
    assert yamllint.exists(), "yamllint is missing from the venv (pip install yamllint==1.38.0)"
    result = obslib.run(
        str(yamllint), "--strict", "-c", "monitoring/.yamllint", "monitoring", "logging", cwd=obslib.ROOT
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_yamllint_sees_the_files() -> None:
    files = list((obslib.ROOT / "monitoring").rglob("*.yaml")) + list(
        (obslib.ROOT / "logging").rglob("*.yaml")
    )
    assert len(files) >= 15
