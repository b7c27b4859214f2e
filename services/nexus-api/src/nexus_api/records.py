"""Records in PostgreSQL: idempotent create keyed by the client's id, read by id, list the most recent.

A write is identified by the id the client chose, so a client that lost the answer (timeout, failover) can
send the same write again and learn whether the first one was stored: the same id and body is a replay, the
same id with another body a conflict. Records are never changed after they are stored.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

RECORD_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
MAX_LIST_LIMIT = 100

Pool = AsyncConnectionPool[AsyncConnection[TupleRow]]


class WriteOutcome(StrEnum):
    CREATED = "created"
    REPLAYED = "replayed"
    CONFLICT = "conflict"


@dataclass(frozen=True, slots=True)
class Record:
    id: str
    data: dict[str, Any]
    region: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "data": self.data,
            "region": self.region,
            "created_at": self.created_at.isoformat(),
        }

    def to_json(self) -> bytes:
        return dump_json(self.to_dict())


def dump_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def canonical_json(data: dict[str, Any]) -> str:
    """One text per JSON value, whatever the key order or spacing the client sent."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def body_digest(canonical: str) -> bytes:
    return hashlib.sha256(canonical.encode()).digest()


_INSERT = (
    "INSERT INTO records (id, data, body_sha256, region) VALUES (%s, %s::jsonb, %s, %s) "
    "ON CONFLICT (id) DO NOTHING RETURNING id, data, region, created_at"
)
_SELECT_FOR_REPLAY = "SELECT id, data, region, created_at, body_sha256 FROM records WHERE id = %s"
_SELECT_ONE = "SELECT id, data, region, created_at FROM records WHERE id = %s"
_SELECT_RECENT = "SELECT id, data, region, created_at FROM records ORDER BY created_at DESC, id DESC LIMIT %s"


def _record(row: TupleRow) -> Record:
    return Record(id=row[0], data=row[1], region=row[2], created_at=row[3])


class RecordStore:
    def __init__(self, pool: Pool, region: str, pool_timeout: float) -> None:
        self._pool = pool
        self._region = region
        self._timeout = pool_timeout

    async def put(self, record_id: str, data: dict[str, Any]) -> tuple[WriteOutcome, Record]:
        canonical = canonical_json(data)
        digest = body_digest(canonical)
        async with self._pool.connection(timeout=self._timeout) as conn:
            # One round trip when the id is new. ON CONFLICT waits for a concurrent insert of the same id to
            # commit or abort, so two racing requests cannot both report "created".
            cur = await conn.execute(_INSERT, (record_id, canonical, digest, self._region))
            row = await cur.fetchone()
            if row is not None:
                return WriteOutcome.CREATED, _record(row)
            # The id exists. A new statement (autocommit) gets a fresh snapshot, which includes the winner.
            cur = await conn.execute(_SELECT_FOR_REPLAY, (record_id,))
            row = await cur.fetchone()
        if row is None:
            # Only reachable if a record were deleted between the two statements; records are never deleted.
            raise RuntimeError(f"record {record_id!r} conflicted on insert but cannot be read")
        outcome = WriteOutcome.REPLAYED if bytes(row[4]) == digest else WriteOutcome.CONFLICT
        return outcome, _record(row)

    async def get(self, record_id: str) -> Record | None:
        async with self._pool.connection(timeout=self._timeout) as conn:
            cur = await conn.execute(_SELECT_ONE, (record_id,))
            row = await cur.fetchone()
        return _record(row) if row is not None else None

    async def recent(self, limit: int) -> list[Record]:
        async with self._pool.connection(timeout=self._timeout) as conn:
            cur = await conn.execute(_SELECT_RECENT, (limit,))
            rows = await cur.fetchall()
        return [_record(row) for row in rows]
