"""Helpers shared by the test suites: a free loopback port, and the Terraform facts tests hold things against
(read through the model's loader or evaluated by Terraform itself, never re-typed)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from nexus_platform import model
from nexus_platform.world.local.processes import free_port

__all__ = ["ROOT", "free_port"]

ROOT = Path(__file__).resolve().parents[1]


def tfvars(environment: str) -> dict[str, Any]:
    """terraform/aws/<environment>.tfvars as Terraform reads it (HCL, through `model.load_tfvars`)."""
    return model.load_tfvars(model.paths().tfvars(environment))


# The files that define `local.address_plan` (terraform/aws/networking.tf) and the variables it reads.
_ADDRESS_PLAN_FILES = ("networking.tf", "variables.tf")


@cache
def address_plan(environment: str) -> dict[str, Any]:
    """Terraform's own `local.address_plan` for an environment (what the root module's `address_plan` output
    shows): {role: {"vpc_cidr": ..., "subnets": {az: {"public": cidr, "private": cidr}}}}.

    Evaluated by `terraform console` on a copy of the two files that define it, so no provider, state or
    network is needed.
    """
    terraform = shutil.which("terraform")
    assert terraform, "terraform is missing: install it (see the Makefile's tools check)"
    with tempfile.TemporaryDirectory(prefix="nexus-address-plan-") as tmp:
        for name in _ADDRESS_PLAN_FILES:
            shutil.copy(model.paths().terraform_root / name, Path(tmp) / name)
        env = {key: value for key, value in os.environ.items() if not key.startswith(("TF_", "AWS_"))}
        result = subprocess.run(
            [terraform, "console", f"-var-file={model.paths().tfvars(environment)}"],
            input="jsonencode(local.address_plan)\n",
            cwd=tmp,
            env={**env, "TF_DATA_DIR": str(Path(tmp) / ".terraform"), "TF_IN_AUTOMATION": "1"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    plan: dict[str, Any] = json.loads(json.loads(result.stdout))
    return plan


def private_subnets(environment: str, role: str) -> list[str]:
    """The private subnet CIDRs of one region, by availability zone name."""
    subnets = address_plan(environment)[role]["subnets"]
    return [subnets[az]["private"] for az in sorted(subnets)]
