"""The role monitor's own life cycle: it must stop when asked, whatever it is doing at that moment; refused
writes ask it for checks, no more than one per floor."""

from __future__ import annotations

import asyncio

import pytest

from nexus_api.dbmonitor import DatabaseMonitor
from nexus_api.metrics import Metrics
from nexus_api.migrations import load_migrations

pytestmark = pytest.mark.anyio


def _monitor(database: str, **settings: float) -> DatabaseMonitor:
    return DatabaseMonitor(
        conninfo=database,
        check_timeout=5.0,
        migrations=load_migrations(),
        metrics=Metrics(version="test", region="us-east-1", role="primary"),
        **settings,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("turns", range(6))
async def test_stop_right_after_a_wake_up_is_not_lost(database: str, turns: int) -> None:
    """A request that wakes the monitor (a refused write, an unreachable database) just before shutdown must
    not make the stop hang: Python 3.11's asyncio.wait_for drops a cancellation that arrives while the awaited
    event has just fired, and the lifespan then waited on the monitor for ever (a CI run timed out on it).
    Every interleaving of the wake-up with the cancellation, a few loop turns apart, is tried."""
    monitor = _monitor(database, interval=30.0)
    await monitor.start()
    await asyncio.sleep(0.05)
    for _ in range(3):
        monitor.note_unavailable()
        for _ in range(turns):
            await asyncio.sleep(0)
        stopping = asyncio.create_task(monitor.stop())
        done, _ = await asyncio.wait({stopping}, timeout=10)
        assert stopping in done, f"stop() still waiting 10 s after a wake-up {turns} loop turns earlier"
        await monitor.start()
    await monitor.stop()


async def test_refused_writes_ask_for_one_check_per_floor(database: str) -> None:
    monitor = _monitor(database, interval=60.0, recheck_floor=0.5)
    await monitor.start()
    try:
        started = monitor.state.checked_at
        await asyncio.sleep(0.6)  # the floor has passed since the start's check
        checks = set()
        for _ in range(20):  # 0.2 s of refused writes: one check, not twenty
            monitor.note_write_refused()
            await asyncio.sleep(0.01)
            checks.add(monitor.state.checked_at)
        checks.discard(started)
        assert len(checks) == 1
    finally:
        await monitor.stop()
