"""The sandbox's facts that Terraform and Python both read must agree (one endpoint, one state backend)."""

from __future__ import annotations

from typing import Any

from nexus_platform import model


def test_state_backend_and_bootstrap_agree() -> None:
    paths = model.paths()
    backend = model.load_tfvars(paths.terraform_root / "backend" / "sandbox.hcl")
    bootstrap = model.load_tfvars(paths.terraform_bootstrap / "sandbox.tfvars")
    assert backend["bucket"] == bootstrap["state_bucket_name"]
    assert backend["dynamodb_table"] == bootstrap["lock_table_name"]


def test_every_sandbox_endpoint_is_the_emulator() -> None:
    paths = model.paths()
    endpoint = model.environment("sandbox").endpoint_url
    backend = model.load_tfvars(paths.terraform_root / "backend" / "sandbox.hcl")
    bootstrap = model.load_tfvars(paths.terraform_bootstrap / "sandbox.tfvars")
    assert bootstrap["aws_endpoint_url"] == endpoint
    assert set(backend["endpoints"].values()) == {endpoint}


def test_production_backend_matches_versions_tf() -> None:
    paths = model.paths()
    production = model.load_tfvars(paths.terraform_root / "backend" / "production.hcl")
    versions = model.load_tfvars(paths.terraform_root / "versions.tf")
    backend = versions["terraform"][0]["backend"][0]["s3"]
    for key in ("bucket", "key", "region", "dynamodb_table"):
        assert backend[key] == production[key], key


def test_the_edge_takes_its_health_check_from_terraform_only(tmp_path: Any) -> None:
    """The edge's checks are Route 53's (Terraform's health_check output): taken from it, never a fallback."""
    import pytest  # noqa: PLC0415

    from nexus_platform.errors import NexusError  # noqa: PLC0415
    from nexus_platform.sandbox.dataplane import DataPlane  # noqa: PLC0415

    plane = DataPlane(model.Paths(tmp_path), model.sandbox_config(), model.environment("sandbox"))
    spec = plane.edge_spec({"failure_threshold": 4, "path": "/ready", "request_interval": 10})
    assert (spec.health.fall, spec.health.rise, spec.health.path) == (4, 4, "/ready")
    with pytest.raises(NexusError, match="lacks failure_threshold or path"):
        plane.edge_spec({"path": "/readyz"})
