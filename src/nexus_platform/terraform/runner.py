"""Terraform as a subprocess: machine-readable output in, progress and one-line errors out."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexus_platform import logs
from nexus_platform.errors import NexusError

log = logs.get("terraform")

ProgressHook = Callable[["ApplyEvent"], None]


@dataclass(frozen=True)
class ApplyEvent:
    """One step of an apply, as Terraform's -json stream reports it."""

    kind: str  # planned | start | complete | errored | summary
    address: str = ""
    action: str = ""
    elapsed: float = 0.0
    planned: int = 0


@dataclass
class Change:
    address: str
    action: str


@dataclass
class PlanResult:
    changes: list[Change] = field(default_factory=list)

    @property
    def pending(self) -> list[Change]:
        return [change for change in self.changes if change.action not in ("noop", "read")]


@dataclass
class ApplyResult:
    added: int = 0
    changed: int = 0
    removed: int = 0
    seconds: float = 0.0


class TerraformError(NexusError):
    """Terraform failed; the message carries its first error diagnostic."""


class Terraform:
    """One working directory (a root module) with its own data dir and state."""

    def __init__(self, workdir: Path, data_dir: Path, env: Mapping[str, str]) -> None:
        self.workdir = workdir
        self.data_dir = data_dir
        self.env = {**os.environ, **env, "TF_DATA_DIR": str(data_dir)}
        self.last_exit_code = 0

    # --- plumbing -------------------------------------------------------------------------------------
    def _run(self, args: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        log.info("terraform", extra={"args": list(args), "workdir": str(self.workdir)})
        try:
            proc = subprocess.run(
                ["terraform", *args],
                cwd=self.workdir,
                env=self.env,
                text=True,
                capture_output=True,
                check=False,
            )
        except FileNotFoundError as exc:
            raise NexusError("terraform is not on the PATH", hint="install Terraform >= 1.5") from exc
        if check and proc.returncode != 0:
            raise TerraformError(f"terraform {args[0]} failed: {_first_error(proc.stderr + proc.stdout)}")
        return proc

    def _stream(self, args: Sequence[str]) -> Iterator[dict[str, Any]]:
        """Yield Terraform's -json messages; raise with the first error diagnostic on failure."""
        proc = subprocess.Popen(
            ["terraform", *args],
            cwd=self.workdir,
            env=self.env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None
        errors: list[str] = []
        try:
            for line in proc.stdout:
                try:
                    message = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if message.get("type") == "diagnostic" and message["diagnostic"].get("severity") == "error":
                    errors.append(_describe(message["diagnostic"]))
                yield message
        finally:
            stderr = proc.stderr.read() if proc.stderr else ""
            code = proc.wait()
        if code not in (0, 2):
            detail = errors[0] if errors else _first_error(stderr)
            more = f" (+{len(errors) - 1} more errors)" if len(errors) > 1 else ""
            raise TerraformError(f"terraform {args[0]} failed: {detail}{more}")
        self.last_exit_code = code

    # --- commands ------------------------------------------------------------------------------------
    def init(self, *, backend: bool = True, backend_config: Path | None = None) -> None:
        args = ["init", "-input=false", "-no-color"]
        if not backend:
            args.append("-backend=false")
        elif backend_config is not None:
            args += ["-reconfigure", f"-backend-config={backend_config}"]
        self._run(args)

    def apply(
        self,
        var_file: Path | None = None,
        *,
        variables: Mapping[str, str] | None = None,
        parallelism: int = 20,
        state: Path | None = None,
        on_event: ProgressHook | None = None,
    ) -> ApplyResult:
        args = ["apply", "-auto-approve", "-json", "-input=false", f"-parallelism={parallelism}"]
        args += _var_args(var_file, variables, state)
        result = ApplyResult()
        started = time.monotonic()
        planned = 0
        for message in self._stream(args):
            kind = message.get("type")
            hook = message.get("hook", {})
            address = hook.get("resource", {}).get("addr", "")
            if kind == "planned_change" and message["change"]["action"] not in ("noop", "read"):
                planned += 1
                _emit(on_event, ApplyEvent("planned", message["change"]["resource"]["addr"], planned=planned))
            elif kind == "apply_start":
                _emit(on_event, ApplyEvent("start", address, hook.get("action", ""), planned=planned))
            elif kind == "apply_complete":
                elapsed = float(hook.get("elapsed_seconds", 0))
                _emit(on_event, ApplyEvent("complete", address, hook.get("action", ""), elapsed, planned))
            elif kind == "apply_errored":
                _emit(on_event, ApplyEvent("errored", address, hook.get("action", ""), planned=planned))
            elif kind == "change_summary" and message["changes"].get("operation") == "apply":
                changes = message["changes"]
                result.added, result.changed, result.removed = (
                    changes["add"],
                    changes["change"],
                    changes["remove"],
                )
        result.seconds = time.monotonic() - started
        return result

    def plan(
        self,
        var_file: Path | None = None,
        *,
        variables: Mapping[str, str] | None = None,
        state: Path | None = None,
        refresh: bool = True,
    ) -> PlanResult:
        args = ["plan", "-json", "-input=false", "-detailed-exitcode", "-lock=false"]
        if not refresh:
            args.append("-refresh=false")
        args += _var_args(var_file, variables, state)
        result = PlanResult()
        for message in self._stream(args):
            if message.get("type") == "planned_change":
                change = message["change"]
                result.changes.append(Change(change["resource"]["addr"], change["action"]))
        return result

    def outputs(self, state: Path | None = None) -> dict[str, Any]:
        args = ["output", "-json"] + ([f"-state={state}"] if state else [])
        proc = self._run(args)
        raw: dict[str, Any] = json.loads(proc.stdout or "{}")
        return {name: item.get("value") for name, item in raw.items()}

    def state_addresses(self, state: Path | None = None) -> list[str]:
        args = ["state", "list"] + ([f"-state={state}"] if state else [])
        proc = self._run(args, check=False)
        return [line for line in proc.stdout.splitlines() if line.strip()] if proc.returncode == 0 else []


def _var_args(var_file: Path | None, variables: Mapping[str, str] | None, state: Path | None) -> list[str]:
    args = [f"-var-file={var_file}"] if var_file else []
    args += [f"-var={key}={value}" for key, value in (variables or {}).items()]
    if state is not None:
        args.append(f"-state={state}")
    return args


def _emit(hook: ProgressHook | None, event: ApplyEvent) -> None:
    if hook is not None:
        hook(event)


def _describe(diagnostic: Mapping[str, Any]) -> str:
    summary = str(diagnostic.get("summary", "error")).strip()
    detail = " ".join(str(diagnostic.get("detail", "")).split())
    address = diagnostic.get("address")
    text = f"{address}: {summary}" if address else summary
    return f"{text}: {detail[:300]}" if detail else text


def _first_error(output: str) -> str:
    lines = [line.strip(" │╷╵\t") for line in output.splitlines()]
    lines = [line for line in lines if line]
    for index, line in enumerate(lines):
        if line.startswith("Error:"):
            follow = " ".join(lines[index + 1 : index + 3])
            return f"{line[len('Error:') :].strip()}{': ' + follow[:300] if follow else ''}"
    return lines[-1][:300] if lines else "no output"
