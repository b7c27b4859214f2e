"""Fixtures shared by the unit suites."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from nexus_platform.sandbox.emulator_patches import apply_all


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in-process, with the emulator's patches applied and dummy credentials."""
    for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}.items():
        monkeypatch.setenv(name, value)
    apply_all()
    with mock_aws():
        yield
