"""Database backups: the retention rule (runbooks/backup.py), the sandbox's backups on a real PostgreSQL with
S3 in moto (world/local/backups.py: a dump taken while writes go on verifies against the source at its time;
a corrupted or tampered backup FAILS), and the AWS world's RDS snapshots in moto (world/aws/backups.py)."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from tests.support import free_port
from tests.unit.test_world_aws import _build

from nexus_platform import platform as platform_model
from nexus_platform import telemetry
from nexus_platform.errors import InputError, NexusError
from nexus_platform.platform import Platform
from nexus_platform.runbooks import backup as backups
from nexus_platform.sandbox import tls
from nexus_platform.world.aws.backups import AwsBackups
from nexus_platform.world.aws.clients import Clients, Waiting
from nexus_platform.world.aws.rds import actions as rds_actions
from nexus_platform.world.base import Backup
from nexus_platform.world.local.backups import LocalBackups, RestoreSite
from nexus_platform.world.local.postgres import LocalPostgres, TlsFiles, archive_settings
from nexus_platform.world.local.processes import ProcessManager

DAY = 86400.0
NOW = 1_800_000_000.0
REGIONS = {"primary": "us-east-1", "dr": "eu-west-1"}


def backup(
    role: str, age_days: float, *, ours: bool = True, verified: str | None = None, name: str = ""
) -> Backup:
    return Backup(
        id=name or f"{role}-{age_days:g}",
        role=role,
        region=REGIONS[role],
        created=NOW - age_days * DAY,
        status="available",
        source="db",
        size_bytes=1,
        encryption_key=None,
        made_by_platform=ours,
        verified=verified,
    )


# --- the retention rule -------------------------------------------------------------------------------------


def test_prune_takes_only_the_platforms_backups_past_the_retention() -> None:
    found = [
        backup("primary", 40),
        backup("primary", 31),
        backup("primary", 29),
        backup("primary", 45, ours=False),  # someone else's snapshot: never ours to delete
        backup("dr", 35),
        backup("dr", 1),
    ]
    doomed = {b.id for b in backups.prunable(found, NOW, 30)}
    assert doomed == {"primary-40", "primary-31", "dr-35"}


def test_prune_never_removes_the_newest_good_backup_of_a_region() -> None:
    # Everything is old: the newest good one stays, also when a newer one failed its verify.
    found = [backup("primary", 60), backup("primary", 50), backup("primary", 40, verified="FAIL")]
    assert [b.id for b in backups.prunable(found, NOW, 30)] == ["primary-60", "primary-40"]
    assert backups.prunable([backup("dr", 90)], NOW, 30) == []


def test_backup_ids_are_valid_rds_snapshot_identifiers() -> None:
    class Facts:
        db_instance_identifier = "nexus-production-us-east-1-postgres"

    class Model:
        def region(self, role: str) -> Facts:
            return Facts()

    made = backups.new_id(Model(), "primary", NOW)  # type: ignore[arg-type]
    assert made == "nexus-production-us-east-1-postgres-nexus-20270115-080000"
    # RDS: 1-255 letters, digits or hyphens; a letter first; no two hyphens in a row; no hyphen last.
    assert re.fullmatch(r"[a-zA-Z](?!.*--)[a-zA-Z0-9-]{0,254}(?<!-)", made)


# --- the sandbox's backups: a real PostgreSQL, S3 in moto --------------------------------------------------


@pytest.fixture
def server() -> Iterator[LocalPostgres]:
    root = Path(tempfile.mkdtemp(prefix="nexus-backup-test-"))
    root.chmod(0o755)
    certs = tls.ensure(root / "tls")
    pg = LocalPostgres(
        "backup.postgres", root / "pg", free_port(), ProcessManager(root / "run", root / "logs")
    )
    try:
        # Archiving as the sandbox's servers do: point-in-time restore replays the spooled WAL.
        pg.initdb(TlsFiles(certs.certificate, certs.key, certs.ca), archive_settings())
        pg.start()
        pg.admin("CREATE DATABASE nexus")
        pg.admin(
            "CREATE TABLE records (id text PRIMARY KEY, data jsonb, n int); "
            "INSERT INTO records SELECT 'r' || g, jsonb_build_object('g', g), g "
            "FROM generate_series(1, 2000) g; "
            "CREATE TABLE audit (at timestamptz DEFAULT now(), what text)",
            dbname="nexus",
        )
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


def _store(server: LocalPostgres, restores: RestoreSite | None = None) -> LocalBackups:
    buckets = {"primary": "state-primary", "dr": "state-dr"}
    for role, bucket in buckets.items():
        s3 = boto3.client("s3", region_name=REGIONS[role])
        kms = boto3.client("kms", region_name=REGIONS[role]).create_key()["KeyMetadata"]["Arn"]
        config: dict[str, Any] = (
            {} if role == "primary" else {"CreateBucketConfiguration": {"LocationConstraint": REGIONS[role]}}
        )
        s3.create_bucket(Bucket=bucket, **config)
        s3.put_bucket_encryption(
            Bucket=bucket,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms}}
                ]
            },
        )
    return LocalBackups(
        lambda role: server,
        lambda role: boto3.client("s3", region_name=REGIONS[role]),
        regions=REGIONS,
        buckets=buckets,
        sources={"primary": "nexus-sandbox-us-east-1-postgres", "dr": "nexus-sandbox-eu-west-1-postgres"},
        database="nexus",
        restores=restores,
    )


@pytest.fixture
def store(aws: None, server: LocalPostgres) -> LocalBackups:
    return _store(server)


def test_a_backup_taken_under_writes_verifies_against_the_source_at_its_time(
    store: LocalBackups, server: LocalPostgres
) -> None:
    stop = threading.Event()

    def write() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            server.admin(
                f"INSERT INTO records VALUES ('w{n}', '{{}}', {n}); "
                "UPDATE records SET n = n + 1 WHERE id = 'r1'",
                dbname="nexus",
            )

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        made = store.create("primary", "nexus-test-1")
    finally:
        stop.set()
        writer.join(timeout=10)
    assert made.made_by_platform and made.region == "us-east-1" and made.size_bytes and made.size_bytes > 0
    assert made.encryption_key and made.encryption_key.startswith("arn:aws:kms:us-east-1:")
    # The source moved on since: the verify compares with the backup's own time, not with now.
    result = store.verify("nexus-test-1", "primary")
    assert result.ok, result.detail
    assert {t.table for t in result.tables} == {"public.records", "public.audit"}
    assert next(t for t in result.tables if t.table == "public.records").rows >= 2000  # type: ignore[operator]
    assert store.get("nexus-test-1", "primary").verified == "PASS"  # type: ignore[union-attr]

    copied = store.copy("nexus-test-1", "primary", "dr")
    assert copied.region == "eu-west-1" and copied.made_by_platform and copied.verified is None
    assert copied.encryption_key and copied.encryption_key.startswith("arn:aws:kms:eu-west-1:")
    assert store.copy("nexus-test-1", "primary", "dr") == copied  # idempotent
    assert store.verify("nexus-test-1", "dr").ok
    assert [(b.id, b.role) for b in store.list()] == [("nexus-test-1", "dr"), ("nexus-test-1", "primary")]

    store.delete("nexus-test-1", "dr")
    assert store.get("nexus-test-1", "dr") is None
    store.delete("nexus-test-1", "dr")  # idempotent


def test_a_corrupted_backup_fails_its_verify(store: LocalBackups) -> None:
    store.create("primary", "nexus-test-2")
    s3 = boto3.client("s3", region_name="us-east-1")
    key = "nexus-backups/database/nexus-test-2.dump"
    body = bytearray(s3.get_object(Bucket="state-primary", Key=key)["Body"].read())
    body[len(body) // 2 : len(body) // 2 + 64] = b"\0" * 64  # bytes flipped in the middle of the data
    tags = s3.get_object_tagging(Bucket="state-primary", Key=key)["TagSet"]
    s3.put_object(Bucket="state-primary", Key=key, Body=bytes(body))
    s3.put_object_tagging(Bucket="state-primary", Key=key, Tagging={"TagSet": tags})
    result = store.verify("nexus-test-2", "primary")
    assert not result.ok, result.detail
    assert store.get("nexus-test-2", "primary").verified == "FAIL"  # type: ignore[union-attr]


def test_a_backup_whose_data_differs_from_its_manifest_fails(
    store: LocalBackups, server: LocalPostgres
) -> None:
    """A dump that restores but holds other rows than the source had (a tampered or mixed-up backup)."""
    store.create("primary", "nexus-test-3")
    server.admin("DELETE FROM records WHERE n % 2 = 0", dbname="nexus")
    store.create("primary", "nexus-test-4")
    s3 = boto3.client("s3", region_name="us-east-1")
    other = s3.get_object(Bucket="state-primary", Key="nexus-backups/database/nexus-test-4.dump")[
        "Body"
    ].read()
    s3.put_object(Bucket="state-primary", Key="nexus-backups/database/nexus-test-3.dump", Body=other)
    result = store.verify("nexus-test-3", "primary")
    assert not result.ok
    assert [t.table for t in result.tables if not t.ok] == ["public.records"]
    assert "1 of 2 tables differ" in result.detail


# --- the AWS world's snapshots, in moto ---------------------------------------------------------------------


def test_aws_snapshots_are_made_copied_listed_verified_and_deleted(aws: None) -> None:
    built = _build()
    platform: Platform = dataclasses.replace(
        platform_model.from_outputs("sandbox", built["outputs"]), endpoint_url=None
    )
    store = AwsBackups(platform, Clients(None, None), Waiting(delay=0.01, timeout=5))
    rds = {role: boto3.client("rds", region_name=region) for role, region in REGIONS.items()}
    foreign = rds["primary"].create_db_snapshot(
        DBSnapshotIdentifier="someone-elses",
        DBInstanceIdentifier=platform.region("primary").db_instance_identifier,
    )["DBSnapshot"]
    assert foreign

    made = store.create("primary", "nexus-it-snap-1")
    assert made.made_by_platform and made.status == "available" and made.region == "us-east-1"
    copied = store.copy("nexus-it-snap-1", "primary", "dr")
    assert copied.region == "eu-west-1" and copied.made_by_platform
    dr_key = rds["dr"].describe_db_instances(
        DBInstanceIdentifier=platform.region("dr").db_instance_identifier
    )["DBInstances"][0]["KmsKeyId"]
    described = rds["dr"].describe_db_snapshots(DBSnapshotIdentifier="nexus-it-snap-1")["DBSnapshots"][0]
    assert described["KmsKeyId"] == dr_key  # re-encrypted with the DR region's key

    listed = {(b.id, b.role): b.made_by_platform for b in store.list()}
    assert listed[("someone-elses", "primary")] is False
    assert listed[("nexus-it-snap-1", "primary")] is True and listed[("nexus-it-snap-1", "dr")] is True

    result = store.verify("nexus-it-snap-1", "primary")
    assert result.ok, result.detail
    assert store.get("nexus-it-snap-1", "primary").verified == "PASS"  # type: ignore[union-attr]
    names = [i["DBInstanceIdentifier"] for i in rds["primary"].describe_db_instances()["DBInstances"]]
    assert not [n for n in names if n.startswith("nexus-verify-")]  # the scratch instance is gone

    store.delete("nexus-it-snap-1", "dr")
    assert store.get("nexus-it-snap-1", "dr") is None


# --- publishing: the toolkit's metric through a real Pushgateway -------------------------------------------


def test_the_backup_time_is_pushed_to_a_pushgateway() -> None:
    port = free_port()
    gateway = subprocess.Popen(
        ["prometheus-pushgateway", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while not _answers(f"{url}/-/ready"):
            assert time.monotonic() < deadline, "the Pushgateway did not come up"
            time.sleep(0.1)
        for kind, value in (("rds-snapshot", 1.5e9), ("rds-snapshot-copy", 1.6e9), ("rds-snapshot", 1.7e9)):
            labels = {"region": "us-east-1", "kind": kind}
            telemetry.push(
                url, [telemetry.Sample(telemetry.BACKUP_LAST_SUCCESS_TIMESTAMP, labels, value)], labels
            )
        with urllib.request.urlopen(f"{url}/metrics", timeout=5) as answer:
            text = answer.read().decode()
        series = [
            line
            for line in text.splitlines()
            if line.startswith(telemetry.BACKUP_LAST_SUCCESS_TIMESTAMP.name)
        ]
        # One series per (region, kind): a later push replaces its group's value.
        assert len(series) == 2, series
        assert any('kind="rds-snapshot"' in line and line.endswith(" 1.7e+09") for line in series), series
        assert all('job="nexus-ops"' in line for line in series)
    finally:
        gateway.terminate()
        gateway.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


# --- restores -----------------------------------------------------------------------------------------------


def test_a_sandbox_restore_is_a_new_server_checked_against_the_manifest(
    aws: None, server: LocalPostgres, tmp_path: Path
) -> None:
    certs = tls.ensure(tmp_path / "tls")
    root = Path(tempfile.mkdtemp(prefix="nexus-restore-test-"))
    root.chmod(0o755)
    site = RestoreSite(
        root,
        ProcessManager(root / "run", root / "logs"),
        TlsFiles(certs.certificate, certs.key, certs.ca),
        {},
    )
    store = _store(server, site)
    try:
        with pytest.raises(NexusError, match="no base backup of nexus-sandbox-us-east-1-postgres finished"):
            store.restore("primary", "r0", None, time.time() - 60)
        store.create("primary", "nexus-r-1")
        server.admin("INSERT INTO audit (what) VALUES ('before')", dbname="nexus")
        time.sleep(1.0)
        at = time.time()
        time.sleep(1.0)
        server.admin("DELETE FROM records WHERE n <= 1000", dbname="nexus")  # the source moves on
        assert store.restored("primary", "r1") is None

        # To a point in time: the base backup `create` took, then the archived WAL up to `at`.
        with pytest.raises(NexusError, match="is in the future"):
            store.restore("primary", "p1", None, time.time() + 3600)
        began = time.monotonic()
        recovered = store.restore("primary", "p1", None, at)
        print(f"\npoint-in-time restore: {time.monotonic() - began:.1f} s")
        assert recovered.status == "available" and "(base backup nexus-r-1.tar.gz" in recovered.source
        pitr = site.server("us-east-1", "p1")
        assert pitr is not None and pitr.admin("SELECT pg_is_in_recovery()") == [(False,)]
        assert pitr.admin("SELECT what FROM audit", dbname="nexus") == [("before",)]
        assert pitr.admin("SELECT count(*) FROM records", dbname="nexus") == [(2000,)]  # before the delete
        assert store.restore("primary", "p1", None, at).endpoint == recovered.endpoint  # idempotent

        made = store.restore("primary", "r1", "nexus-r-1", None)
        assert (made.status, made.source) == ("available", "backup nexus-r-1")
        assert made.detail == "2 tables match the backup's manifest"
        restored = site.server("us-east-1", "r1")
        assert restored is not None and made.endpoint == f"127.0.0.1:{restored.port}"
        assert restored.admin("SELECT count(*) FROM records", dbname="nexus") == [(2000,)]
        assert server.admin("SELECT count(*) FROM records", dbname="nexus") == [(1000,)]  # untouched
        assert store.restore("primary", "r1", "nexus-r-1", None).endpoint == made.endpoint  # idempotent

        # Retention: deleting the first backup takes its base backup and the WAL only it needed.
        s3 = boto3.client("s3", region_name=REGIONS["primary"])
        wal = "nexus-backups/wal/nexus-sandbox-us-east-1-postgres/"

        def shipped() -> set[str]:
            return {
                o["Key"] for o in s3.list_objects_v2(Bucket="state-primary", Prefix=wal).get("Contents", [])
            }

        before = shipped()
        time.sleep(1.1)  # S3's LastModified has whole seconds
        store.create("primary", "nexus-r-2")
        store.delete("nexus-r-1", "primary")
        after = shipped()
        assert before and not before & after, (before, after)
        with pytest.raises(NexusError, match="no base backup"):
            store.restore("primary", "p2", None, at)
    finally:
        for found in root.glob("*/restores/*"):
            restored = site.server(found.parent.parent.name, found.name)
            if restored is not None:
                restored.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_aws_restores_a_snapshot_or_a_point_in_time_into_a_new_instance(aws: None) -> None:
    built = _build()
    platform: Platform = dataclasses.replace(
        platform_model.from_outputs("sandbox", built["outputs"]), endpoint_url=None
    )
    store = AwsBackups(platform, Clients(None, None), Waiting(delay=0.01, timeout=5))
    rds = boto3.client("rds", region_name=REGIONS["primary"])
    source = platform.region("primary").db_instance_identifier
    store.create("primary", "nexus-snap-r")
    made = store.restore("primary", "restored-1", "nexus-snap-r", None)
    assert (made.status, made.source) == ("available", "backup nexus-snap-r")
    described = rds.describe_db_instances(DBInstanceIdentifier="restored-1")["DBInstances"][0]
    template = rds.describe_db_instances(DBInstanceIdentifier=source)["DBInstances"][0]
    assert described["DBSubnetGroup"]["DBSubnetGroupName"] == template["DBSubnetGroup"]["DBSubnetGroupName"]
    groups = [g["VpcSecurityGroupId"] for g in described["VpcSecurityGroups"]]
    assert groups == [g["VpcSecurityGroupId"] for g in template["VpcSecurityGroups"]]
    assert store.restore("primary", "restored-1", "nexus-snap-r", None) == made  # idempotent by name

    latest = template["LatestRestorableTime"].timestamp()
    pitr = store.restore("primary", "restored-2", None, latest - 60)
    assert pitr.status == "available" and pitr.source.startswith(f"{source} at ")
    with pytest.raises(InputError, match="after the latest restorable time"):
        store.restore("primary", "restored-3", None, latest + 3600)
    with pytest.raises(InputError, match="before the restorable window"):
        store.restore("primary", "restored-3", None, time.time() - 40 * 86400)
    with pytest.raises(InputError, match="no snapshot nope"):
        store.restore("primary", "restored-3", "nope", None)
    assert store.restored("primary", "restored-3") is None


def test_aws_cache_snapshot_and_configuration_export(aws: None) -> None:
    """`backup run`'s other two steps on AWS: an ElastiCache snapshot of the writer's replication group under
    the backup's id (tagged), and the configuration export as JSON in the region's state bucket."""
    built = _build()
    platform: Platform = dataclasses.replace(
        platform_model.from_outputs("sandbox", built["outputs"]), endpoint_url=None
    )
    facts = platform.region("primary")
    boto3.client("s3", region_name=facts.region).create_bucket(Bucket=facts.state_bucket)
    store = AwsBackups(platform, Clients(None, None), Waiting(delay=0.01, timeout=5))

    assert store.cache_snapshot("primary", "nexus-c-1") is None
    made = store.snapshot_cache("primary", "nexus-c-1")
    assert (made.status, made.source) == ("available", facts.cache_replication_group_id)
    assert store.snapshot_cache("primary", "nexus-c-1") == made  # a second run takes none
    elasticache = boto3.client("elasticache", region_name=facts.region)
    assert len(elasticache.describe_snapshots(SnapshotName="nexus-c-1")["Snapshots"]) == 1

    assert store.config_export("primary", "nexus-c-1") is None
    where = store.export_config(
        "primary", "nexus-c-1", {"backup_id": "nexus-c-1", "deployed": {"primary": "x"}}
    )
    assert where == f"s3://{facts.state_bucket}/nexus-backups/config/nexus-c-1.json"
    assert store.config_export("primary", "nexus-c-1") == where
    body = (
        boto3.client("s3", region_name=facts.region)
        .get_object(Bucket=facts.state_bucket, Key="nexus-backups/config/nexus-c-1.json")["Body"]
        .read()
    )
    assert json.loads(body)["deployed"] == {"primary": "x"}


def _aws_store() -> tuple[Platform, AwsBackups]:
    built = _build()
    platform: Platform = dataclasses.replace(
        platform_model.from_outputs("sandbox", built["outputs"]), endpoint_url=None
    )
    return platform, AwsBackups(platform, Clients(None, None), Waiting(delay=0.01, timeout=5))


def test_aws_backup_job_of_the_writer_into_the_regions_vault(aws: None) -> None:
    """StartBackupJob with the backup's id as idempotency token: the job completes with a recovery point in
    the region's vault; a second call (a resumed run) gets the same job; a job that fails is an error."""
    platform, store = _aws_store()
    facts = platform.region("primary")
    backup_client = boto3.client("backup", region_name=facts.region)
    backup_client.create_backup_vault(BackupVaultName=facts.backup_vault_name)
    job = store.backup_job("primary", "nexus-j-1")
    assert (job.state, job.vault, job.resource) == (
        "COMPLETED",
        facts.backup_vault_name,
        facts.db_instance_arn,
    )
    assert job.recovery_point and ":snapshot:awsbackup:job-" in job.recovery_point
    assert store.backup_job("primary", "nexus-j-1") == job
    gone = dataclasses.replace(facts, db_instance_arn=f"{facts.db_instance_arn}-gone")
    broken = AwsBackups(
        dataclasses.replace(platform, regions={**platform.regions, "primary": gone}),
        Clients(None, None),
        Waiting(delay=0.01, timeout=5),
    )
    with pytest.raises(NexusError, match=r"ended FAILED: Unable to find resource"):
        broken.backup_job("primary", "nexus-j-2")


def test_aws_verify_restores_the_recovery_point_through_aws_backup_and_records_the_validation(
    aws: None,
) -> None:
    """A backup with an AWS Backup recovery point: verify restores the snapshot and the recovery point (a
    restore job into a scratch instance), records SUCCESSFUL on the restore job and removes both scratch
    instances; when the restore job fails, the verify FAILS and says why. A backup without a recovery point
    verifies without one."""
    platform, store = _aws_store()
    facts = platform.region("primary")
    backup_client = boto3.client("backup", region_name=facts.region)
    rds = boto3.client("rds", region_name=facts.region)
    backup_client.create_backup_vault(BackupVaultName=facts.backup_vault_name)
    store.create("primary", "nexus-v-1")
    job = store.backup_job("primary", "nexus-v-1")

    result = store.verify("nexus-v-1", "primary")
    assert result.ok, result.detail
    validation = result.restore_validation
    assert validation is not None and validation.recovery_point == job.recovery_point
    recorded = backup_client.describe_restore_job(RestoreJobId=validation.restore_job)
    assert recorded["Status"] == "COMPLETED"
    assert recorded["ValidationStatus"] == "SUCCESSFUL"
    assert "available and encrypted" in recorded["ValidationStatusMessage"]
    names = [i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"]]
    assert not [n for n in names if n.startswith("nexus-verify-")]  # both scratch instances are gone

    # The restore job cannot make its instance (the scratch name is taken): FAIL, with AWS Backup's reason.
    store.create("primary", "nexus-v-2")
    store.backup_job("primary", "nexus-v-2")
    rds.create_db_instance(
        DBInstanceIdentifier=rds_actions.scratch_identifier("awsbackup:nexus-v-2"),
        DBInstanceClass="db.t4g.micro",
        Engine="postgres",
        MasterUsername="nexus",
        MasterUserPassword="secret-password",
        AllocatedStorage=20,
    )
    failed = store.verify("nexus-v-2", "primary")
    assert not failed.ok and failed.restore_validation is not None
    assert failed.restore_validation.status == "FAILED"
    assert "the restore job ended FAILED" in failed.detail
    assert store.get("nexus-v-2", "primary").verified == "FAIL"  # type: ignore[union-attr]

    store.create("primary", "nexus-v-3")  # no AWS Backup job for this one
    plain = store.verify("nexus-v-3", "primary")
    assert plain.ok and plain.restore_validation is None


def _replicated(platform: Platform, *, metrics: bool = True) -> tuple[str, str]:
    """The primary's state bucket replicating into DR's (versioned both), as Terraform configures it."""
    source, destination = platform.region("primary"), platform.region("dr")
    for facts in (source, destination):
        s3 = boto3.client("s3", region_name=facts.region)
        configuration = (
            {}
            if facts.region == "us-east-1"
            else {"CreateBucketConfiguration": {"LocationConstraint": facts.region}}
        )
        if facts.state_bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
            s3.create_bucket(Bucket=facts.state_bucket, **configuration)
        s3.put_bucket_versioning(Bucket=facts.state_bucket, VersioningConfiguration={"Status": "Enabled"})
    rule: dict[str, Any] = {
        "ID": "to-dr",
        "Status": "Enabled",
        "Priority": 1,
        "Filter": {},
        "DeleteMarkerReplication": {"Status": "Enabled"},
        "Destination": {"Bucket": f"arn:aws:s3:::{destination.state_bucket}"},
    }
    if metrics:
        rule["Destination"]["Metrics"] = {"Status": "Enabled", "EventThreshold": {"Minutes": 15}}
    boto3.client("s3", region_name=source.region).put_bucket_replication(
        Bucket=source.state_bucket,
        ReplicationConfiguration={"Role": "arn:aws:iam::123456789012:role/replication", "Rules": [rule]},
    )
    return source.state_bucket, destination.state_bucket


def test_s3_replication_is_judged_on_its_rule_and_its_failed_operations(aws: None) -> None:
    platform, store = _aws_store()
    facts = platform.region("primary")
    boto3.client("s3", region_name=facts.region).create_bucket(Bucket=facts.state_bucket)
    assert store.replication("primary").detail == "no replication configuration"
    source, destination = _replicated(platform)
    quiet = store.replication("primary")
    assert quiet.ok and (quiet.destination, quiet.rule) == (destination, "to-dr")
    assert quiet.detail.endswith("no datapoints in the last hour")
    cloudwatch = boto3.client("cloudwatch", region_name=platform.region("primary").region)
    dimensions = [
        {"Name": "SourceBucket", "Value": source},
        {"Name": "DestinationBucket", "Value": destination},
        {"Name": "RuleId", "Value": "to-dr"},
    ]
    cloudwatch.put_metric_data(
        Namespace="AWS/S3",
        MetricData=[
            {"MetricName": "OperationsPendingReplication", "Dimensions": dimensions, "Value": 7},
            {"MetricName": "OperationsFailedReplication", "Dimensions": dimensions, "Value": 0},
        ],
    )
    pending = store.replication("primary")
    assert pending.ok and (pending.failed_operations, pending.pending_operations) == (0.0, 7.0)
    cloudwatch.put_metric_data(
        Namespace="AWS/S3",
        MetricData=[{"MetricName": "OperationsFailedReplication", "Dimensions": dimensions, "Value": 2}],
    )
    failed = store.replication("primary")
    assert not failed.ok and failed.failed_operations == 2.0
    assert "2 failed operations in the last hour, 7 pending" in failed.detail


def test_s3_replication_without_metrics_cannot_be_judged(aws: None) -> None:
    platform, store = _aws_store()
    _replicated(platform, metrics=False)
    found = store.replication("primary")
    assert not found.ok and "has no replication metrics" in found.detail
