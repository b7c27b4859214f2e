"""The vocabulary of runbooks: named steps, each declaring its calls, preconditions and reversibility."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nexus_platform.errors import NexusError
from nexus_platform.ops.context import Context

# Step names key the journal and appear on command lines: keep them to one plain word-ish token.
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


@dataclass(frozen=True)
class Call:
    """One call a step makes, as plans and journals show it: ("rds", "promote_read_replica", {...})."""

    target: str
    action: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.params.items())
        return f"{self.target}.{self.action}({args})"

    def as_json(self) -> dict[str, Any]:
        """The call as plans and journals record it (parameters made JSON: what is not, as its text)."""
        params = json.loads(json.dumps(dict(self.params), default=str))
        return {"target": self.target, "action": self.action, "params": params}


@dataclass(frozen=True)
class Precondition:
    """`check` returns True when it holds; False, or a string giving the reason, when it does not. It only
    reads the world: a step's checks run side by side."""

    name: str
    check: Callable[[Context], bool | str]
    hint: str = ""


def _no_calls(ctx: Context) -> list[Call]:
    return []


@dataclass(frozen=True)
class Step:
    """One change to the world.

    `apply` makes it and returns a JSON-serialisable result (journaled). `done` tells whether the world is
    already past this step: the engine asks it before applying (so a finished change is not made twice) and,
    for an irreversible step whose outcome a crash left unknown, instead of running it again.
    """

    name: str
    description: str
    reversible: bool
    apply: Callable[[Context], Mapping[str, Any] | None]
    calls: Callable[[Context], list[Call]] = _no_calls
    preconditions: tuple[Precondition, ...] = ()
    done: Callable[[Context], bool] | None = None


@dataclass(frozen=True)
class Runbook:
    name: str
    description: str
    steps: tuple[Step, ...]

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for step in self.steps:
            if not _NAME.match(step.name):
                raise NexusError(
                    f"runbook {self.name}: step name {step.name!r} is not a lowercase token",
                    hint="use letters, digits, '.', '_' and '-'",
                )
            if step.name in seen:
                raise NexusError(f"runbook {self.name}: two steps are named {step.name!r}")
            seen.add(step.name)
            if not step.reversible and step.done is None:
                # Without `done` a crash mid-step leaves nothing to re-check: resuming would have to guess.
                raise NexusError(
                    f"runbook {self.name}: irreversible step {step.name!r} has no `done` check",
                    hint="give it a `done` that tells from the world whether it already happened",
                )

    def step(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)
