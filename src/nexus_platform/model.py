"""The platform's facts in one place: where things live in the repository, the regions, the sandbox ports.

Terraform keeps its own inputs in tfvars files; where Python needs one of those facts (the emulator endpoint,
the regions) it reads them from the tfvars rather than re-typing them, so the two cannot drift apart.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hcl2.api import load as load_hcl

from nexus_platform.errors import NexusError

ENVIRONMENTS = ("production", "sandbox")
ROLES = ("primary", "dr")


def repo_root() -> Path:
    """The checkout holding terraform/ (NEXUS_HOME overrides, for an installed CLI run elsewhere)."""
    env = os.environ.get("NEXUS_HOME")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "terraform" / "aws").is_dir() and (parent / "pyproject.toml").is_file():
            return parent
    raise NexusError(
        "cannot find the Nexus Platform checkout (no terraform/aws above the package)",
        hint="set NEXUS_HOME to the repository root",
    )


@dataclass(frozen=True)
class Paths:
    """Every path the toolkit reads or writes, derived from the checkout root."""

    root: Path

    @property
    def terraform_root(self) -> Path:
        return self.root / "terraform" / "aws"

    @property
    def terraform_bootstrap(self) -> Path:
        return self.root / "terraform" / "bootstrap"

    @property
    def terraform_modules(self) -> Path:
        return self.root / "terraform" / "modules"

    @property
    def state_dir(self) -> Path:
        """Runtime state of this checkout's sandbox (git-ignored): pid files, logs, Terraform data."""
        override = os.environ.get("NEXUS_STATE_DIR")
        return Path(override).resolve() if override else self.root / ".nexus"

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def tls_dir(self) -> Path:
        """The sandbox CA and the emulator's certificate (kept across sandbox restarts)."""
        return self.state_dir / "tls"

    @property
    def tf_cli_config(self) -> Path:
        return self.state_dir / "terraform.rc"

    def tf_data_dir(self, name: str) -> Path:
        return self.state_dir / "tf" / name

    def tfvars(self, environment: str) -> Path:
        if environment not in ENVIRONMENTS:
            raise NexusError(
                f"unknown environment {environment!r}",
                hint=f"use one of: {', '.join(ENVIRONMENTS)}",
            )
        return self.terraform_root / f"{environment}.tfvars"


def paths() -> Paths:
    return Paths(repo_root())


def load_tfvars(path: Path) -> dict[str, Any]:
    """Parse a tfvars file; a malformed one is a one-line error naming the file."""
    try:
        with path.open() as handle:
            data: dict[str, Any] = load_hcl(handle)
    except FileNotFoundError as exc:
        raise NexusError(f"{path} does not exist") from exc
    except Exception as exc:  # hcl2 raises lark errors of several kinds
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NexusError(f"{path} is not valid HCL: {first}", hint="fix the file and retry") from exc
    return data


@dataclass(frozen=True)
class Region:
    role: str
    name: str


@dataclass(frozen=True)
class EnvironmentModel:
    """What an environment's tfvars say about the platform's shape."""

    name: str
    regions: tuple[Region, ...]
    endpoint_url: str | None
    # "<project>-<environment>": first part of every resource and secret name (terraform/aws/networking.tf).
    name_prefix: str

    def region(self, role: str) -> Region:
        for region in self.regions:
            if region.role == role:
                return region
        raise NexusError(f"unknown region role {role!r}", hint=f"use one of: {', '.join(ROLES)}")

    @property
    def emulator_host(self) -> str:
        return self._endpoint_part("host")

    @property
    def emulator_port(self) -> int:
        return int(self._endpoint_part("port"))

    def _endpoint_part(self, part: str) -> str:
        if not self.endpoint_url:
            raise NexusError(f"environment {self.name!r} has no aws_endpoint_url: it targets real AWS")
        split = urlsplit(self.endpoint_url)
        if not split.hostname or not split.port:
            raise NexusError(
                f"aws_endpoint_url {self.endpoint_url!r} needs a host and a port",
                hint="e.g. http://127.0.0.1:4566",
            )
        return split.hostname if part == "host" else str(split.port)


@cache
def environment(name: str) -> EnvironmentModel:
    data = load_tfvars(paths().tfvars(name))
    required = ["project", "environment", *(f"{role}_region" for role in ROLES)]
    missing = [key for key in required if not data.get(key)]
    if missing:
        raise NexusError(f"{paths().tfvars(name)} does not set {', '.join(missing)}", hint="add them")
    regions = tuple(Region(role=role, name=str(data[f"{role}_region"])) for role in ROLES)
    endpoint = data.get("aws_endpoint_url")
    prefix = f"{data['project']}-{data['environment']}"
    return EnvironmentModel(
        name=name, regions=regions, endpoint_url=str(endpoint) if endpoint else None, name_prefix=prefix
    )
