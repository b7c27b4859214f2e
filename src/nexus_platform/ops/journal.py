"""One append-only JSON-lines journal per run: what each step was about to do, and what it did.

Every line is flushed and fsync'd before the effect it announces, so a process killed at any moment (SIGKILL
included) leaves a journal that says, for each step, whether it is done, started with an unknown outcome, or
not started. The worst a crash can leave is a torn last line: that write never completed, so the effect after
it never started, and the reader drops it (and says so).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any

from nexus_platform.errors import InputError

RUN_ID = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_-]{0,63}$")
EVENTS = ("run-start", "step-start", "step-end", "run-end")
# Statuses after which a step never runs again in this run.
DONE_STATUSES = ("ok", "skipped", "verified")


def new_run_id() -> str:
    """Sortable by start time (UTC, to the second), unique by its random suffix."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def now() -> datetime:
    return datetime.now(UTC)


class StepState(StrEnum):
    DONE = "done"
    UNKNOWN = "started-but-unknown"
    NOT_STARTED = "not-started"


@dataclass(frozen=True)
class StepRecord:
    """A step as the journal knows it. A failed step is UNKNOWN: its apply may have changed the world."""

    state: StepState = StepState.NOT_STARTED
    status: str | None = None
    result: Mapping[str, Any] | None = None
    error: str | None = None
    started: datetime | None = None
    ended: datetime | None = None
    duration: float | None = None
    attempts: int = 0
    forced: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class RunState:
    run_id: str
    path: Path
    runbook: str
    env: str
    params: Mapping[str, Any]
    step_names: tuple[str, ...]
    started: datetime
    steps: Mapping[str, StepRecord]
    outcome: str | None
    sessions: int
    # 1-based number of a torn last line the reader dropped, and the length of the journal without it.
    torn_line: int | None = None
    valid_bytes: int = 0
    forced: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)

    def step(self, name: str) -> StepRecord:
        return self.steps.get(name, StepRecord())


def _event(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(value, dict) or value.get("event") not in EVENTS:
        return None
    return value


def _when(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


class Journal:
    """The journals of one state directory, `<state_dir>/runs/<run_id>.jsonl`."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir / "runs"

    def path(self, run_id: str) -> Path:
        if not RUN_ID.match(run_id):
            raise InputError(f"{run_id!r} is not a run id", hint="run ids look like 20250101T120000Z-1a2b3c")
        return self.dir / f"{run_id}.jsonl"

    def runs(self) -> list[str]:
        """Run ids, oldest first."""
        return sorted(path.stem for path in self.dir.glob("*.jsonl")) if self.dir.is_dir() else []

    def load(self, run_id: str, *, runbook: str | None = None) -> RunState:
        path = self.path(run_id)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            latest = self.runs()[-3:]
            raise InputError(
                f"unknown run {run_id!r}: no journal {path}",
                hint=f"latest runs: {', '.join(latest)}" if latest else "no run has been journaled here yet",
            ) from None
        events, torn_line, valid_bytes = self._events(path, data)
        if not events or events[0]["event"] != "run-start":
            raise InputError(
                f"journal {path} does not begin with its run-start: the run stopped before its first step",
                hint="start a new run",
            )
        head = events[0]
        if runbook is not None and head.get("runbook") != runbook:
            raise InputError(
                f"run {run_id} is a run of runbook {head.get('runbook')!r}, not {runbook!r}",
                hint="resume it with the command that started it",
            )
        return self._fold(run_id, path, events, torn_line, valid_bytes)

    @staticmethod
    def _events(path: Path, data: bytes) -> tuple[list[dict[str, Any]], int | None, int]:
        pieces = data.split(b"\n")
        if pieces[-1] == b"":
            pieces.pop()
        events: list[dict[str, Any]] = []
        offset = 0
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            # A last line without its newline is a write that never completed, even if it happens to parse.
            event = _event(piece) if (not last or data.endswith(b"\n")) else None
            if event is None:
                if last:
                    return events, index + 1, offset
                raise InputError(
                    f"journal {path} is corrupt at line {index + 1}: not a journal event",
                    hint="it was not written by nexus or was edited; move it away and start a new run",
                )
            events.append(event)
            offset += len(piece) + 1
        return events, None, offset

    @staticmethod
    def _fold(
        run_id: str, path: Path, events: list[dict[str, Any]], torn_line: int | None, valid_bytes: int
    ) -> RunState:
        head = events[0]
        names = tuple(str(name) for name in head.get("steps", ()))
        records: dict[str, StepRecord] = {}
        forced: list[Mapping[str, Any]] = []
        outcome: str | None = None
        sessions = 0
        for number, event in enumerate(events, start=1):
            kind = event["event"]
            if kind == "run-start":
                sessions += 1
                if event.get("runbook") != head.get("runbook") or event.get("env") != head.get("env"):
                    raise InputError(
                        f"journal {path} is corrupt at line {number}: it mixes runs", hint="start a new run"
                    )
                continue
            if kind == "run-end":
                outcome = str(event.get("outcome"))
                continue
            name = event.get("step")
            if name not in names:
                raise InputError(
                    f"journal {path} is corrupt at line {number}: step {name!r} is not in its runbook",
                    hint="move it away and start a new run",
                )
            record = records.get(name, StepRecord())
            if kind == "step-start":
                step_forced = tuple(event.get("forced") or ())
                forced.extend(step_forced)
                records[name] = StepRecord(
                    state=StepState.UNKNOWN,
                    started=_when(event.get("time")),
                    attempts=record.attempts + 1,
                    forced=step_forced or record.forced,
                )
            else:
                status = str(event.get("status"))
                records[name] = StepRecord(
                    state=StepState.DONE if status in DONE_STATUSES else StepState.UNKNOWN,
                    status=status,
                    result=event.get("result"),
                    error=event.get("error"),
                    started=record.started or _when(event.get("time")),
                    ended=_when(event.get("time")),
                    duration=event.get("duration"),
                    attempts=record.attempts,
                    forced=record.forced,
                )
        return RunState(
            run_id=run_id,
            path=path,
            runbook=str(head.get("runbook")),
            env=str(head.get("env")),
            params=head.get("params") or {},
            step_names=names,
            started=_when(head.get("time")) or now(),
            steps=records,
            outcome=outcome,
            sessions=sessions,
            torn_line=torn_line,
            valid_bytes=valid_bytes,
            forced=tuple(forced),
        )

    def writer(self, run_id: str, *, resume: RunState | None = None) -> JournalWriter:
        """A new run's journal (which must not exist), or a resumed one's with any torn last line cut off."""
        path = self.path(run_id)
        self.dir.mkdir(parents=True, exist_ok=True)
        if resume is None:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o644)
            _fsync_dir(self.dir)
        else:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND)
            if os.fstat(fd).st_size > resume.valid_bytes:
                # Appending after a torn line would glue the next event onto it and corrupt both.
                os.ftruncate(fd, resume.valid_bytes)
                os.fsync(fd)
        return JournalWriter(path, fd)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class JournalWriter:
    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd

    def write(self, event: str, **fields: Any) -> dict[str, Any]:
        """Append one event, durably, and return it as written."""
        entry = {"event": event, "time": now().isoformat(timespec="microseconds"), **fields}
        entry.setdefault("monotonic", time.monotonic())
        # default=str: a result that is not JSON must not lose the record that the step's effect happened.
        view = memoryview((json.dumps(entry, default=str) + "\n").encode("utf-8"))
        while view:
            view = view[os.write(self._fd, view) :]
        os.fsync(self._fd)
        return entry

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
