"""Versioned SQL migrations, applied at start under an advisory lock.

Every pod of every release runs this at start, so it must be idempotent and safe when several pods start at
once: the advisory lock serialises them and each applies only what the table says is missing. A replica cannot
be migrated: there we only check that the schema replicated from the primary is the one this build needs.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

from psycopg import AsyncConnection
from psycopg.rows import TupleRow

# Arbitrary but fixed: every nexus-api process must agree on it.
ADVISORY_LOCK_KEY = 0x6E6578_7573  # "nexus"
_FILE_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

_CREATE_TABLE = b"""
CREATE TABLE IF NOT EXISTS nexus_api_schema_migrations (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


class MigrationError(Exception):
    """The database's schema history disagrees with this build's migrations."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: bytes
    checksum: str


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    applied: tuple[int, ...]
    pending: tuple[int, ...]

    @property
    def ready(self) -> bool:
        return not self.pending


def load_migrations() -> list[Migration]:
    """The migrations shipped in the package, in version order."""
    found: list[Migration] = []
    for entry in (resources.files("nexus_api") / "migrations").iterdir():
        match = _FILE_RE.match(entry.name)
        if not match:
            continue
        sql = entry.read_bytes()
        found.append(Migration(int(match[1]), match[2], sql, hashlib.sha256(sql).hexdigest()))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"duplicate migration versions: {versions}")
    return found


async def _applied(conn: AsyncConnection[TupleRow]) -> dict[int, str]:
    cur = await conn.execute(
        "SELECT to_regclass('nexus_api_schema_migrations') IS NOT NULL",
    )
    row = await cur.fetchone()
    if not row or not row[0]:
        return {}
    cur = await conn.execute("SELECT version, checksum FROM nexus_api_schema_migrations")
    return {int(version): str(checksum) for version, checksum in await cur.fetchall()}


def _verify(applied: dict[int, str], migrations: list[Migration]) -> SchemaStatus:
    known = {m.version: m for m in migrations}
    for version, checksum in sorted(applied.items()):
        migration = known.get(version)
        if migration is None:
            # A newer release migrated this database; running older code against it could corrupt data.
            raise MigrationError(f"database has migration {version}, which this build does not know")
        if migration.checksum != checksum:
            raise MigrationError(f"migration {version} ({migration.name}) was changed after it was applied")
    pending = tuple(m.version for m in migrations if m.version not in applied)
    return SchemaStatus(applied=tuple(sorted(applied)), pending=pending)


async def check(conn: AsyncConnection[TupleRow], migrations: list[Migration]) -> SchemaStatus:
    """Compare the database's history with ``migrations`` without changing anything (works on a replica)."""
    return _verify(await _applied(conn), migrations)


async def migrate(conn: AsyncConnection[TupleRow], migrations: list[Migration]) -> SchemaStatus:
    """Apply what is missing, each migration in its own transaction. ``conn`` must be in autocommit mode.

    Statements run under the session's statement_timeout, so a stuck migration cannot hold the role monitor
    (which runs this) for long; a migration that needs longer says so itself with SET LOCAL statement_timeout.
    """
    await conn.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
    try:
        await conn.execute(_CREATE_TABLE)
        status = _verify(await _applied(conn), migrations)
        for migration in migrations:
            if migration.version not in status.pending:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO nexus_api_schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, migration.checksum),
                )
        return _verify(await _applied(conn), migrations)
    finally:
        # A broken connection has lost the session, and the lock with it.
        if not conn.broken:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
