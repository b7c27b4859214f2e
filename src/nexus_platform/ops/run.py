"""Dry runs (plans) and journaled, resumable runs of a runbook, one at a time per environment."""

from __future__ import annotations

import functools
import getpass
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from nexus_platform import audit
from nexus_platform.errors import NexusError
from nexus_platform.ops.context import Context
from nexus_platform.ops.journal import (
    Journal,
    JournalWriter,
    RunState,
    StepRecord,
    StepState,
    new_run_id,
    now,
)
from nexus_platform.ops.lock import EnvLock
from nexus_platform.ops.parallel import side_by_side
from nexus_platform.ops.report import (
    CheckResult,
    Plan,
    PlannedStep,
    RunReport,
    StepReport,
    plan_json,
    render_plan,
    render_report,
    report_json,
)
from nexus_platform.ops.step import Precondition, Runbook, Step

__all__ = [
    "CheckResult",
    "Plan",
    "PlannedStep",
    "RunReport",
    "RunStopped",
    "StepReport",
    "execute",
    "plan",
    "plan_json",
    "render_plan",
    "render_report",
    "report_json",
]

EventHandler = Callable[[Mapping[str, Any]], None]


class RunStopped(NexusError):
    """A run that did not complete; `report` shows how far it got (resume it with its run id)."""

    def __init__(self, message: str, *, hint: str | None, report: RunReport) -> None:
        super().__init__(message, hint=hint)
        self.report = report


def _first_line(exc: BaseException) -> str:
    text = str(exc.args[0]) if isinstance(exc, NexusError) and exc.args else str(exc)
    return (text.strip().splitlines() or [type(exc).__name__])[0]


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def evaluate(precondition: Precondition, ctx: Context) -> CheckResult:
    try:
        verdict = precondition.check(ctx)
    except Exception as exc:
        reason = f"its check raised {type(exc).__name__}: {_first_line(exc)}"
        return CheckResult(precondition.name, False, reason, precondition.hint)
    if verdict is True:
        return CheckResult(precondition.name, True, hint=precondition.hint)
    text = verdict.strip() if isinstance(verdict, str) else ""
    return CheckResult(
        precondition.name, False, text.splitlines()[0] if text else "does not hold", precondition.hint
    )


def evaluate_all(preconditions: tuple[Precondition, ...], ctx: Context) -> list[CheckResult]:
    """Each precondition's result, in their order; checked side by side (they only read the world: a
    failover's readiness checks took ~0.1 s one after another, as long as the slowest side by side)."""
    results = side_by_side(
        {i: functools.partial(evaluate, check, ctx) for i, check in enumerate(preconditions)}
    )
    return [results[i] for i in range(len(preconditions))]


def plan(runbook: Runbook, ctx: Context, *, record: bool = True) -> Plan:
    """What a run would do, judged against the world now. Calls only `calls`, `check` and `done`.

    `record` appends the dry run to the audit log (as every dry run of a command should be).
    """
    ctx = replace(ctx, dry_run=True, run_id=ctx.run_id or new_run_id(), results={})
    steps: list[PlannedStep] = []
    for step in runbook.steps:
        error: str | None = None
        try:
            calls = tuple(step.calls(ctx))
        except Exception as exc:
            calls, error = (), f"listing its calls raised {type(exc).__name__}: {_first_line(exc)}"
        done: bool | None = None
        if step.done is not None:
            try:
                done = bool(step.done(ctx))
            except Exception as exc:
                done, error = (
                    False,
                    error or f"its done check raised {type(exc).__name__}: {_first_line(exc)}",
                )
        checks = tuple(evaluate_all(step.preconditions, ctx))
        steps.append(PlannedStep(step.name, step.description, step.reversible, calls, checks, done, error))
    result = Plan(ctx.run_id, runbook.name, runbook.description, ctx.env, ctx.params, tuple(steps))
    if record:
        failing = result.failing
        audit.append(
            runbook.name,
            executed=False,
            outcome=f"dry run: {len(failing)} preconditions fail" if failing else "dry run",
            run_id=result.run_id,
            env=ctx.env,
            params=_jsonable(dict(ctx.params)),
            force=False,
            forced=[],
            failing=[
                {"step": name, "precondition": check.name, "reason": check.reason} for name, check in failing
            ],
            steps=[step.name for step in runbook.steps],
        )
    return result


def execute(
    runbook: Runbook,
    ctx: Context,
    *,
    state_dir: Path,
    force: bool = False,
    resume: str | None = None,
    on_event: EventHandler | None = None,
) -> RunReport:
    """Run (or resume) the runbook: journaled, under the environment's lock, recorded in the audit log.

    A step the journal has done is not run again; an irreversible step whose outcome a crash left unknown is
    asked `done` and run again only if the world says it did not happen. Raises RunStopped when the run does
    not complete (a precondition fails, a step raises); any other NexusError means it could not start.
    """
    return _Run(runbook, ctx, state_dir=state_dir, force=force, resume=resume, on_event=on_event).go()


class _Run:
    def __init__(
        self,
        runbook: Runbook,
        ctx: Context,
        *,
        state_dir: Path,
        force: bool,
        resume: str | None,
        on_event: EventHandler | None,
    ) -> None:
        self.runbook = runbook
        self.state_dir = state_dir
        self.force = force
        self.resume = resume
        self.on_event = on_event
        self.run_id = resume or new_run_id()
        self.ctx = replace(ctx, run_id=self.run_id, dry_run=False, results={})
        self.journal = Journal(state_dir)
        self.started = now()
        self.prior: RunState | None = None
        self.writer: JournalWriter | None = None
        self.reports: dict[str, StepReport] = {}
        self.forced: list[dict[str, Any]] = []
        self.outcome = "refused"
        self.error: str | None = None

    def go(self) -> RunReport:
        try:
            with EnvLock(self.state_dir, self.ctx.env, self.run_id) as lock:
                # Loaded under the lock: two resumes of one run must not both decide what is left to do.
                self.prior = (
                    self.journal.load(self.resume, runbook=self.runbook.name) if self.resume else None
                )
                if self.prior is not None:
                    self._check_resumable(self.prior)
                with self.journal.writer(self.run_id, resume=self.prior) as self.writer:
                    self._emit(
                        "run-start",
                        run_id=self.run_id,
                        runbook=self.runbook.name,
                        env=self.ctx.env,
                        params=_jsonable(dict(self.ctx.params)),
                        steps=[step.name for step in self.runbook.steps],
                        user=_user(),
                        pid=os.getpid(),
                        resume=self.prior is not None,
                        session=(self.prior.sessions if self.prior else 0) + 1,
                        force=self.force,
                        took_over=None if lock.stale is None else vars(lock.stale),
                        dropped_torn_line=self.prior.torn_line if self.prior else None,
                    )
                    if lock.stale is not None:
                        self.ctx.note(
                            f"took over the {self.ctx.env} lock of {lock.stale.describe()}: it died"
                        )
                    if self.prior is not None and self.prior.torn_line is not None:
                        self.ctx.note(
                            f"dropped the torn last line {self.prior.torn_line} of {self.prior.path}"
                        )
                    self._steps()
            return self._report()
        except BaseException as exc:
            if self.outcome == "refused":
                self.error = (
                    str(exc) if isinstance(exc, NexusError) else f"{type(exc).__name__}: {_first_line(exc)}"
                )
            raise
        finally:
            audit.append(
                self.runbook.name,
                executed=True,
                outcome=self.outcome,
                run_id=self.run_id,
                env=self.ctx.env,
                params=_jsonable(dict(self.ctx.params)),
                force=self.force,
                forced=self.forced,
                steps={name: report.status for name, report in self.reports.items()},
                resume=self.resume,
                error=self.error,
            )

    def _check_resumable(self, prior: RunState) -> None:
        if prior.env != self.ctx.env:
            raise NexusError(
                f"run {self.run_id} ran on {prior.env}, not {self.ctx.env}", hint=f"--env {prior.env}"
            )
        names = tuple(step.name for step in self.runbook.steps)
        if prior.step_names != names:
            raise NexusError(
                f"run {self.run_id} was journaled by another version of runbook {self.runbook.name} "
                f"(steps {', '.join(prior.step_names)})",
                hint="finish it with that version, or start a new run",
            )
        given, journaled = _jsonable(dict(self.ctx.params)), _jsonable(dict(prior.params))
        if any(key not in journaled or journaled[key] != value for key, value in given.items()):
            raise NexusError(
                f"run {self.run_id} was started with other parameters: "
                f"{json.dumps(prior.params, sort_keys=True)}",
                hint="resume it with the parameters it was started with",
            )
        # What the resume did not say is taken from the journal: a run started by another command (the
        # watch's detection time) resumes from the CLI with the parameters it was started with.
        self.ctx = replace(self.ctx, params={**journaled, **given})

    def _emit(self, event: str, **fields: Any) -> None:
        assert self.writer is not None
        entry = self.writer.write(event, **fields)
        if event == "run-start" and self.prior is None:
            # The run's start is what its journal says: a resume reads it back from there.
            self.started = datetime.fromisoformat(entry["time"])
        if self.on_event is not None:
            self.on_event(entry)

    def _steps(self) -> None:
        try:
            for step in self.runbook.steps:
                self._step(step)
        except RunStopped:
            raise
        except BaseException as exc:
            # An interrupt mid-apply leaves its step started-but-unknown: exactly the case resume handles.
            self.outcome = "interrupted" if not isinstance(exc, Exception) else "failed"
            self.error = _first_line(exc)
            self._emit("run-end", outcome=self.outcome, error=self.error)
            raise
        self.outcome = "complete"
        self._emit("run-end", outcome=self.outcome)

    def _step(self, step: Step) -> None:
        record = self.prior.step(step.name) if self.prior else StepRecord()
        if record.state is StepState.DONE:
            self.ctx.results[step.name] = record.result or {}
            self.reports[step.name] = StepReport(
                step.name,
                str(record.status),
                record.started,
                record.ended,
                record.duration,
                record.result,
                forced=record.forced,
            )
            return
        if record.state is StepState.UNKNOWN:
            # Its preconditions held when it started; what it did since may have changed them, so they are
            # not asked again. An irreversible step is asked the world instead of being re-run blindly.
            if not step.reversible and self._done(step, "verified"):
                return
            self._apply(step, forced=())
            return
        if step.done is not None and self._done(step, "skipped"):
            return
        failing = [check for check in evaluate_all(step.preconditions, self.ctx) if not check.ok]
        if failing and not self.force:
            check = failing[0]
            raise self._stop(
                "stopped",
                f"step {step.name} stopped: precondition {check.name} does not hold: {check.reason}",
                hint=check.hint or "fix it and resume the run, or force it past the precondition",
                step=step.name,
            )
        forced = tuple(
            {"step": step.name, "precondition": check.name, "reason": check.reason} for check in failing
        )
        self.forced.extend(forced)
        self._apply(step, forced=forced)

    def _done(self, step: Step, status: str) -> bool:
        """Is the world already past `step`? If so, journal it as `status` (skipped or verified)."""
        assert step.done is not None
        started, clock = now(), time.monotonic()
        try:
            done = bool(step.done(self.ctx))
        except Exception as exc:
            raise self._stop(
                "failed",
                f"step {step.name} failed: asking whether it is done: {_first_line(exc)}",
                hint=f"fix the cause, then resume run {self.run_id}",
                step=step.name,
            ) from exc
        if done:
            duration = time.monotonic() - clock
            self._emit("step-end", step=step.name, status=status, result={}, duration=duration)
            self.ctx.results[step.name] = {}
            self.reports[step.name] = StepReport(step.name, status, started, now(), duration, {})
        return done

    def _apply(self, step: Step, *, forced: tuple[dict[str, Any], ...]) -> None:
        try:
            calls = [call.as_json() for call in step.calls(self.ctx)]
        except Exception as exc:
            raise self._stop(
                "failed",
                f"step {step.name} failed: listing its calls: {_first_line(exc)}",
                hint=f"fix the cause, then resume run {self.run_id}",
                step=step.name,
            ) from exc
        started, clock = now(), time.monotonic()
        self._emit(
            "step-start",
            step=step.name,
            reversible=step.reversible,
            inputs=calls,
            **({"forced": forced} if forced else {}),
        )
        try:
            result = dict(step.apply(self.ctx) or {})
        except Exception as exc:
            duration = time.monotonic() - clock
            message = _first_line(exc)
            self._emit("step-end", step=step.name, status="failed", error=message, duration=duration)
            self.reports[step.name] = StepReport(
                step.name, "failed", started, now(), duration, error=message, forced=forced
            )
            hint = exc.hint if isinstance(exc, NexusError) and exc.hint else "fix the cause"
            raise self._stop(
                "failed",
                f"step {step.name} failed: {message}",
                hint=f"{hint}, then resume run {self.run_id}",
                step=step.name,
            ) from exc
        duration = time.monotonic() - clock
        self._emit("step-end", step=step.name, status="ok", result=result, duration=duration)
        self.ctx.results[step.name] = result
        self.reports[step.name] = StepReport(step.name, "ok", started, now(), duration, result, forced=forced)

    def _stop(self, outcome: str, message: str, *, hint: str, step: str) -> RunStopped:
        self.outcome, self.error = outcome, message
        self._emit("run-end", outcome=outcome, step=step, error=message)
        return RunStopped(message, hint=hint, report=self._report())

    def _report(self) -> RunReport:
        steps = tuple(
            self.reports.get(step.name) or StepReport(step.name, "not-run") for step in self.runbook.steps
        )
        prior = self.prior
        return RunReport(
            run_id=self.run_id,
            runbook=self.runbook.name,
            env=self.ctx.env,
            outcome=self.outcome,
            started=prior.started if prior else self.started,
            ended=now(),
            steps=steps,
            journal=self.journal.path(self.run_id),
            resumed=prior is not None,
            forced=(*(prior.forced if prior else ()), *self.forced),
            params=dict(self.ctx.params),
        )
