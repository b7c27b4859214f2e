"""`nexus backup` and `./scripts/backup.sh` on the running sandbox: the local world (a dump of the real
primary in the emulator's S3, restored into a new server) and the AWS world (RDS snapshots in the emulator),
each read back by boto3."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.integration.conftest import nexus, nexus_json
from tests.integration.sandboxlib import data_plane, wait_for

from nexus_platform import model
from nexus_platform.world.local import api
from nexus_platform.world.local.backups import RestoreSite

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "backup.sh"
PREFIX = "nexus-backups/database/"


def backup(sandbox: dict[str, Any], *args: str, timeout: float = 300) -> tuple[int, dict[str, Any], str]:
    return nexus_json("backup", *args, env=sandbox["env"], timeout=timeout)


def _bucket(sandbox: dict[str, Any], role: str) -> tuple[Any, str]:
    region = sandbox["outputs"]["regions"][role]
    return sandbox["plane"].client("s3", region["region"]), region["state_bucket"]


def _ours(sandbox: dict[str, Any]) -> list[dict[str, Any]]:
    code, listed, stderr = backup(sandbox, "list")
    assert code == 0, stderr
    return [b for b in listed["backups"] if b["made_by_platform"]]


def test_the_script_is_a_dry_run_by_default(sandbox: dict[str, Any]) -> None:
    before = _ours(sandbox)
    result = subprocess.run(
        [str(SCRIPT)], env=sandbox["env"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "snapshot-database" in result.stdout and "dry run: nothing changed" in result.stdout
    assert _ours(sandbox) == before


def test_run_list_verify_and_a_corrupted_backup(sandbox: dict[str, Any]) -> None:
    code, report, stderr = backup(sandbox, "run", "--execute")
    assert code == 0, stderr
    assert report["outcome"] == "complete"
    backup_id = next(s for s in report["steps"] if s["name"] == "snapshot-database")["result"]["id"]
    listed = {(b["id"], b["role"]): b for b in _ours(sandbox)}
    for role in model.ROLES:
        assert (backup_id, role) in listed
        s3, bucket = _bucket(sandbox, role)
        head = s3.head_object(Bucket=bucket, Key=f"{PREFIX}{backup_id}.dump")
        assert head["ServerSideEncryption"] == "aws:kms"
        region = sandbox["outputs"]["regions"][role]["region"]
        assert head["SSEKMSKeyId"].startswith(f"arn:aws:kms:{region}:")  # each region's own key
        assert listed[(backup_id, role)]["encryption_key"] == head["SSEKMSKeyId"]

    # The writer's cache (an RDB file from BGSAVE) and the configuration export, beside the dump.
    s3, bucket = _bucket(sandbox, "primary")
    steps = {s["name"]: s["result"] for s in report["steps"]}
    assert steps["snapshot-cache"]["size_bytes"] > 0
    rdb = s3.get_object(Bucket=bucket, Key=f"nexus-backups/cache/{backup_id}.rdb")["Body"].read()
    assert rdb.startswith(b"REDIS")
    exported = json.loads(
        s3.get_object(Bucket=bucket, Key=f"nexus-backups/config/{backup_id}.json")["Body"].read()
    )
    assert exported["backup_id"] == backup_id and set(exported["deployed"]) == set(model.ROLES)
    assert exported["platform"]["regions"]["dr"]["db_instance_identifier"]

    # The emulated control plane's half: an AWS Backup job of the writer's (emulated) RDS instance in the
    # vault Terraform made, and the state buckets' replication rules (with metrics) both ways.
    outputs = sandbox["outputs"]["regions"]["primary"]
    job = steps["aws-backup-job"]
    assert (job["state"], job["vault"], job["resource"]) == (
        "COMPLETED",
        outputs["backup_vault_name"],
        outputs["db_instance_arn"],
    )
    described = (
        sandbox["plane"].client("backup", outputs["region"]).describe_backup_job(BackupJobId=job["id"])
    )
    assert described["IamRoleArn"] == outputs["backup_role_arn"]
    replication = steps["check-s3-replication"]
    assert {role: r["destination"] for role, r in replication.items()} == {
        "primary": sandbox["outputs"]["regions"]["dr"]["state_bucket"],
        "dr": outputs["state_bucket"],
    }
    assert all(r["ok"] for r in replication.values()), replication

    # Published to the Pushgateway, scraped by Prometheus as production's job nexus-ops: BackupTooOld's input.
    publish = next(s for s in report["steps"] if s["name"] == "publish-status")["result"]
    assert publish["published"] is True
    base = f"http://127.0.0.1:{model.sandbox_config().prometheus_port}"
    metric = "nexus_ops_backup_last_success_timestamp_seconds"

    def scraped() -> dict[tuple[str, str], float] | None:
        with urllib.request.urlopen(f"{base}/api/v1/query?query={metric}", timeout=5) as answer:
            result = json.loads(answer.read())["data"]["result"]
        found = {(r["metric"]["region"], r["metric"]["kind"]): float(r["value"][1]) for r in result}
        return found if len(found) == 2 else None

    series = wait_for(scraped, "the backup times in Prometheus", timeout=60)
    regions = {role: sandbox["outputs"]["regions"][role]["region"] for role in model.ROLES}
    assert set(series) == {(regions["primary"], "rds-snapshot"), (regions["dr"], "rds-snapshot-copy")}
    assert all(abs(value - time.time()) < 600 for value in series.values())

    code, verdict, stderr = backup(sandbox, "verify")
    assert code == 0, stderr
    assert verdict["verdict"] == "PASS" and verdict["backup_id"] == backup_id
    assert any(t["table"].endswith(".records") and t["rows"] > 0 for t in verdict["tables"]), verdict
    # The same backup's AWS Backup recovery point was restored through a restore job, which records the
    # data check as its validation result.
    validation = verdict["restore_validation"]
    assert validation["status"] == "SUCCESSFUL" and "tables match" in validation["message"], validation
    region = sandbox["outputs"]["regions"]["primary"]["region"]
    recorded = (
        sandbox["plane"].client("backup", region).describe_restore_job(RestoreJobId=validation["restore_job"])
    )
    assert (recorded["Status"], recorded["ValidationStatus"]) == ("COMPLETED", "SUCCESSFUL"), recorded

    s3, bucket = _bucket(sandbox, "dr")
    key = f"{PREFIX}{backup_id}.dump"
    body = bytearray(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    body[len(body) // 2 : len(body) // 2 + 32] = b"\xff" * 32
    tags = s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
    s3.put_object(Bucket=bucket, Key=key, Body=bytes(body))
    s3.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": tags})
    code, verdict, _ = backup(sandbox, "verify", "--id", backup_id, "--region-role", "dr")
    assert code == 1 and verdict["verdict"] == "FAIL", verdict
    entries = [json.loads(line) for line in (Path(sandbox["state"]) / "audit.log").read_text().splitlines()]
    assert [e["outcome"][:4] for e in entries if e["operation"] == "backup.verify"][-2:] == ["PASS", "FAIL"]


def test_prune_deletes_only_the_platforms_old_backups(sandbox: dict[str, Any]) -> None:
    """Seeded: two of the platform's backups 40 and 35 days old, a recent one, and someone else's 50 days
    old: only the platform's past the 30 days go."""
    s3, bucket = _bucket(sandbox, "primary")
    old = time.time() - 40 * 86400

    def seed(name: str, created: float, ours: bool) -> None:
        tags = {"nexus:created": f"{created:.3f}"}
        if ours:
            tags.update({"nexus:made-by": "nexus-backup", "nexus:kind": "database"})
        s3.put_object(
            Bucket=bucket, Key=f"{PREFIX}{name}.dump", Body=b"x", Tagging=urllib.parse.urlencode(tags)
        )

    seed("it-old-40", old, ours=True)
    seed("it-old-35", old + 5 * 86400, ours=True)
    seed("it-foreign-50", old - 10 * 86400, ours=False)
    seed("it-recent", time.time(), ours=True)
    code, plan, stderr = backup(sandbox, "prune")
    assert code == 0, stderr
    assert {s["name"] for s in plan["steps"]} == {"delete-primary-it-old-40", "delete-primary-it-old-35"}
    assert {b["id"] for b in _ours(sandbox)} >= {"it-old-40", "it-old-35"}  # a dry run deletes nothing

    code, report, stderr = backup(sandbox, "prune", "--execute")
    assert code == 0, stderr
    assert report["outcome"] == "complete"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=PREFIX).get("Contents", [])}
    assert f"{PREFIX}it-foreign-50.dump" in keys
    assert not {f"{PREFIX}it-old-40.dump", f"{PREFIX}it-old-35.dump"} & keys
    assert f"{PREFIX}it-recent.dump" in keys
    for name in ("it-foreign-50", "it-recent"):
        s3.delete_object(Bucket=bucket, Key=f"{PREFIX}{name}.dump")


def test_the_aws_world_snapshots_the_emulated_rds(sandbox: dict[str, Any]) -> None:
    code, report, stderr = backup(sandbox, "run", "--world", "aws", "--execute", timeout=600)
    assert code == 0, stderr
    assert report["outcome"] == "complete"
    backup_id = next(s for s in report["steps"] if s["name"] == "snapshot-database")["result"]["id"]
    try:
        for role in model.ROLES:
            region = sandbox["outputs"]["regions"][role]
            rds = sandbox["plane"].client("rds", region["region"])
            snapshot = rds.describe_db_snapshots(DBSnapshotIdentifier=backup_id)["DBSnapshots"][0]
            listed = rds.list_tags_for_resource(ResourceName=snapshot["DBSnapshotArn"])["TagList"]
            tags = {t["Key"]: t["Value"] for t in listed}
            assert tags["nexus:made-by"] == "nexus-backup"
            assert snapshot["Encrypted"] is True
            assert (
                snapshot["KmsKeyId"]
                == rds.describe_db_instances(DBInstanceIdentifier=region["db_instance_identifier"])[
                    "DBInstances"
                ][0]["KmsKeyId"]
            )
        # The writer's cache: an ElastiCache snapshot of its replication group, under the same id.
        primary = sandbox["outputs"]["regions"]["primary"]
        cache = sandbox["plane"].client("elasticache", primary["region"])
        [made] = cache.describe_snapshots(SnapshotName=backup_id)["Snapshots"]
        assert made["ReplicationGroupId"] == primary["cache_replication_group_id"]
        job = next(s for s in report["steps"] if s["name"] == "aws-backup-job")["result"]
        assert (job["state"], job["resource"]) == ("COMPLETED", primary["db_instance_arn"])
    finally:
        for role in model.ROLES:
            rds = sandbox["plane"].client("rds", sandbox["outputs"]["regions"][role]["region"])
            rds.delete_db_snapshot(DBSnapshotIdentifier=backup_id)
        cache = sandbox["plane"].client("elasticache", sandbox["outputs"]["regions"]["primary"]["region"])
        with contextlib.suppress(Exception):
            cache.delete_snapshot(SnapshotName=backup_id)


def test_restore_a_backup_into_a_new_server(sandbox: dict[str, Any]) -> None:
    """`nexus backup restore`: a dry run changes nothing; --execute makes a new PostgreSQL (TLS, run by the
    sandbox) with the backup's tables, checked against its manifest; again: skipped. --to-time: the base
    backup `run` took plus the archived WAL recover a new server to exactly that time (a row committed before
    it is there, one committed after it is not); a time before any base backup is refused in one line."""
    code, report, stderr = backup(sandbox, "run", "--execute")
    assert code == 0, stderr
    backup_id = next(s for s in report["steps"] if s["name"] == "snapshot-database")["result"]["id"]
    name = f"it-restore-{int(time.time())}"
    args = ("restore", "--region", "primary", "--backup", backup_id, "--name", name)
    code, plan, stderr = backup(sandbox, *args)
    assert code == 0, stderr
    assert [(s["name"], s["done"]) for s in plan["steps"]] == [("restore-into-new-instance", False)]
    plane = data_plane()
    region = plane.region("primary")
    assert not (plane.root / region / "restores" / name).exists()  # the dry run made nothing

    code, done, stderr = backup(sandbox, *args, "--execute")
    assert code == 0, stderr
    result = done["steps"][0]["result"]
    assert (result["status"], result["source"]) == ("available", f"backup {backup_id}")
    assert result["detail"].endswith("tables match the backup's manifest")
    site = RestoreSite(plane.root, plane.processes, plane.pg_tls(), plane.pg_settings())
    server = site.server(region, name)
    assert server is not None and result["endpoint"] == f"127.0.0.1:{server.port}"
    database = api.database_name(plane.chart)
    tables = server.admin("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", dbname=database)
    assert tables[0][0] >= 1
    assert server.admin("SHOW ssl")[0][0] == "on"

    code, again, stderr = backup(sandbox, *args, "--execute")
    assert code == 0, stderr
    assert [s["status"] for s in again["steps"]] == ["skipped"]

    server.stop()

    refused = nexus("backup", "restore", "--to-time", "2026-12-05T10:00:00Z", "--name", "x", "--execute",
                    env=sandbox["env"])  # fmt: skip
    assert refused.returncode == 1 and "no base backup" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr

    writer = plane.postgres(plane.writer())
    table = f"pitr_{int(time.time())}"
    writer.admin(f"CREATE TABLE {table} (step text)", dbname=database)
    writer.admin(f"INSERT INTO {table} VALUES ('before')", dbname=database)
    time.sleep(1.0)
    at = time.time()
    time.sleep(1.0)
    writer.admin(f"INSERT INTO {table} VALUES ('after')", dbname=database)
    when = datetime.fromtimestamp(at, UTC).isoformat()
    pitr = f"it-pitr-{int(time.time())}"
    began = time.monotonic()
    code, done, stderr = backup(sandbox, "restore", "--to-time", when, "--name", pitr, "--execute")
    assert code == 0, stderr
    print(f"\npoint-in-time restore: {time.monotonic() - began:.1f} s")
    result = done["steps"][0]["result"]
    assert result["status"] == "available" and "base backup" in result["source"], result
    recovered = site.server(plane.region(plane.writer()), pitr)
    assert recovered is not None
    try:
        assert recovered.admin("SELECT pg_is_in_recovery()")[0][0] is False  # promoted at the target
        assert recovered.admin(f"SELECT step FROM {table}", dbname=database) == [("before",)]
    finally:
        recovered.stop()
        writer.admin(f"DROP TABLE {table}", dbname=database)
