"""`db.app-role` on the runbook engine: nexus-api's PostgreSQL role brought to what its secret says.

Each step asks the database whether it is needed (`done`), so a second run does nothing and a run after a
crash finishes the rest; the engine adds the journal, the environment's lock and the audit entry. The
context's world is the resolved `approle.Target` (its passwords never reach a journal: the parameters and
the results name the role, not its secret).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nexus_platform.database import approle
from nexus_platform.ops.context import Context
from nexus_platform.ops.step import Call, Runbook, Step

NAME = "db.app-role"


def _step(name: str, target: approle.Target) -> Step:
    def apply(ctx: Context) -> Mapping[str, Any]:
        approle.apply_step(ctx.world, name)
        return {"role": ctx.world.app.username}

    return Step(
        name,
        approle.describe(name, target),
        reversible=True,
        apply=apply,
        done=lambda ctx: approle.satisfied(name, approle.state(ctx.world)),
        calls=lambda ctx: [
            Call(
                "postgres",
                name,
                {"host": ctx.world.host, "port": ctx.world.port, "database": ctx.world.database},
            )
        ],
    )


def runbook(target: approle.Target) -> Runbook:
    return Runbook(
        NAME,
        "create nexus-api's PostgreSQL role from its secret, or bring it back in step",
        tuple(_step(name, target) for name, _ in approle.STEPS),
    )
