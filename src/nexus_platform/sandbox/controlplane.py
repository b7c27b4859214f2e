"""The sandbox's control plane: the AWS emulator with the real Terraform applied to it.

A second `nexus up` with nothing changed skips Terraform: the last successful apply records a fingerprint of
the Terraform sources and of the emulator process it went into, and while both still match there is nothing
to do. Anything else (an edited .tf file, a restarted emulator) makes Terraform reconcile for real.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nexus_platform import awsapi, logs, model
from nexus_platform.awsapi import EMULATOR_CREDENTIALS
from nexus_platform.errors import NexusError
from nexus_platform.sandbox import tls
from nexus_platform.terraform import cliconfig
from nexus_platform.terraform.runner import ApplyEvent, ApplyResult, Terraform
from nexus_platform.world.local.processes import ProcessManager, ProcessRecord, port_accepts, port_is_free

log = logs.get("sandbox.controlplane")

EMULATOR = "emulator"
ENVIRONMENT = "sandbox"
_TF_SUFFIXES = (".tf", ".tfvars", ".hcl")


@dataclass(frozen=True)
class AppliedRecord:
    fingerprint: str
    emulator_pid: int
    emulator_started_at: float
    resources: int
    seconds: float


@dataclass(frozen=True)
class UpResult:
    applied: bool
    resources: int
    apply_seconds: float
    outputs: dict[str, Any]
    endpoint_url: str


def terraform_fingerprint(paths: model.Paths) -> str:
    """A digest of every Terraform source the sandbox applies (not of state or caches)."""
    digest = hashlib.sha256()
    for base in (paths.terraform_root, paths.terraform_bootstrap, paths.terraform_modules):
        for file in sorted(base.rglob("*")):
            # Parts relative to the Terraform folder: a checkout that itself sits under a folder named tests/
            # must still see its edits.
            parts = file.relative_to(base).parts
            # Not the dependency lock file: the apply's own `terraform init` writes it (it is gitignored;
            # the providers come from versions.tf and the pinned mirror), after this digest was taken.
            if (
                file.suffix in _TF_SUFFIXES
                and file.name != ".terraform.lock.hcl"
                and ".terraform" not in parts
                and "tests" not in parts
            ):
                digest.update(str(file.relative_to(paths.root)).encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()


def _is_data_source(address: str) -> bool:
    """`data.x.y` or `module.m.data.x.y`: read, not managed."""
    return address.startswith("data.") or ".data." in address


class ControlPlane:
    def __init__(self, paths: model.Paths | None = None) -> None:
        self.paths = paths or model.paths()
        self.env = model.environment(ENVIRONMENT)
        self.processes = ProcessManager(self.paths.run_dir, self.paths.log_dir)
        self.state_dir = self.paths.state_dir / "state"
        self.applied_file = self.state_dir / "applied.json"

    # --- emulator ------------------------------------------------------------------------------------
    @property
    def endpoint_url(self) -> str:
        assert self.env.endpoint_url is not None
        return self.env.endpoint_url

    def emulator(self) -> ProcessRecord | None:
        return self.processes.running(EMULATOR)

    def client(self, service: str, region: str) -> Any:
        """A boto3 client for the emulator, verifying its certificate against the sandbox CA."""
        return awsapi.client(service, region, self.endpoint_url, ca_bundle=tls.files(self.paths.tls_dir).ca)

    def ensure_emulator(self) -> tuple[ProcessRecord, bool]:
        """The running emulator, starting one if needed; True when it was started now (empty state)."""
        host, port = self.env.emulator_host, self.env.emulator_port
        running = self.emulator()
        if running is not None:
            return running, False
        if not port_is_free(host, port):
            raise NexusError(
                f"port {host}:{port} is taken by a process this sandbox did not start",
                hint="stop it, or change aws_endpoint_url in sandbox.tfvars and backend/sandbox.hcl",
            )
        argv = [
            sys.executable, "-m", "nexus_platform.sandbox.emulator",
            "--host", host, "--port", str(port), "--tls-dir", str(self.paths.tls_dir),
        ]  # fmt: skip
        record = self.processes.start(EMULATOR, argv, ready=lambda: port_accepts(host, port), timeout=60)
        # Fresh emulator, empty cloud: any state from an earlier emulator describes nothing now.
        shutil.rmtree(self.state_dir, ignore_errors=True)
        return record, True

    # --- terraform -----------------------------------------------------------------------------------
    def _terraform(self, workdir: Path, name: str) -> Terraform:
        config = cliconfig.write(self.paths.tf_cli_config)
        env = {
            **cliconfig.environment(config),
            **{key.upper(): value for key, value in EMULATOR_CREDENTIALS.items()},
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CA_BUNDLE": str(tls.files(self.paths.tls_dir).ca),
            "AWS_DEFAULT_REGION": self.env.region("primary").name,
        }
        return Terraform(workdir, self.paths.tf_data_dir(name), env)

    def root(self) -> Terraform:
        return self._terraform(self.paths.terraform_root, "aws-sandbox")

    def backend_config(self) -> Path:
        return self.paths.terraform_root / "backend" / f"{ENVIRONMENT}.hcl"

    def _bootstrap(self) -> None:
        """Create the state bucket and lock table the root module's S3 backend needs."""
        tf = self._terraform(self.paths.terraform_bootstrap, "bootstrap-sandbox")
        tf.init()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        tf.apply(
            self.paths.terraform_bootstrap / f"{ENVIRONMENT}.tfvars",
            state=self.state_dir / "bootstrap.tfstate",
        )

    def up(self, on_event: Callable[[ApplyEvent], None] | None = None) -> UpResult:
        record, _fresh = self.ensure_emulator()
        fingerprint = terraform_fingerprint(self.paths)
        applied = self.applied_record()
        tf = self.root()
        if (
            applied is not None
            and applied.fingerprint == fingerprint
            and applied.emulator_pid == record.pid
            and applied.emulator_started_at == record.started_at
        ):
            log.info("terraform skipped: nothing changed since the last apply")
            return UpResult(False, applied.resources, 0.0, tf.outputs(), self.endpoint_url)
        started = time.monotonic()
        self._bootstrap()
        tf.init(backend_config=self.backend_config())
        result: ApplyResult = tf.apply(self.paths.tfvars(ENVIRONMENT), on_event=on_event)
        resources = sum(1 for address in tf.state_addresses() if not _is_data_source(address))
        seconds = time.monotonic() - started
        self._write_applied(AppliedRecord(fingerprint, record.pid, record.started_at, resources, seconds))
        log.info("terraform applied", extra={"added": result.added, "changed": result.changed})
        return UpResult(True, resources, seconds, tf.outputs(), self.endpoint_url)

    def down(self) -> bool:
        stopped = self.processes.stop(EMULATOR)
        # The emulator held the resources and the remote state; both are gone with it.
        shutil.rmtree(self.state_dir, ignore_errors=True)
        return stopped

    def applied_record(self) -> AppliedRecord | None:
        try:
            return AppliedRecord(**json.loads(self.applied_file.read_text()))
        except FileNotFoundError:
            return None
        except (json.JSONDecodeError, TypeError):
            log.warning("corrupt applied record ignored; Terraform will reconcile")
            return None

    def _write_applied(self, record: AppliedRecord) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.applied_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(record)))
        tmp.replace(self.applied_file)
