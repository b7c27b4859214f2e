"""The sandbox's database backups: a logical dump of the region's PostgreSQL in the region's bucket (the
emulator's S3), SSE-KMS with the bucket's own key, tagged as `nexus backup` tags its RDS snapshots on AWS.

Why pg_dump and not pg_basebackup: a verify must compare the restored data with the source *at the backup's
time*. pg_dump runs in a snapshot the toolkit exports (pg_export_snapshot), and the manifest of every table
(row count and an order-independent checksum) is read in that same snapshot, so the comparison is exact while
the platform keeps writing. A physical base backup has no such point to compare with; it is what
point-in-time restore needs (with archived WAL), which the sandbox does not offer yet.

Each backup is two objects under `nexus-backups/database/` of the region's bucket: `<id>.dump` (tagged) and
`<id>.manifest.json`. A verify restores the dump into a scratch PostgreSQL of its own (nexus-api's
`localservers`, on a free port), compares it table by table, tags the verdict and removes the scratch server.

A restore makes a new PostgreSQL that stays (the sandbox's equivalent of a new DB instance): in the region's
folder under `restores/<name>`, on a free port kept beside it, TLS like the region's own, run by the sandbox's
process manager (so `nexus down` stops and removes it with the rest); the dump restored and checked against
its manifest. Point-in-time restore needs archived WAL, which the sandbox does not keep: it is refused.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from botocore.exceptions import ClientError
from nexus_api.localservers import LocalServerError, PostgresServer
from psycopg import sql
from redis.exceptions import RedisError

from nexus_platform.errors import NexusError
from nexus_platform.world.aws.backup_jobs import BackupJobs
from nexus_platform.world.base import (
    Backup,
    BackupJob,
    CacheSnapshot,
    Replication,
    Restored,
    TableCheck,
    Verification,
)
from nexus_platform.world.local.postgres import LocalPostgres, TlsFiles
from nexus_platform.world.local.processes import ProcessManager, free_port
from nexus_platform.world.local.redis import LocalRedis

PREFIX = "nexus-backups/database/"
CACHE_PREFIX = "nexus-backups/cache/"
CONFIG_PREFIX = "nexus-backups/config/"
# Point-in-time restore's inputs: a physical base backup per `backup run`, and the archived WAL of each
# source database (shipped from its server's spool).
BASE_PREFIX = "nexus-backups/base/"
WAL_PREFIX = "nexus-backups/wal/"
MADE_BY = ("nexus:made-by", "nexus-backup")
KIND = ("nexus:kind", "database")
SOURCE_TAG = "nexus:source"
CREATED_TAG = "nexus:created"
STARTED_TAG = "nexus:started"
VERIFIED_TAG = "nexus:verified"

Manifest = dict[str, dict[str, Any]]


def table_manifest(conn: psycopg.Connection[Any]) -> Manifest:
    """Every user table's row count and checksum (md5 over the sorted md5s of its rows: independent of the
    physical order, which a restore changes), read in the connection's current transaction."""
    tables = [
        (schema, name)
        for schema, name in conn.execute(
            "SELECT schemaname, tablename FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
        ).fetchall()
    ]
    manifest: Manifest = {}
    for schema, name in tables:
        query = sql.SQL(
            "SELECT count(*), md5(coalesce(string_agg(md5(t::text), '' ORDER BY md5(t::text)), '')) FROM {} t"
        ).format(sql.Identifier(schema, name))
        rows, checksum = conn.execute(query).fetchone() or (0, "")
        manifest[f"{schema}.{name}"] = {"rows": int(rows), "checksum": str(checksum)}
    return manifest


def compare(expected: Manifest, found: Manifest) -> tuple[TableCheck, ...]:
    return tuple(
        TableCheck(
            table,
            (found.get(table) or {}).get("rows"),
            (expected.get(table) or {}).get("rows"),
            (found.get(table) or {}).get("checksum"),
            (expected.get(table) or {}).get("checksum"),
        )
        for table in sorted(set(expected) | set(found))
    )


def _iso(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class RestoreSite:
    """Where the sandbox's restores live: `<root>/<region>/restores/<name>`, each a LocalPostgres whose port
    is chosen once and kept in its folder (`port`), so every later call finds the same server."""

    def __init__(
        self, root: Path, processes: ProcessManager, tls: TlsFiles, settings: Mapping[str, str]
    ) -> None:
        self.root, self.processes, self.tls, self.settings = root, processes, tls, dict(settings)

    def server(self, region: str, name: str) -> LocalPostgres | None:
        """The restore `name` of `region`, if one was begun."""
        folder = self.root / region / "restores" / name
        try:
            port = int((folder / "port").read_text())
        except (OSError, ValueError):
            return None
        return LocalPostgres(f"{region}.restore.{name}", folder, port, self.processes)

    def new(self, region: str, name: str) -> LocalPostgres:
        folder = self.root / region / "restores" / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "port").write_text(str(free_port()))
        server = self.server(region, name)
        assert server is not None
        return server


class LocalBackups:
    """`Backups` over the sandbox: `servers(role)` gives the region's PostgreSQL, `s3(role)` an S3 client of
    its region, `buckets` and `sources` name each region's bucket and database (Terraform's outputs)."""

    def __init__(
        self,
        servers: Callable[[str], LocalPostgres],
        s3: Callable[[str], Any],
        *,
        regions: Mapping[str, str],
        buckets: Mapping[str, str],
        sources: Mapping[str, str],
        database: str,
        restores: RestoreSite | None = None,
        caches: Callable[[str], tuple[LocalRedis, str]] | None = None,
        jobs: BackupJobs | None = None,
    ) -> None:
        self.servers, self.s3 = servers, s3
        self.regions, self.buckets, self.sources, self.database = regions, buckets, sources, database
        self.restores = restores
        self.caches = caches  # role -> the region's Redis and its AUTH token
        # AWS Backup and S3 replication are the emulated control plane's (world/aws/backup_jobs.py).
        self.jobs = jobs

    # --- naming -------------------------------------------------------------------------------------------
    def _key(self, backup_id: str, suffix: str = ".dump") -> str:
        return f"{PREFIX}{backup_id}{suffix}"

    def _bucket_key(self, role: str) -> str | None:
        """The KMS key the region's bucket encrypts with by default (Terraform's), or None."""
        try:
            rules = self.s3(role).get_bucket_encryption(Bucket=self.buckets[role])[
                "ServerSideEncryptionConfiguration"
            ]["Rules"]
        except ClientError:
            return None
        for rule in rules:
            key = (rule.get("ApplyServerSideEncryptionByDefault") or {}).get("KMSMasterKeyID")
            if key:
                return str(key)
        return None

    def _put(self, role: str, key: str, body: bytes, tags: Mapping[str, str] | None = None) -> None:
        extra: dict[str, Any] = {"ServerSideEncryption": "aws:kms"}
        kms = self._bucket_key(role)
        if kms:
            extra["SSEKMSKeyId"] = kms
        if tags:
            extra["Tagging"] = urllib.parse.urlencode(tags)
        self.s3(role).put_object(Bucket=self.buckets[role], Key=key, Body=body, **extra)

    # --- Backups ------------------------------------------------------------------------------------------
    def create(self, role: str, backup_id: str) -> Backup:
        server = self.servers(role)
        folder = Path(tempfile.mkdtemp(prefix="nexus-backup-"))
        try:
            folder.chmod(0o700)
            server.run_as.own(folder)
            target = folder / "db.dump"
            with server.connect(self.database, timeout=10) as conn:
                # One snapshot for the whole transaction (psycopg begins it with these on the first query).
                conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                conn.read_only = True
                snapshot = str((conn.execute("SELECT pg_export_snapshot()").fetchone() or [""])[0])
                manifest = table_manifest(conn)
                # The dump sees exactly what the manifest saw: the snapshot lives while this transaction does.
                server.dump(self.database, target, snapshot=snapshot)
                conn.rollback()
            body = target.read_bytes()
            # The physical copy point-in-time restore starts from (the dump above cannot replay WAL).
            self.ship_wal(role)  # what is complete now ends before the base backup starts
            base_started = time.time()
            base = server.physical_backup(folder / "base")
            base_done = time.time()
            self._put(
                role,
                f"{BASE_PREFIX}{backup_id}.tar.gz",
                base.read_bytes(),
                {
                    MADE_BY[0]: MADE_BY[1],
                    SOURCE_TAG: self.sources[role],
                    STARTED_TAG: f"{base_started:.3f}",
                    CREATED_TAG: f"{base_done:.3f}",
                },
            )
            self.ship_wal(role)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        created = time.time()
        tags = {
            MADE_BY[0]: MADE_BY[1],
            KIND[0]: KIND[1],
            SOURCE_TAG: self.sources[role],
            CREATED_TAG: f"{created:.3f}",
        }
        record = {"id": backup_id, "source": self.sources[role], "created": created, "tables": manifest}
        self._put(role, self._key(backup_id, ".manifest.json"), json.dumps(record).encode())
        self._put(role, self._key(backup_id), body, tags)
        found = self.get(backup_id, role)
        assert found is not None
        return found

    def copy(self, backup_id: str, source: str, to: str) -> Backup:
        existing = self.get(backup_id, to)
        if existing is not None:
            return existing
        src = self.s3(source)
        bucket = self.buckets[source]
        body = src.get_object(Bucket=bucket, Key=self._key(backup_id))["Body"].read()
        manifest = src.get_object(Bucket=bucket, Key=self._key(backup_id, ".manifest.json"))["Body"].read()
        tags = {
            t["Key"]: t["Value"]
            for t in src.get_object_tagging(Bucket=bucket, Key=self._key(backup_id))["TagSet"]
            if t["Key"] != VERIFIED_TAG
        }
        # Manifest first: a dump without its manifest would list as a backup that cannot be verified.
        self._put(to, self._key(backup_id, ".manifest.json"), manifest)
        self._put(to, self._key(backup_id), body, tags)
        copied = self.get(backup_id, to)
        assert copied is not None
        return copied

    def get(self, backup_id: str, role: str) -> Backup | None:
        s3, bucket, key = self.s3(role), self.buckets[role], self._key(backup_id)
        try:
            head = s3.head_object(Bucket=bucket, Key=key)
            tags = {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        created = tags.get(CREATED_TAG)
        return Backup(
            id=backup_id,
            role=role,
            region=self.regions[role],
            created=float(created) if created else head["LastModified"].timestamp(),
            status="available",
            source=tags.get(SOURCE_TAG, "unknown"),
            size_bytes=int(head.get("ContentLength", 0)),
            encryption_key=head.get("SSEKMSKeyId"),
            made_by_platform=tags.get(MADE_BY[0]) == MADE_BY[1],
            verified=tags.get(VERIFIED_TAG, "").split("@")[0] or None,
        )

    def list(self) -> list[Backup]:
        found: list[Backup] = []
        for role in self.buckets:
            paginator = self.s3(role).get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.buckets[role], Prefix=PREFIX):
                for entry in page.get("Contents", []):
                    key = str(entry["Key"])
                    if key.endswith(".dump"):
                        backup = self.get(key[len(PREFIX) : -len(".dump")], role)
                        if backup is not None:
                            found.append(backup)
        return sorted(found, key=lambda b: (b.role, b.created))

    def verify(self, backup_id: str, role: str) -> Verification:
        s3, bucket = self.s3(role), self.buckets[role]
        try:
            body = s3.get_object(Bucket=bucket, Key=self._key(backup_id))["Body"].read()
            record = json.loads(
                s3.get_object(Bucket=bucket, Key=self._key(backup_id, ".manifest.json"))["Body"].read()
            )
            expected: Manifest = record["tables"]
        except (ClientError, ValueError, KeyError, TypeError) as exc:
            return self._verdict(backup_id, role, False, f"cannot read the backup or its manifest: {exc}")
        try:
            scratch = PostgresServer.create(name="nexus-verify")
        except LocalServerError as exc:
            raise NexusError(f"cannot make a scratch PostgreSQL: {str(exc).splitlines()[0]}") from None
        try:
            scratch.start()
            scratch.create_database(self.database)
            dump = scratch.root / "restore.dump"
            dump.write_bytes(body)
            scratch.run_as.own(dump)
            restored = scratch.run_as.run(
                [
                    str(scratch.bin_dir / "pg_restore"),
                    "--no-owner",
                    "--no-privileges",
                    "--exit-on-error",
                    "--host=127.0.0.1",
                    f"--port={scratch.port}",
                    "--username=postgres",
                    f"--dbname={self.database}",
                    str(dump),
                ],
                timeout=600,
                check=False,
            )
            if restored.returncode != 0:
                last = (restored.stderr.strip() or "no output").splitlines()[-1]
                return self._verdict(backup_id, role, False, f"the dump does not restore: {last}")
            with psycopg.connect(scratch.dsn(self.database), connect_timeout=5) as conn:
                tables = compare(expected, table_manifest(conn))
        finally:
            scratch.destroy()
        bad = [check.table for check in tables if not check.ok]
        detail = (
            f"{len(tables)} tables match the source at the backup's time"
            if not bad
            else f"{len(bad)} of {len(tables)} tables differ from the source: {', '.join(bad)}"
        )
        return self._verdict(backup_id, role, not bad, detail, tables)

    def _read(self, role: str, backup_id: str) -> tuple[bytes, Manifest]:
        s3, bucket = self.s3(role), self.buckets[role]
        body = s3.get_object(Bucket=bucket, Key=self._key(backup_id))["Body"].read()
        record = json.loads(
            s3.get_object(Bucket=bucket, Key=self._key(backup_id, ".manifest.json"))["Body"].read()
        )
        return body, record["tables"]

    def restore(self, role: str, name: str, backup_id: str | None, to_time: float | None) -> Restored:
        found = self.restored(role, name)
        if found is not None and found.status == "available":
            return found
        if to_time is not None:
            return self._restore_to_time(role, name, to_time)
        if backup_id is None:
            raise NexusError("name the backup to restore", hint="`nexus backup list` lists them")
        if self.restores is None:
            raise NexusError("this sandbox world has no place for restores")
        try:
            body, manifest = self._read(role, backup_id)
        except (ClientError, ValueError, KeyError, TypeError) as exc:
            raise NexusError(f"cannot read backup {backup_id} or its manifest: {exc}") from None
        region = self.regions[role]
        server = self.restores.server(region, name)
        if server is None or not server.exists():
            if server is not None:
                shutil.rmtree(server.root, ignore_errors=True)  # a restore that stopped before initdb ended
            server = self.restores.new(region, name)
            server.initdb(self.restores.tls, self.restores.settings)
        server.start()
        server.admin(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(self.database)).as_string())
        server.ensure_database(self.database, "postgres")
        dump = server.root / "restore.dump"
        dump.write_bytes(body)
        server.run_as.own(dump)
        try:
            server.restore_dump(self.database, dump)
        finally:
            dump.unlink(missing_ok=True)
        with server.connect(self.database) as conn:
            tables = compare(manifest, table_manifest(conn))
        bad = [check.table for check in tables if not check.ok]
        if bad:
            raise NexusError(f"the restore differs from backup {backup_id}'s manifest in {', '.join(bad)}")
        (server.root / "source").write_text(f"backup {backup_id}")
        restored = self.restored(role, name)
        assert restored is not None
        return Restored(
            **{**restored.__dict__, "detail": f"{len(tables)} tables match the backup's manifest"}
        )

    def restored(self, role: str, name: str) -> Restored | None:
        region = self.regions[role]
        server = self.restores.server(region, name) if self.restores else None
        if server is None or not (server.root / "source").exists():
            return None
        return Restored(
            name=name,
            role=role,
            region=region,
            source=(server.root / "source").read_text(),
            endpoint=f"127.0.0.1:{server.port}",
            status="available" if server.running() and server.accepting() else "stopped",
        )

    def _exists(self, role: str, key: str) -> int | None:
        """The object's size, None when there is none."""
        try:
            head = self.s3(role).head_object(Bucket=self.buckets[role], Key=key)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return int(head.get("ContentLength", 0))

    def snapshot_cache(self, role: str, backup_id: str) -> CacheSnapshot:
        """BGSAVE on the region's Redis, then its RDB file into the bucket (tagged as the platform's)."""
        found = self.cache_snapshot(role, backup_id)
        if found is not None:
            return found
        if self.caches is None:
            raise NexusError("this sandbox world has no cache to snapshot")
        server, token = self.caches(role)
        try:
            with server.client(token, timeout=10) as client:
                before = int(client.lastsave().timestamp())
                client.bgsave()
                deadline = time.monotonic() + 60
                while True:
                    info = client.info("persistence")
                    if (
                        not info.get("rdb_bgsave_in_progress")
                        and int(info.get("rdb_last_save_time", 0)) >= before
                    ):
                        break
                    if time.monotonic() > deadline:
                        raise NexusError(f"{server.name}: BGSAVE did not finish within 60s")
                    time.sleep(0.1)
                if info.get("rdb_last_bgsave_status") != "ok":
                    raise NexusError(f"{server.name}: BGSAVE failed", hint=f"see {server.root}")
        except (OSError, RedisError) as exc:
            raise NexusError(f"{server.name}: cannot snapshot: {exc}") from None
        body = (server.root / "dump.rdb").read_bytes()
        tags = {
            MADE_BY[0]: MADE_BY[1],
            KIND[0]: "cache",
            SOURCE_TAG: server.name,
            CREATED_TAG: f"{time.time():.3f}",
        }
        self._put(role, f"{CACHE_PREFIX}{backup_id}.rdb", body, tags)
        made = self.cache_snapshot(role, backup_id)
        assert made is not None
        return made

    def cache_snapshot(self, role: str, backup_id: str) -> CacheSnapshot | None:
        size = self._exists(role, f"{CACHE_PREFIX}{backup_id}.rdb")
        if size is None:
            return None
        source = self.caches(role)[0].name if self.caches else "redis"
        return CacheSnapshot(backup_id, self.regions[role], source, "available", size)

    def export_config(self, role: str, backup_id: str, document: Mapping[str, Any]) -> str:
        key = f"{CONFIG_PREFIX}{backup_id}.json"
        self._put(role, key, json.dumps(document, indent=2).encode(), {MADE_BY[0]: MADE_BY[1]})
        return f"s3://{self.buckets[role]}/{key}"

    def _jobs(self) -> BackupJobs:
        if self.jobs is None:
            raise NexusError("this sandbox world has no emulated AWS Backup")
        return self.jobs

    def backup_job(self, role: str, backup_id: str) -> BackupJob:
        """The emulated vault's job of the emulated RDS instance (the data itself is the dump above)."""
        return self._jobs().start(role, backup_id)

    def replication(self, role: str) -> Replication:
        return self._jobs().replication(role)

    def config_export(self, role: str, backup_id: str) -> str | None:
        key = f"{CONFIG_PREFIX}{backup_id}.json"
        return None if self._exists(role, key) is None else f"s3://{self.buckets[role]}/{key}"

    def _verdict(
        self, backup_id: str, role: str, ok: bool, detail: str, tables: tuple[TableCheck, ...] = ()
    ) -> Verification:
        # The emulated AWS Backup recovery point of the same backup: restored through a restore job that
        # records this check of the data as its validation result (AWS's restore-testing record).
        validation = self.jobs.validate_restore(role, backup_id, (ok, detail)) if self.jobs else None
        if validation is not None and not validation.ok:
            ok, detail = (
                False,
                f"{detail}; AWS Backup restore job {validation.restore_job}: {validation.message}",
            )
        s3, bucket, key = self.s3(role), self.buckets[role], self._key(backup_id)
        try:
            tags = {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}
            tags[VERIFIED_TAG] = f"{'PASS' if ok else 'FAIL'}@{int(time.time())}"
            s3.put_object_tagging(
                Bucket=bucket, Key=key, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]}
            )
        except ClientError:
            pass  # a backup that is gone has nowhere to record its verdict: the report still says it
        return Verification(backup_id, role, ok, detail, tables, validation)

    def delete(self, backup_id: str, role: str) -> None:
        for suffix in (".dump", ".manifest.json"):
            self.s3(role).delete_object(Bucket=self.buckets[role], Key=self._key(backup_id, suffix))
        self.s3(role).delete_object(Bucket=self.buckets[role], Key=f"{BASE_PREFIX}{backup_id}.tar.gz")
        self._prune_wal(role)

    def _prune_wal(self, role: str) -> None:
        """WAL no remaining base backup needs: what was shipped before the oldest one began (a segment is
        shipped only once complete, so it ended before that base backup started). With no base backup left,
        none is kept for point-in-time restore, so none is deleted either (a later one may still use them)."""
        s3, bucket = self.s3(role), self.buckets[role]
        started = []
        for key in self._objects(role, BASE_PREFIX):
            tags = {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}
            if tags.get(SOURCE_TAG) == self.sources[role] and STARTED_TAG in tags:
                started.append(float(tags[STARTED_TAG]))
        if not started:
            return
        oldest = min(started)
        paginator = s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=f"{WAL_PREFIX}{self.sources[role]}/"):
            for entry in page.get("Contents", []):
                if entry["LastModified"].timestamp() < oldest:
                    s3.delete_object(Bucket=bucket, Key=entry["Key"])

    # --- point in time ------------------------------------------------------------------------------------
    def ship_wal(self, role: str) -> int:
        """Move the segments archive_command spooled beside `role`'s server into its bucket (SSE-KMS, the
        bucket's key), oldest first; returns how many. A segment leaves the spool once it is in the bucket."""
        spool = self.servers(role).wal_spool
        shipped = 0
        for segment in sorted(spool.glob("*")) if spool.is_dir() else []:
            if segment.suffix == ".part" or not segment.is_file():
                continue  # still being written by archive_command
            self._put(role, f"{WAL_PREFIX}{self.sources[role]}/{segment.name}", segment.read_bytes())
            segment.unlink()
            shipped += 1
        return shipped

    def _objects(self, role: str, prefix: str) -> tuple[str, ...]:
        paginator = self.s3(role).get_paginator("list_objects_v2")
        return tuple(
            str(entry["Key"])
            for page in paginator.paginate(Bucket=self.buckets[role], Prefix=prefix)
            for entry in page.get("Contents", [])
        )

    def _base_before(self, role: str, to_time: float) -> tuple[str, float]:
        """The newest base backup of `role`'s database finished at or before `to_time`."""
        s3, bucket = self.s3(role), self.buckets[role]
        bases = []
        for key in self._objects(role, BASE_PREFIX):
            tags = {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}
            if tags.get(SOURCE_TAG) == self.sources[role] and CREATED_TAG in tags:
                bases.append((float(tags[CREATED_TAG]), key))
        usable = [b for b in bases if b[0] <= to_time]
        if not usable:
            start = f"; the window starts at {_iso(min(bases)[0])}" if bases else ""
            raise NexusError(
                f"no base backup of {self.sources[role]} finished before {_iso(to_time)}{start}",
                hint="a point in time after a `nexus backup run --execute` can be restored",
            )
        created, key = max(usable)
        return key, created

    def _restore_to_time(self, role: str, name: str, to_time: float) -> Restored:
        if to_time > time.time():
            raise NexusError(f"--to-time {_iso(to_time)} is in the future", hint="give a time in the past")
        if self.restores is None:
            raise NexusError("this sandbox world has no place for restores")
        source = self.servers(role)
        if source.running() and not source.in_recovery():
            source.archive_now()  # the WAL up to now, with a commit after --to-time to stop at
        self.ship_wal(role)
        base_key, base_time = self._base_before(role, to_time)
        region = self.regions[role]
        server = self.restores.server(region, name)
        if server is not None:
            server.destroy()  # a restore that did not finish: start again from the base backup
        server = self.restores.new(region, name)
        s3, bucket = self.s3(role), self.buckets[role]
        fetched = server.root / "wal-fetch"
        fetched.mkdir(parents=True, exist_ok=True)
        for key in self._objects(role, f"{WAL_PREFIX}{self.sources[role]}/"):
            path = fetched / key.rsplit("/", 1)[1]
            path.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            server.run_as.own(path)
        server.run_as.own(fetched)
        tar = server.root / "base.tar.gz"
        tar.write_bytes(s3.get_object(Bucket=bucket, Key=base_key)["Body"].read())
        server.run_as.own(tar)
        target = datetime.fromtimestamp(to_time, UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")
        try:
            server.recover_from(
                tar,
                tls=self.restores.tls,
                settings=self.restores.settings,
                recovery={
                    "restore_command": f"'cp {fetched}/%f %p'",
                    "recovery_target_time": f"'{target}'",
                    "recovery_target_action": "'promote'",
                },
            )
        finally:
            tar.unlink(missing_ok=True)
        try:
            server.start()
            deadline = time.monotonic() + 120
            while server.in_recovery():
                if time.monotonic() > deadline:
                    raise NexusError(f"{server.name} did not finish recovering to {target} within 120 s")
                time.sleep(0.2)
        except NexusError as exc:
            raise NexusError(
                f"recovery to {target} failed: {exc}",
                hint=f"the archived WAL may not reach that time; see {server.root}",
            ) from None
        shutil.rmtree(fetched, ignore_errors=True)
        base_name = base_key.rsplit("/", 1)[1]
        (server.root / "source").write_text(
            f"{self.sources[role]} at {target} (base backup {base_name} of {_iso(base_time)})"
        )
        restored = self.restored(role, name)
        assert restored is not None
        return Restored(**{**restored.__dict__, "detail": f"recovered to {target} and promoted"})
