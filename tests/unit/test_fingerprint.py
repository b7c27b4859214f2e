"""`nexus up` skips Terraform only while nothing changed: the fingerprint of the Terraform sources and the
emulator process it applied into both still match `applied.json`.

Everything runs on a copy of terraform/ in a temporary checkout (`model.Paths(root)`). Two boundaries are
faked, so that neither the real emulator nor a real `terraform apply` ever runs:

* the Terraform runner: `ControlPlane._terraform` returns `FakeTerraform`, which records init/apply calls
  and answers `outputs`/`state list` from memory;
* the emulator's process record: the pid file `ProcessManager` reads (run/emulator.json) is written by the
  test and names a live process whose command line matches (this test process, or a `sleep` child), so
  `ensure_emulator` finds a "running" emulator and never starts one. Starting anything, or probing the
  sandbox's port, fails the test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tests.support import ROOT

from nexus_platform import model
from nexus_platform.sandbox import controlplane
from nexus_platform.sandbox.controlplane import EMULATOR, ControlPlane, terraform_fingerprint
from nexus_platform.world.local.processes import ProcessRecord


def copy_checkout(root: Path) -> model.Paths:
    """terraform/ of this repository (sources only, no provider caches) under `root`."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "terraform", root / "terraform", ignore=shutil.ignore_patterns(".terraform"))
    return model.Paths(root)


def append(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.write(text)


@pytest.fixture
def paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> model.Paths:
    monkeypatch.delenv("NEXUS_STATE_DIR", raising=False)  # state under the copy: <root>/.nexus
    return copy_checkout(tmp_path / "checkout")


# --- the fingerprint's inputs -------------------------------------------------------------------------------

# (file, text appended): each is something Terraform reads for the sandbox apply.
APPLIED_INPUTS = [
    pytest.param("terraform/aws/networking.tf", "\n# edited\n", id="root-module-tf"),
    pytest.param("terraform/aws/sandbox.tfvars", "\nlog_retention_days = 3\n", id="sandbox-tfvars"),
    pytest.param("terraform/aws/backend/sandbox.hcl", "\n# edited\n", id="backend-config"),
    pytest.param("terraform/modules/region/networking.tf", "\n# edited\n", id="module-tf"),
    pytest.param("terraform/bootstrap/main.tf", "\n# edited\n", id="bootstrap-tf"),
    pytest.param("terraform/bootstrap/sandbox.tfvars", "\n# edited\n", id="bootstrap-tfvars"),
    pytest.param("terraform/aws/extra.tf", 'locals { extra = "new file" }\n', id="new-tf-file"),
]

# Files Terraform does not apply: its test suites and mock data, its data dirs, and non-Terraform files.
IGNORED_INPUTS = [
    pytest.param("terraform/aws/tests/production.tftest.hcl", "\n# edited\n", id="tests-tftest"),
    pytest.param("terraform/aws/tests/terraform.tfvars", "\n# edited\n", id="tests-tfvars"),
    pytest.param("terraform/bootstrap/tests/new.tftest.hcl", "# new\n", id="bootstrap-tests"),
    pytest.param("terraform/aws/.terraform/modules/region/main.tf", "# cached\n", id="dot-terraform"),
    pytest.param("terraform/modules/region/.terraform/x.hcl", "# cached\n", id="module-dot-terraform"),
    pytest.param("terraform/aws/terraform.tfstate", "{}\n", id="local-state"),
    pytest.param("terraform/aws/NOTES.md", "notes\n", id="markdown"),
    # Written by the apply's own `terraform init` (gitignored): on a fresh clone the first `up` creates it
    # after the fingerprint was taken, and the second `up` applied everything again.
    pytest.param("terraform/aws/.terraform.lock.hcl", "# provider hashes\n", id="dependency-lock"),
    pytest.param("terraform/bootstrap/.terraform.lock.hcl", "# provider hashes\n", id="bootstrap-lock"),
]


def test_the_fingerprint_is_stable_and_does_not_depend_on_where_the_checkout_is(tmp_path: Path) -> None:
    first = copy_checkout(tmp_path / "a")
    second = copy_checkout(tmp_path / "elsewhere" / "b")
    assert terraform_fingerprint(first) == terraform_fingerprint(first)
    assert terraform_fingerprint(first) == terraform_fingerprint(second)


@pytest.mark.parametrize(("relative", "text"), APPLIED_INPUTS)
def test_an_edit_terraform_applies_changes_the_fingerprint(
    paths: model.Paths, relative: str, text: str
) -> None:
    before = terraform_fingerprint(paths)
    append(paths.root / relative, text)
    assert terraform_fingerprint(paths) != before


def test_a_renamed_tf_file_changes_the_fingerprint(paths: model.Paths) -> None:
    before = terraform_fingerprint(paths)
    source = paths.terraform_root / "cache.tf"
    source.rename(source.with_name("zz_cache.tf"))
    assert terraform_fingerprint(paths) != before


def test_a_deleted_module_file_changes_the_fingerprint(paths: model.Paths) -> None:
    before = terraform_fingerprint(paths)
    (paths.terraform_modules / "region" / "logging.tf").unlink()
    assert terraform_fingerprint(paths) != before


@pytest.mark.parametrize(("relative", "text"), IGNORED_INPUTS)
def test_files_terraform_does_not_apply_leave_the_fingerprint_alone(
    paths: model.Paths, relative: str, text: str
) -> None:
    before = terraform_fingerprint(paths)
    append(paths.root / relative, text)
    assert terraform_fingerprint(paths) == before


def test_a_checkout_inside_a_folder_named_tests_still_sees_edits(tmp_path: Path) -> None:
    paths = copy_checkout(tmp_path / "tests" / "checkout")
    before = terraform_fingerprint(paths)
    append(paths.terraform_root / "networking.tf", "\n# edited\n")
    assert terraform_fingerprint(paths) != before


# --- ControlPlane.up's skip decision ------------------------------------------------------------------------


@dataclass
class FakeTerraform:
    """Stands in for `nexus_platform.terraform.runner.Terraform`: no subprocess, calls recorded."""

    calls: list[tuple[str, str]] = field(default_factory=list)
    addresses: list[str] = field(
        default_factory=lambda: [
            "aws_vpc.a",
            "data.aws_region.current",
            "module.primary.aws_subnet.private",
            "module.primary.data.aws_caller_identity.me",
        ]
    )

    def init(self, **_kwargs: Any) -> None:
        self.calls.append(("init", ""))

    def apply(self, var_file: Path | None = None, **_kwargs: Any) -> Any:
        self.calls.append(("apply", str(var_file)))
        return controlplane.ApplyResult(added=2)

    def outputs(self, state: Path | None = None) -> dict[str, Any]:
        return {"fake": True}

    def state_addresses(self, state: Path | None = None) -> list[str]:
        return list(self.addresses)

    def applies(self) -> list[str]:
        return [target for call, target in self.calls if call == "apply"]


def _cmdline(pid: int) -> list[str]:
    return [part.decode() for part in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if part]


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A live process that is not this one: an emulator 'restarted' under another pid."""
    proc = subprocess.Popen(["sleep", "120"])
    try:
        deadline = time.monotonic() + 10
        while _cmdline(proc.pid) != ["sleep", "120"] and time.monotonic() < deadline:
            time.sleep(0.02)
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=10)


@dataclass
class Sandbox:
    plane: ControlPlane
    terraform: FakeTerraform

    def emulator_is(self, pid: int, started_at: float) -> ProcessRecord:
        """Write the emulator's pid file as ProcessManager.start would, for a live process `pid`."""
        record = ProcessRecord(EMULATOR, pid, _cmdline(pid), started_at, "emulator.log")
        self.plane.paths.run_dir.mkdir(parents=True, exist_ok=True)
        (self.plane.paths.run_dir / f"{EMULATOR}.json").write_text(json.dumps(asdict(record)))
        assert self.plane.emulator() == record
        return record

    def up(self) -> controlplane.UpResult:
        return self.plane.up()


@pytest.fixture
def sandbox(paths: model.Paths, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    plane = ControlPlane(paths)
    fake = FakeTerraform()
    monkeypatch.setattr(plane, "_terraform", lambda workdir, name: fake)

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the test must never start the emulator or probe the sandbox's port")

    monkeypatch.setattr(plane.processes, "start", forbidden)
    monkeypatch.setattr(controlplane, "port_is_free", forbidden)
    box = Sandbox(plane, fake)
    box.emulator_is(os.getpid(), 1000.0)
    return box


def test_the_first_up_applies_and_records_what_it_applied_into(sandbox: Sandbox) -> None:
    result = sandbox.up()
    assert result.applied is True
    paths = sandbox.plane.paths
    assert sandbox.terraform.applies() == [
        str(paths.terraform_bootstrap / "sandbox.tfvars"),
        str(paths.tfvars("sandbox")),
    ]
    assert result.resources == 2  # data sources are read, not managed
    record = sandbox.plane.applied_record()
    assert record is not None
    assert record.fingerprint == terraform_fingerprint(paths)
    assert (record.emulator_pid, record.emulator_started_at) == (os.getpid(), 1000.0)


def test_an_unchanged_up_skips_terraform(sandbox: Sandbox) -> None:
    sandbox.up()
    calls = len(sandbox.terraform.calls)
    again = sandbox.up()
    assert again.applied is False
    assert sandbox.terraform.calls[calls:] == []
    assert (again.resources, again.apply_seconds, again.outputs) == (2, 0.0, {"fake": True})


def test_an_edit_under_tests_still_skips(sandbox: Sandbox) -> None:
    sandbox.up()
    append(sandbox.plane.paths.terraform_root / "tests" / "production.tftest.hcl", "\n# edited\n")
    assert sandbox.up().applied is False


@pytest.mark.parametrize(("relative", "text"), APPLIED_INPUTS)
def test_an_edited_terraform_input_makes_up_apply_again(sandbox: Sandbox, relative: str, text: str) -> None:
    sandbox.up()
    append(sandbox.plane.paths.root / relative, text)
    calls = len(sandbox.terraform.calls)
    assert sandbox.up().applied is True
    assert str(sandbox.plane.paths.tfvars("sandbox")) in [t for c, t in sandbox.terraform.calls[calls:]]
    assert sandbox.up().applied is False  # and the new fingerprint was recorded


def test_an_emulator_restarted_under_another_pid_makes_up_apply_again(
    sandbox: Sandbox, sleeper: subprocess.Popen[bytes]
) -> None:
    sandbox.up()
    sandbox.emulator_is(sleeper.pid, 1000.0)
    assert sandbox.up().applied is True
    record = sandbox.plane.applied_record()
    assert record is not None and record.emulator_pid == sleeper.pid
    assert sandbox.up().applied is False


def test_a_stopped_emulator_is_started_empty_and_up_applies_again(
    sandbox: Sandbox, sleeper: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The emulator died (its pid file names nothing alive): up starts a new one, which holds nothing."""
    sandbox.up()
    (sandbox.plane.paths.run_dir / f"{EMULATOR}.json").unlink()
    started: list[list[str]] = []

    def start(name: str, argv: list[str], **_kwargs: Any) -> ProcessRecord:
        started.append(argv)
        return sandbox.emulator_is(sleeper.pid, 3000.0)  # the "new emulator", faked

    monkeypatch.setattr(sandbox.plane.processes, "start", start)
    monkeypatch.setattr(controlplane, "port_is_free", lambda host, port: True)
    assert sandbox.up().applied is True
    assert len(started) == 1 and "nexus_platform.sandbox.emulator" in started[0]
    assert sandbox.up().applied is False


def test_an_emulator_started_at_another_time_makes_up_apply_again(sandbox: Sandbox) -> None:
    """Same pid, other start time: a reused pid is another (empty) emulator."""
    sandbox.up()
    sandbox.emulator_is(os.getpid(), 2000.0)
    assert sandbox.up().applied is True
    assert sandbox.up().applied is False


def test_a_corrupt_or_missing_applied_record_makes_up_apply(sandbox: Sandbox) -> None:
    sandbox.up()
    sandbox.plane.applied_file.write_text("{not json")
    assert sandbox.up().applied is True
    sandbox.plane.applied_file.unlink()
    assert sandbox.up().applied is True
    assert sandbox.up().applied is False
