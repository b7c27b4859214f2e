"""Watches what the database is: reachable or not, writable or read-only, schema up to date or not.

Polled (every second by default) on a connection of its own, outside the request pool, so a saturated pool
cannot make the database look down. A promoted replica becomes writable while the process keeps running: the
next poll sees ``pg_is_in_recovery()`` turn false, applies any pending migration and lets writes through. The
DR drill depends on that. Fencing an old primary with ``default_transaction_read_only`` is seen the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from nexus_api import migrations
from nexus_api.metrics import Metrics
from nexus_api.migrations import Migration, MigrationError, SchemaStatus

log = logging.getLogger("nexus_api.db")

ROLE_QUERY = "SELECT pg_is_in_recovery(), current_setting('transaction_read_only') = 'on'"


@dataclass(frozen=True, slots=True)
class DatabaseState:
    reachable: bool = False
    in_recovery: bool | None = None
    # Until a check proves the database writable, writes are refused rather than risked.
    read_only: bool = True
    schema: SchemaStatus | None = None
    schema_error: str | None = None
    last_error: str | None = None
    checked_at: float | None = None  # time.monotonic() of the last check

    @property
    def schema_ready(self) -> bool:
        return self.schema is not None and self.schema.ready and self.schema_error is None

    @property
    def read_only_reason(self) -> str:
        if self.in_recovery:
            return "the database is a replica (in recovery)"
        if self.reachable:
            return "the database refuses writes (transaction_read_only is on)"
        return "the database has not been reached yet"


@dataclass
class DatabaseMonitor:
    conninfo: str
    interval: float
    check_timeout: float
    migrations: list[Migration]
    metrics: Metrics
    # Called when the database changes (unreachable, role flipped): the pool drops connections that broke.
    on_change: Callable[[], Awaitable[None]] | None = None
    #: The least time between two checks that refused writes ask for (`note_write_refused`).
    recheck_floor: float = 0.05
    state: DatabaseState = field(default_factory=DatabaseState, init=False)
    _conn: AsyncConnection[TupleRow] | None = field(default=None, init=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False)
    _wake: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _woken_at: float = field(default=float("-inf"), init=False)

    async def start(self) -> None:
        """Check once (so a reachable database is migrated before the first request), then keep polling."""
        await self.check_once()
        self._task = asyncio.create_task(self._run(), name="nexus-api-db-monitor")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            # Not awaited under suppress(CancelledError): that would also swallow a cancellation of stop().
            await asyncio.wait({task})
        await self._close()

    def note_read_only(self) -> None:
        """A write was refused by the database: stop sending writes now and re-check at once."""
        if not self.state.read_only:
            self._set(replace(self.state, read_only=True))
            self.metrics.db_role_changes.inc()
            log.warning("database refused a write; entering read-only mode until the next check")
        self._wake.set()

    def note_write_refused(self) -> None:
        """A write was refused because the database looked read-only: re-check now, unless a check ran (or
        was asked for) less than `recheck_floor` ago. A promotion is then seen by the first write refused
        after it, not the next poll; while nothing changes, refused writes cost one query per floor."""
        last = max(self.state.checked_at or float("-inf"), self._woken_at)
        if time.monotonic() - last >= self.recheck_floor:
            self._woken_at = time.monotonic()
            self._wake.set()

    def note_unavailable(self) -> None:
        """A request could not reach the database: re-check now instead of at the next tick."""
        self._wake.set()

    async def _run(self) -> None:
        while True:
            # asyncio.timeout, not asyncio.wait_for: on Python 3.11 wait_for drops a cancellation that arrives
            # just after the event fired, and stop() then waited for ever (seen in CI).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.check_once()
            except Exception:
                # The loop must outlive any surprise: without it the process would never see a promotion.
                log.exception("database check failed unexpectedly")

    async def check_once(self) -> DatabaseState:
        before = self.state
        try:
            async with asyncio.timeout(self.check_timeout):
                conn = await self._connection()
                cur = await conn.execute(ROLE_QUERY)
                row = await cur.fetchone()
        except (psycopg.Error, OSError, TimeoutError) as exc:
            await self._close()
            self._set(replace(before, reachable=False, last_error=_short(exc), checked_at=time.monotonic()))
            if before.reachable or before.checked_at is None:
                log.warning("database unreachable", extra={"error": _short(exc)})
                await self._changed()
            return self.state
        assert row is not None
        in_recovery, tx_read_only = bool(row[0]), bool(row[1])
        read_only = in_recovery or tx_read_only
        state = replace(
            before,
            reachable=True,
            in_recovery=in_recovery,
            read_only=read_only,
            last_error=None,
            checked_at=time.monotonic(),
        )
        flipped = read_only != before.read_only
        if not before.reachable:
            log.info("database reachable", extra={"in_recovery": in_recovery, "read_only": read_only})
        # The first successful check only learns the role; a change is a flip from a role seen before.
        if flipped and before.in_recovery is not None:
            self.metrics.db_role_changes.inc()
            log.warning(
                "database became read-only" if read_only else "database became writable",
                extra={"in_recovery": in_recovery, "transaction_read_only": tx_read_only},
            )
        if flipped or not before.reachable:
            await self._changed()
        if not state.schema_ready or (flipped and not read_only):
            state = await self._schema(conn, state)
        self._set(state)
        return state

    async def _schema(self, conn: AsyncConnection[TupleRow], state: DatabaseState) -> DatabaseState:
        try:
            if state.read_only:
                status = await migrations.check(conn, self.migrations)
            else:
                status = await migrations.migrate(conn, self.migrations)
        except MigrationError as exc:
            if state.schema_error != str(exc):
                log.error("database schema does not match this build", extra={"error": str(exc)})
            return replace(state, schema=None, schema_error=str(exc))
        except psycopg.Error as exc:
            await self._close()
            return replace(state, schema=None, schema_error=_short(exc))
        if status.pending and state.read_only and state.schema != status:
            log.warning(
                "read-only database lacks migrations; waiting for the primary to apply them",
                extra={"pending": list(status.pending)},
            )
        elif status.ready and not (state.schema and state.schema.ready):
            log.info("database schema ready", extra={"versions": list(status.applied)})
        return replace(state, schema=status, schema_error=None)

    async def _connection(self) -> AsyncConnection[TupleRow]:
        if self._conn is None or self._conn.closed:
            self._conn = await AsyncConnection.connect(self.conninfo, autocommit=True)
        return self._conn

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    async def _changed(self) -> None:
        if self.on_change is not None:
            try:
                await self.on_change()
            except Exception as exc:
                log.warning("pool check after a database change failed", extra={"error": _short(exc)})

    def _set(self, state: DatabaseState) -> None:
        self.state = state
        self.metrics.db_up.set(1 if state.reachable else 0)
        self.metrics.read_only.set(1 if state.read_only else 0)
        self.metrics.schema_ready.set(1 if state.schema_ready else 0)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
