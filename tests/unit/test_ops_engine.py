"""The runbook engine (nexus_platform.ops) driving a toy world: a JSON file standing in for the platform.

Real files, real subprocesses and real SIGKILLs; nothing of the engine is mocked. Every change to the toy
world goes through `ToyWorld.write`, the adapter boundary, which counts the writes and, per step, the
executions, so "no write" and "executed exactly once" are measured rather than assumed.

This file is also the script the subprocesses run: `python test_ops_engine.py <world.json> <state dir>`,
with TOY_KILL=<step>:before|after|between (SIGKILL itself there) or TOY_SLEEP=<step> (hold the lock).
"""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from nexus_platform.errors import NexusError
from nexus_platform.ops.context import Context
from nexus_platform.ops.journal import Journal, StepState
from nexus_platform.ops.run import RunStopped, execute, plan, render_plan, render_report, report_json
from nexus_platform.ops.step import Call, Precondition, Runbook, Step

ENV = "sandbox"
PARAMS = {"size": 3}
WORLD = {
    "replica_lag": 0,
    "draining": False,
    "fenced": False,
    "promoted": False,
    "dr_size": 0,
    "serving": "primary",
    "fail_at": None,
    "applied": {},
    "writes": 0,
}
END_STATE = {
    "replica_lag": 0,
    "draining": True,
    "fenced": True,
    "promoted": True,
    "dr_size": 3,
    "serving": "dr",
}


class ToyWorld:
    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.path.read_text())
        return data

    def write(self, step: str, **changes: Any) -> None:
        """The adapter boundary, the one way a step changes the world: effect and count in one write."""
        state = self.read()
        state.update(changes)
        state["writes"] += 1
        state["applied"][step] = state["applied"].get(step, 0) + 1
        self._store(state)

    def poke(self, **changes: Any) -> None:
        """The test's own edits (not the runbook's): not counted."""
        self._store({**self.read(), **changes})

    def _store(self, state: Mapping[str, Any]) -> None:
        # Atomic replace: a SIGKILL mid-write must leave the old world or the new one, as a real API would.
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w") as handle:
            json.dump(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(self.path)

    def end_state(self) -> dict[str, Any]:
        return {key: value for key, value in self.read().items() if key in END_STATE}


def _hazard(world: ToyWorld, step: str, when: str) -> None:
    if os.environ.get("TOY_KILL") == f"{step}:{when}":
        os.kill(os.getpid(), signal.SIGKILL)
    if world.read()["fail_at"] == f"{step}:{when}":
        raise RuntimeError(f"boom in {step} ({when})\nsecond line that must not reach the message")
    if when == "before" and os.environ.get("TOY_SLEEP") == step:
        print("sleeping", flush=True)
        time.sleep(60)


def _apply(name: str, changes: Any, result: Any = None) -> Any:
    def apply(ctx: Context) -> Mapping[str, Any] | None:
        world: ToyWorld = ctx.world
        _hazard(world, name, "before")
        world.write(name, **changes(ctx))
        _hazard(world, name, "after")
        return result(ctx) if result else None

    return apply


def _replica_healthy(ctx: Context) -> bool | str:
    lag = ctx.world.read()["replica_lag"]
    return True if lag <= 5 else f"replica lag {lag}s exceeds the RPO budget of 5s"


def _promote_result(ctx: Context) -> Mapping[str, Any]:
    ctx.wait("the replica to be promoted", lambda: ctx.world.read()["promoted"], timeout=5, interval=0.01)
    return {"endpoint": "dr.db.internal"}


def _state(key: str, value: Any) -> Any:
    return lambda ctx: ctx.world.read()[key] == value


RUNBOOK = Runbook(
    name="toy-failover",
    description="fail the toy world over to its DR region",
    steps=(
        Step(
            "drain-primary",
            "take the primary out of traffic",
            reversible=True,
            apply=_apply("drain-primary", lambda ctx: {"draining": True}),
            calls=lambda ctx: [Call("edge", "disable", {"region": "primary"})],
        ),
        Step(
            "fence-primary",
            "stop the old primary accepting writes",
            reversible=False,
            apply=_apply("fence-primary", lambda ctx: {"fenced": True}),
            calls=lambda ctx: [Call("db", "fence", {"region": "primary"})],
            done=_state("fenced", True),
        ),
        Step(
            "promote-replica",
            "promote the DR replica",
            reversible=False,
            apply=_apply("promote-replica", lambda ctx: {"promoted": True}, _promote_result),
            calls=lambda ctx: [Call("rds", "promote_read_replica", {"DBInstanceIdentifier": "toy-dr"})],
            preconditions=(
                Precondition("replica-healthy", _replica_healthy, hint="wait for it to catch up"),
            ),
            done=_state("promoted", True),
        ),
        Step(
            "scale-dr",
            "scale DR compute to production size",
            reversible=True,
            apply=_apply(
                "scale-dr", lambda ctx: {"dr_size": ctx.params["size"]}, lambda ctx: dict(ctx.params)
            ),
            calls=lambda ctx: [Call("eks", "update_nodegroup_config", {"desiredSize": ctx.params["size"]})],
            preconditions=(Precondition("size-positive", lambda ctx: ctx.params["size"] > 0 or "size is 0"),),
            done=lambda ctx: ctx.world.read()["dr_size"] == ctx.params["size"],
        ),
        Step(
            "switch-traffic",
            "route traffic to the DR region",
            reversible=False,
            apply=_apply(
                "switch-traffic", lambda ctx: {"serving": "dr"}, lambda ctx: {"after": list(ctx.results)}
            ),
            calls=lambda ctx: [Call("route53", "change_resource_record_sets", {"region": "dr"})],
            done=_state("serving", "dr"),
        ),
    ),
)
NAMES = [step.name for step in RUNBOOK.steps]
IRREVERSIBLE = [step.name for step in RUNBOOK.steps if not step.reversible]


def main(world_path: str, state_dir: str) -> None:
    kill = os.environ.get("TOY_KILL", "")

    def on_event(event: Mapping[str, Any]) -> None:
        if event["event"] == "step-end" and kill == f"{event['step']}:between":
            os.kill(os.getpid(), signal.SIGKILL)

    ctx = Context(env=ENV, params=PARAMS, world=ToyWorld(Path(world_path)), quiet=True)
    execute(RUNBOOK, ctx, state_dir=Path(state_dir), on_event=on_event)


# --- the tests ----------------------------------------------------------------------------------------------


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "state"
    monkeypatch.setenv("NEXUS_STATE_DIR", str(path))
    return path


@pytest.fixture
def world(tmp_path: Path) -> ToyWorld:
    toy = ToyWorld(tmp_path / "world.json")
    toy._store(WORLD)
    return toy


def context(world: ToyWorld, **extra: Any) -> Context:
    return Context(**{"env": ENV, "params": PARAMS, "world": world, "quiet": True, **extra})


def audit_entries(state: Path) -> list[dict[str, Any]]:
    path = state / "audit.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def journal_events(state: Path, run_id: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (state / "runs" / f"{run_id}.jsonl").read_text().splitlines()]


def only_run(state: Path) -> str:
    runs = Journal(state).runs()
    assert len(runs) == 1, runs
    return runs[0]


def spawn(world: ToyWorld, state: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, __file__, str(world.path), str(state)],
        env={**os.environ, "NEXUS_STATE_DIR": str(state), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def one_line(exc: BaseException) -> str:
    message = str(exc)
    assert "\n" not in message, message
    return message


def test_a_dry_run_makes_no_write_and_shows_steps_calls_and_preconditions(
    world: ToyWorld, state: Path
) -> None:
    world.poke(replica_lag=90, fenced=True)
    before = world.path.read_bytes()

    result = plan(RUNBOOK, context(world))

    assert world.path.read_bytes() == before
    assert world.read()["writes"] == 0
    assert not (state / "runs").exists()
    assert [step.name for step in result.steps] == NAMES
    promote = result.steps[2]
    assert promote.calls == (Call("rds", "promote_read_replica", {"DBInstanceIdentifier": "toy-dr"}),)
    assert [(check.name, check.ok, check.reason) for check in promote.preconditions] == [
        ("replica-healthy", False, "replica lag 90s exceeds the RPO budget of 5s")
    ]
    assert [step.done for step in result.steps] == [None, True, False, False, False]
    assert result.steps[3].preconditions[0].ok
    assert [(name, check.name) for name, check in result.failing] == [("promote-replica", "replica-healthy")]

    console = Console(file=io.StringIO(), width=200)
    console.print(render_plan(result))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "FAIL replica-healthy: replica lag 90s" in text
    assert "PASS size-positive" in text
    assert "rds.promote_read_replica(DBInstanceIdentifier='toy-dr')" in text

    [entry] = audit_entries(state)
    assert entry["operation"] == "toy-failover"
    assert entry["executed"] is False
    assert entry["outcome"] == "dry run: 1 preconditions fail"
    assert entry["run_id"] == result.run_id


def test_an_uninterrupted_run_journals_every_step(world: ToyWorld, state: Path) -> None:
    events: list[Mapping[str, Any]] = []

    report = execute(RUNBOOK, context(world), state_dir=state, on_event=events.append)

    assert report.outcome == "complete"
    assert world.end_state() == END_STATE
    assert world.read()["applied"] == dict.fromkeys(NAMES, 1)
    assert [(step.name, step.status) for step in report.steps] == [(name, "ok") for name in NAMES]
    assert report.steps[2].result == {"endpoint": "dr.db.internal"}
    assert report.steps[4].result == {"after": NAMES[:4]}
    assert all(step.duration is not None and step.duration >= 0 for step in report.steps)
    assert report.duration >= sum(step.duration or 0 for step in report.steps)

    journal = journal_events(state, report.run_id)
    assert journal == [dict(event) for event in events]
    assert [event["event"] for event in journal] == ["run-start"] + ["step-start", "step-end"] * 5 + [
        "run-end"
    ]
    start = journal[0]
    assert (start["runbook"], start["env"], start["params"], start["pid"]) == (
        "toy-failover",
        ENV,
        PARAMS,
        os.getpid(),
    )
    assert journal[3]["inputs"] == [{"target": "db", "action": "fence", "params": {"region": "primary"}}]
    assert journal[-1]["outcome"] == "complete"

    state_now = Journal(state).load(report.run_id, runbook=RUNBOOK.name)
    assert {name: state_now.step(name).state for name in NAMES} == dict.fromkeys(NAMES, StepState.DONE)
    json.dumps(report_json(report))
    console = Console(file=io.StringIO(), width=200)
    console.print(render_report(report))
    assert "switch-traffic" in console.file.getvalue()  # type: ignore[attr-defined]

    [entry] = audit_entries(state)
    assert (entry["outcome"], entry["executed"], entry["run_id"]) == ("complete", True, report.run_id)
    assert entry["steps"] == dict.fromkeys(NAMES, "ok")


@pytest.mark.parametrize("when", ["before", "after", "between"])
@pytest.mark.parametrize("step", NAMES)
def test_a_run_killed_at_any_step_resumes_to_the_same_end(
    step: str, when: str, world: ToyWorld, state: Path
) -> None:
    """SIGKILL inside the step's apply (before or after its change), or right after its step-end."""
    proc = spawn(world, state, TOY_KILL=f"{step}:{when}")
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL, stderr
    run_id = only_run(state)
    interrupted = Journal(state).load(run_id, runbook=RUNBOOK.name)
    assert interrupted.step(step).state is (StepState.DONE if when == "between" else StepState.UNKNOWN)
    assert interrupted.outcome is None

    report = execute(RUNBOOK, context(world), state_dir=state, resume=run_id)

    assert report.outcome == "complete" and report.resumed
    assert world.end_state() == END_STATE
    applied = world.read()["applied"]
    for name in IRREVERSIBLE:
        assert applied[name] == 1, (name, applied)
    # A reversible step killed after its change is run again: that is what reversible allows.
    for name in set(NAMES) - set(IRREVERSIBLE):
        assert applied[name] == (2 if (name, when) == (step, "after") else 1), (name, applied)
    verified = step in IRREVERSIBLE and when == "after"
    expected = {**dict.fromkeys(NAMES, "ok"), **({step: "verified"} if verified else {})}
    assert {item.name: item.status for item in report.steps} == expected
    # Results of the steps before a resume come back from the journal (a verified step has none).
    assert report.steps[4].result == (
        {} if (step, verified) == ("switch-traffic", True) else {"after": NAMES[:4]}
    )
    sessions = [event for event in journal_events(state, run_id) if event["event"] == "run-start"]
    assert [event["session"] for event in sessions] == [1, 2]
    # The killed session could not write its audit entry; the resumed one writes its own.
    [entry] = audit_entries(state)
    assert (entry["run_id"], entry["resume"], entry["outcome"]) == (run_id, run_id, "complete")


class Recorder(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__()
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_a_second_run_is_refused_and_a_dead_holders_lock_is_taken_over(world: ToyWorld, state: Path) -> None:
    holder = spawn(world, state, TOY_SLEEP="promote-replica")
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "sleeping\n"
        run_id = only_run(state)

        with pytest.raises(NexusError) as refused:
            execute(RUNBOOK, context(world), state_dir=state)
        assert one_line(refused.value).startswith(
            f"another run holds the {ENV} lock: run {run_id} (pid {holder.pid}, started "
        )
        assert only_run(state) == run_id
    finally:
        holder.kill()
        holder.wait(timeout=10)

    warnings: list[logging.LogRecord] = []
    handler = Recorder(warnings)
    logger = logging.getLogger("nexus.ops.lock")
    logger.addHandler(handler)
    output = io.StringIO()
    try:
        report = execute(
            RUNBOOK, context(world, quiet=False, console=Console(file=output)), state_dir=state, resume=run_id
        )
    finally:
        logger.removeHandler(handler)

    assert report.outcome == "complete"
    assert world.end_state() == END_STATE
    assert world.read()["applied"] == dict.fromkeys(NAMES, 1)
    [warning] = [record.getMessage() for record in warnings]
    assert f"run {run_id} (pid {holder.pid}," in warning
    assert f"took over the {ENV} lock of run {run_id} (pid {holder.pid}" in output.getvalue()
    resumed = [event for event in journal_events(state, run_id) if event["event"] == "run-start"][-1]
    assert (resumed["took_over"]["run_id"], resumed["took_over"]["pid"]) == (run_id, holder.pid)
    refusal, completion = audit_entries(state)
    assert refusal["outcome"] == "refused" and f"run {run_id}" in refusal["error"]
    assert completion["outcome"] == "complete"
    assert json.loads((state / "locks" / f"{ENV}.lock").read_text() or "{}") == {}


def test_a_failing_precondition_stops_the_run_and_force_records_it(world: ToyWorld, state: Path) -> None:
    world.poke(replica_lag=90)

    with pytest.raises(RunStopped) as stopped:
        execute(RUNBOOK, context(world), state_dir=state)

    assert one_line(stopped.value) == (
        "step promote-replica stopped: precondition replica-healthy does not hold: "
        "replica lag 90s exceeds the RPO budget of 5s (wait for it to catch up)"
    )
    report = stopped.value.report
    assert [step.status for step in report.steps] == ["ok", "ok", "not-run", "not-run", "not-run"]
    assert world.read()["promoted"] is False
    run_id = report.run_id
    assert journal_events(state, run_id)[-1]["outcome"] == "stopped"

    forced = execute(RUNBOOK, context(world), state_dir=state, resume=run_id, force=True)

    assert forced.outcome == "complete"
    assert world.end_state() == {**END_STATE, "replica_lag": 90}
    reason = {
        "step": "promote-replica",
        "precondition": "replica-healthy",
        "reason": "replica lag 90s exceeds the RPO budget of 5s",
    }
    assert [dict(item) for item in forced.forced] == [reason]
    assert forced.steps[2].forced == (reason,)
    [start] = [
        e
        for e in journal_events(state, run_id)
        if e["event"] == "step-start" and e["step"] == "promote-replica"
    ]
    assert start["forced"] == [reason]
    stop, force = audit_entries(state)
    assert (stop["outcome"], stop["force"], stop["forced"]) == ("stopped", False, [])
    assert (force["outcome"], force["force"], force["forced"]) == ("complete", True, [reason])


@pytest.mark.parametrize(
    ("fail_at", "status"), [("scale-dr:before", "ok"), ("promote-replica:after", "verified")]
)
def test_a_step_that_raises_stops_the_run_and_resume_finishes_it(
    fail_at: str, status: str, world: ToyWorld, state: Path
) -> None:
    step, when = fail_at.split(":")
    world.poke(fail_at=fail_at)

    with pytest.raises(RunStopped) as failed:
        execute(RUNBOOK, context(world), state_dir=state)

    assert one_line(failed.value).startswith(
        f"step {step} failed: boom in {step} ({when}) (fix the cause, then"
    )
    run_id = failed.value.report.run_id
    *_, end, run_end = journal_events(state, run_id)
    assert (end["event"], end["step"], end["status"]) == ("step-end", step, "failed")
    assert run_end["outcome"] == "failed"
    assert Journal(state).load(run_id).step(step).state is StepState.UNKNOWN

    world.poke(fail_at=None)
    report = execute(RUNBOOK, context(world), state_dir=state, resume=run_id)

    assert report.outcome == "complete"
    assert {item.name: item.status for item in report.steps}[step] == status
    assert world.end_state() == END_STATE
    assert world.read()["applied"] == dict.fromkeys(NAMES, 1)
    assert [entry["outcome"] for entry in audit_entries(state)] == ["failed", "complete"]


OTHER = Runbook(
    "toy-other",
    "another runbook",
    (Step("only", "one step", reversible=True, apply=lambda ctx: None),),
)


@pytest.fixture
def finished_run(world: ToyWorld, state: Path) -> str:
    return execute(RUNBOOK, context(world), state_dir=state).run_id


def test_resume_refuses_bad_inputs_in_one_line(world: ToyWorld, state: Path, finished_run: str) -> None:
    journal = state / "runs" / f"{finished_run}.jsonl"
    other = execute(OTHER, context(world), state_dir=state).run_id
    corrupt = state / "runs" / "20000101T000000Z-c0ffee.jsonl"
    lines = journal.read_text().splitlines()
    corrupt.write_text("\n".join([lines[0], "not json at all", *lines[1:]]) + "\n")
    cases = {
        "20000101T000000Z-abcdef": "unknown run '20000101T000000Z-abcdef': no journal ",
        "../../etc/passwd": "'../../etc/passwd' is not a run id",
        corrupt.stem: f"journal {corrupt} is corrupt at line 2: not a journal event",
        other: f"run {other} is a run of runbook 'toy-other', not 'toy-failover'",
    }
    for run_id, message in cases.items():
        with pytest.raises(NexusError) as refused:
            execute(RUNBOOK, context(world), state_dir=state, resume=run_id)
        assert one_line(refused.value).startswith(message), refused.value

    with pytest.raises(NexusError) as changed:
        execute(RUNBOOK, context(world, params={"size": 5}), state_dir=state, resume=finished_run)
    assert one_line(changed.value).startswith(
        f'run {finished_run} was started with other parameters: {{"size": 3}}'
    )

    outcomes = [entry["outcome"] for entry in audit_entries(state)]
    assert outcomes == ["complete", "complete", "refused", "refused", "refused", "refused", "refused"]
    assert world.read()["applied"] == dict.fromkeys(NAMES, 1)


def test_a_resume_takes_the_parameters_it_was_not_given_from_journal(world: ToyWorld, state: Path) -> None:
    """A run started by another command (`dr watch` journals its detection time) resumes from the CLI, which
    cannot pass that parameter: what the resume does not say comes from the journal; what it contradicts is
    refused."""
    started = {**PARAMS, "detected_at": 1700000000.5}
    world.poke(fail_at="scale-dr:before")
    with pytest.raises(RunStopped) as failed:
        execute(RUNBOOK, context(world, params=started), state_dir=state)
    run_id = failed.value.report.run_id
    world.poke(fail_at=None)

    with pytest.raises(NexusError, match="started with other parameters"):
        execute(RUNBOOK, context(world, params={"size": 4}), state_dir=state, resume=run_id)
    report = execute(RUNBOOK, context(world, params=PARAMS), state_dir=state, resume=run_id)
    assert report.outcome == "complete"
    assert dict(report.params) == started
    assert report.started == failed.value.report.started  # the run's first start, not the resume's


def test_a_torn_last_line_is_dropped_on_resume(world: ToyWorld, state: Path) -> None:
    proc = spawn(world, state, TOY_KILL="promote-replica:before")
    proc.communicate(timeout=30)
    run_id = only_run(state)
    journal = state / "runs" / f"{run_id}.jsonl"
    with journal.open("a") as handle:
        handle.write('{"event": "step-end", "step": "promote-replica", "sta')
    assert Journal(state).load(run_id).torn_line == len(journal.read_text().splitlines())

    report = execute(RUNBOOK, context(world), state_dir=state, resume=run_id)

    assert report.outcome == "complete"
    assert world.read()["applied"] == dict.fromkeys(NAMES, 1)
    reloaded = Journal(state).load(run_id)
    assert reloaded.torn_line is None and reloaded.outcome == "complete"
    assert journal_events(state, run_id)[-1]["event"] == "run-end"


def test_an_irreversible_step_without_done_is_refused_at_construction() -> None:
    with pytest.raises(NexusError, match="irreversible step 'promote' has no `done` check"):
        Runbook("bad", "", (Step("promote", "", reversible=False, apply=lambda ctx: None),))


def test_wait_polls_until_truthy_and_times_out_in_one_line() -> None:
    output = io.StringIO()
    ctx = Context(env=ENV, console=Console(file=output))
    answers: Iterator[int | None] = iter([None, None, 7])

    assert ctx.wait("the answer", lambda: next(answers), timeout=5, interval=0.01) == 7
    assert "waiting for the answer (up to 5s)" in output.getvalue()

    started = time.monotonic()
    with pytest.raises(NexusError) as timed_out:
        Context(env=ENV, quiet=True).wait("the impossible", lambda: False, timeout=0.2, interval=0.05)
    assert one_line(timed_out.value) == "timed out after 0.2s waiting for the impossible"
    assert time.monotonic() - started < 1


if __name__ == "__main__":
    main(*sys.argv[1:3])
