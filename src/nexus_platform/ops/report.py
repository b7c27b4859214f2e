"""What a dry run and a run hand back, and the two ways the CLI shows them: a rich table and JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.table import Table

from nexus_platform.ops.step import Call


@dataclass(frozen=True)
class CheckResult:
    """A precondition evaluated: `reason` says why it does not hold (empty when it does)."""

    name: str
    ok: bool
    reason: str = ""
    hint: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "reason": self.reason, "hint": self.hint}


@dataclass(frozen=True)
class PlannedStep:
    name: str
    description: str
    reversible: bool
    calls: tuple[Call, ...]
    preconditions: tuple[CheckResult, ...]
    # None: the step has no `done` check; an error asking the world is in `error`.
    done: bool | None
    error: str | None = None


@dataclass(frozen=True)
class Plan:
    run_id: str
    runbook: str
    description: str
    env: str
    params: Mapping[str, Any]
    steps: tuple[PlannedStep, ...]

    @property
    def failing(self) -> list[tuple[str, CheckResult]]:
        """(step, precondition) pairs that do not hold now; a step already done needs none of its own."""
        return [
            (step.name, check)
            for step in self.steps
            if not step.done
            for check in step.preconditions
            if not check.ok
        ]


@dataclass(frozen=True)
class StepReport:
    name: str
    status: str
    started: datetime | None = None
    ended: datetime | None = None
    duration: float | None = None
    result: Mapping[str, Any] | None = None
    error: str | None = None
    forced: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class RunReport:
    run_id: str
    runbook: str
    env: str
    outcome: str
    started: datetime
    ended: datetime
    steps: tuple[StepReport, ...]
    journal: Path
    resumed: bool = False
    forced: tuple[Mapping[str, Any], ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)  # the run's (journaled, on a resume)

    @property
    def duration(self) -> float:
        return (self.ended - self.started).total_seconds()


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "run_id": plan.run_id,
        "runbook": plan.runbook,
        "env": plan.env,
        "params": dict(plan.params),
        "steps": [
            {
                "name": step.name,
                "description": step.description,
                "reversible": step.reversible,
                "calls": [call.as_json() for call in step.calls],
                "preconditions": [check.as_json() for check in step.preconditions],
                "done": step.done,
                "error": step.error,
            }
            for step in plan.steps
        ],
    }


def render_plan(plan: Plan) -> Table:
    table = Table(title=f"{plan.runbook} on {plan.env}: dry run (nothing changed)", title_justify="left")
    for column in ("step", "calls", "preconditions (now)", "already done"):
        table.add_column(column, overflow="fold")
    for number, step in enumerate(plan.steps, start=1):
        checks = "\n".join(
            f"PASS {check.name}" if check.ok else f"FAIL {check.name}: {check.reason}"
            for check in step.preconditions
        )
        done = "n/a" if step.done is None else ("yes" if step.done else "no")
        label = f"{number}. {step.name}{'' if step.reversible else ' (irreversible)'}\n{step.description}"
        calls = "\n".join(call.describe() for call in step.calls) or "-"
        table.add_row(label, calls, checks or "-", done if step.error is None else f"? {step.error}")
    return table


def _when(value: datetime | None) -> str | None:
    return value.isoformat(timespec="milliseconds") if value else None


def report_json(report: RunReport) -> dict[str, Any]:
    return {
        "run_id": report.run_id,
        "runbook": report.runbook,
        "env": report.env,
        "outcome": report.outcome,
        "resumed": report.resumed,
        "started": _when(report.started),
        "ended": _when(report.ended),
        "duration": round(report.duration, 3),
        "journal": str(report.journal),
        "forced": [dict(item) for item in report.forced],
        "steps": [
            {
                "name": step.name,
                "status": step.status,
                "started": _when(step.started),
                "ended": _when(step.ended),
                "duration": None if step.duration is None else round(step.duration, 3),
                "result": None if step.result is None else dict(step.result),
                "error": step.error,
            }
            for step in report.steps
        ],
    }


def render_report(report: RunReport) -> Table:
    table = Table(
        title=f"{report.runbook} on {report.env}: {report.outcome} in {report.duration:.1f}s "
        f"(run {report.run_id})",
        title_justify="left",
    )
    for column in ("step", "status", "start", "end", "duration"):
        table.add_column(column)
    for step in report.steps:
        table.add_row(
            step.name,
            step.status if not step.forced else f"{step.status} (forced)",
            f"{step.started:%H:%M:%S.%f}"[:-3] if step.started else "-",
            f"{step.ended:%H:%M:%S.%f}"[:-3] if step.ended else "-",
            "-" if step.duration is None else f"{step.duration:.1f}s",
        )
    return table
