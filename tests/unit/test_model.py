from __future__ import annotations

from pathlib import Path

import pytest

from nexus_platform import model
from nexus_platform.errors import NexusError


def test_unknown_environment_is_a_clear_error() -> None:
    with pytest.raises(NexusError, match="unknown environment 'staging'"):
        model.paths().tfvars("staging")


def test_malformed_tfvars_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tfvars"
    bad.write_text('primary_region = "us-east-1\nvpc = {\n')
    with pytest.raises(NexusError) as caught:
        model.load_tfvars(bad)
    assert "is not valid HCL" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_sandbox_model_comes_from_its_tfvars() -> None:
    sandbox = model.environment("sandbox")
    assert sandbox.region("primary").name != sandbox.region("dr").name
    assert sandbox.emulator_host == "127.0.0.1"
    assert 1024 < sandbox.emulator_port < 65536
    with pytest.raises(NexusError, match="unknown region role"):
        sandbox.region("tertiary")


def test_production_targets_real_aws() -> None:
    production = model.environment("production")
    assert production.endpoint_url is None
    assert [region.name for region in production.regions] == ["us-east-1", "eu-west-1"]
    with pytest.raises(NexusError, match="targets real AWS"):
        _ = production.emulator_port
