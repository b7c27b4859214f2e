"""Two parts of `nexus backup run` that talk to AWS's control plane the same way in every world: an on-demand
AWS Backup job of the writer's database into the platform's vault (its recovery point is what AWS Backup's
copy rules, vault lock and restore testing work with), and a check of the state bucket's S3 replication.

A verify goes through AWS Backup too where the backup has a recovery point: it restores the recovery point
with StartRestoreJob (the metadata AWS Backup recorded for it, a scratch instance name, single-AZ), checks the
instance it made (available, encrypted, plus whatever the caller checked of the data), records the verdict on
the restore job with PutRestoreValidationResult (so AWS Backup's console and reports show it beside its own
restore tests) and deletes the scratch instance.

The sandbox runs them against the emulator: its vault, IAM role and RDS instance are the ones Terraform
applied there (the emulator completes a job at once, or fails it when the instance does not exist, and has no
S3 replication metrics, which the check reports as "no datapoints").

S3 replication is checked from two sides: the bucket's replication configuration (an enabled rule with
replication metrics, so that its progress is measurable at all) and the replication metrics S3 publishes to
CloudWatch (AWS/S3 OperationsFailedReplication and OperationsPendingReplication, dimensions SourceBucket,
DestinationBucket, RuleId): any failed operation in the last hour fails the check; pending ones are reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from nexus_platform.errors import NexusError
from nexus_platform.platform import Platform
from nexus_platform.world.aws.clients import Waiting, poll, translated
from nexus_platform.world.aws.rds import actions as rds_actions
from nexus_platform.world.aws.rds import probes as rds_probes
from nexus_platform.world.base import BackupJob, Replication, RestoreValidation

Clients = Callable[[str, str], Any]  # (service, region) -> a boto3 client

#: States after which a job changes no more (AWS Backup's BackupJobState).
FINAL_STATES = frozenset({"COMPLETED", "FAILED", "ABORTED", "EXPIRED", "PARTIAL"})
#: States after which a restore job changes no more (AWS Backup's RestoreJobStatus).
RESTORE_FINAL_STATES = frozenset({"COMPLETED", "FAILED", "ABORTED"})
#: The recovery point tag that names the backup (run) a job belongs to.
BACKUP_ID_TAG = "nexus:backup-id"
#: How far back the replication metrics are read.
METRICS_WINDOW = timedelta(hours=1)


class BackupJobs:
    def __init__(self, platform: Platform, clients: Clients, waiting: Waiting | None = None) -> None:
        self.platform, self.clients = platform, clients
        self.waiting = waiting or Waiting(delay=15.0, timeout=4 * 3600.0)

    def _job(self, described: dict[str, Any]) -> BackupJob:
        return BackupJob(
            id=str(described["BackupJobId"]),
            vault=str(described.get("BackupVaultName", "")),
            resource=str(described.get("ResourceArn", "")),
            recovery_point=described.get("RecoveryPointArn"),
            state=str(described.get("State", "UNKNOWN")),
            message=described.get("StatusMessage"),
        )

    def start(self, role: str, backup_id: str) -> BackupJob:
        """StartBackupJob of `role`'s database into its region's vault with the backup's id as idempotency
        token (a resumed run gets the same job back), then wait until the job ends; a job that does not
        complete is an error naming its state and AWS's message."""
        facts = self.platform.region(role)
        backup = self.clients("backup", facts.region)
        with translated(f"starting an AWS Backup job of {facts.db_instance_identifier}"):
            started = backup.start_backup_job(
                BackupVaultName=facts.backup_vault_name,
                ResourceArn=facts.db_instance_arn,
                IamRoleArn=facts.backup_role_arn,
                IdempotencyToken=backup_id,
                Lifecycle={"DeleteAfterDays": self.platform.backup_retention_days},
                RecoveryPointTags={"nexus:made-by": "nexus-backup", BACKUP_ID_TAG: backup_id},
            )
        job_id = str(started["BackupJobId"])

        def describe() -> BackupJob:
            with translated(f"describing AWS Backup job {job_id}"):
                return self._job(backup.describe_backup_job(BackupJobId=job_id))

        poll(f"AWS Backup job {job_id} to end", lambda: describe().state in FINAL_STATES, self.waiting)
        job = describe()
        if job.state != "COMPLETED":
            raise NexusError(
                f"AWS Backup job {job.id} of {facts.db_instance_identifier} ended {job.state}: "
                f"{job.message or 'no message'}",
                hint=f"aws backup describe-backup-job --backup-job-id {job.id} --region {facts.region}",
            )
        return job

    def recovery_point(self, role: str, backup_id: str) -> str | None:
        """The ARN of the completed recovery point that `backup_id`'s job made in the region's vault, if any.
        An RDS recovery point is an RDS snapshot: its tags are read through RDS."""
        facts = self.platform.region(role)
        backup, rds = self.clients("backup", facts.region), self.clients("rds", facts.region)
        pages = backup.get_paginator("list_recovery_points_by_backup_vault").paginate(
            BackupVaultName=facts.backup_vault_name, ByResourceArn=facts.db_instance_arn
        )
        try:
            with translated(f"listing the recovery points of {facts.db_instance_identifier}"):
                for page in pages:
                    for point in page.get("RecoveryPoints", []):
                        arn = str(point["RecoveryPointArn"])
                        if point.get("Status") == "COMPLETED" and (
                            rds_probes.tags(rds, arn).get(BACKUP_ID_TAG) == backup_id
                        ):
                            return arn
        except NexusError as exc:
            cause = exc.__cause__
            if isinstance(cause, ClientError) and (
                cause.response.get("Error", {}).get("Code") == "ResourceNotFoundException"
            ):
                return None  # the region has no vault of the platform's: no recovery point to restore
            raise
        return None

    def validate_restore(
        self, role: str, backup_id: str, data: tuple[bool, str] | None = None
    ) -> RestoreValidation | None:
        """Restore `backup_id`'s recovery point into a scratch instance through AWS Backup, judge it (the
        instance is available and encrypted, and `data` -- the caller's own check of the data, verdict and
        detail -- passed), record the verdict on the restore job and delete the scratch instance. None when
        the backup has no recovery point (a backup taken without the AWS Backup step)."""
        point = self.recovery_point(role, backup_id)
        if point is None:
            return None
        facts = self.platform.region(role)
        backup, rds = self.clients("backup", facts.region), self.clients("rds", facts.region)
        scratch = rds_actions.scratch_identifier(f"awsbackup:{backup_id}")
        with translated(f"reading the restore metadata of {point}"):
            metadata = dict(
                backup.get_recovery_point_restore_metadata(
                    BackupVaultName=facts.backup_vault_name, RecoveryPointArn=point
                )["RestoreMetadata"]
            )
        metadata.update(DBInstanceIdentifier=scratch, MultiAZ="false")
        created: str | None = None
        try:
            with translated(f"starting an AWS Backup restore of {point} into {scratch}"):
                job_id = str(
                    backup.start_restore_job(
                        RecoveryPointArn=point,
                        IamRoleArn=facts.backup_role_arn,
                        ResourceType="RDS",
                        Metadata=metadata,
                    )["RestoreJobId"]
                )

            def describe() -> dict[str, Any]:
                with translated(f"describing AWS Backup restore job {job_id}"):
                    answer: dict[str, Any] = backup.describe_restore_job(RestoreJobId=job_id)
                    return answer

            poll(
                f"AWS Backup restore job {job_id} to end",
                lambda: describe().get("Status") in RESTORE_FINAL_STATES,
                self.waiting,
            )
            job = describe()
            created = job.get("CreatedResourceArn")
            if job.get("Status") != "COMPLETED":
                return RestoreValidation(
                    job_id,
                    point,
                    str(job.get("Status")),
                    f"the restore job ended {job.get('Status')}: {job.get('StatusMessage') or 'no message'}",
                )
            instance_id = str(created).rsplit(":", 1)[-1]
            rds_actions.wait_available(rds, instance_id, self.waiting)
            with translated(f"describing {instance_id}"):
                restored = rds_probes.instance(rds, instance_id) or {}
            problems = []
            if restored.get("DBInstanceStatus") != "available":
                problems.append(f"the restored instance is {restored.get('DBInstanceStatus')}")
            if not restored.get("StorageEncrypted"):
                problems.append("the restored instance is not encrypted")
            if data is not None and not data[0]:
                problems.append(data[1])
            message = "; ".join(problems) or "; ".join(
                ["restored through AWS Backup: available and encrypted", *([data[1]] if data else [])]
            )
            status = "FAILED" if problems else "SUCCESSFUL"
            with translated(f"recording the validation of AWS Backup restore job {job_id}"):
                backup.put_restore_validation_result(
                    RestoreJobId=job_id, ValidationStatus=status, ValidationStatusMessage=message[:1000]
                )
            return RestoreValidation(job_id, point, status, message)
        finally:
            if created:
                identifier = str(created).rsplit(":", 1)[-1]
                with translated(f"deleting scratch instance {identifier}"):
                    rds_actions.delete_scratch(rds, identifier)

    def replication(self, role: str) -> Replication:
        facts = self.platform.region(role)
        s3 = self.clients("s3", facts.region)
        try:
            config = s3.get_bucket_replication(Bucket=facts.state_bucket)["ReplicationConfiguration"]
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code"))
            if code == "ReplicationConfigurationNotFoundError":
                return Replication(
                    facts.state_bucket, None, None, False, None, None, "no replication configuration"
                )
            raise NexusError(f"reading the replication of {facts.state_bucket}: {code}") from exc
        rules = [r for r in config.get("Rules", []) if r.get("Status") == "Enabled"]
        if not rules:
            return Replication(
                facts.state_bucket, None, None, False, None, None, "no enabled replication rule"
            )
        rule = rules[0]
        destination = str(rule["Destination"]["Bucket"]).split(":::")[-1]
        rule_id = str(rule.get("ID", ""))
        metrics_on = (rule["Destination"].get("Metrics") or {}).get("Status") == "Enabled"
        if not metrics_on:
            return Replication(
                facts.state_bucket,
                destination,
                rule_id,
                False,
                None,
                None,
                f"rule {rule_id} has no replication metrics: its progress cannot be measured",
            )
        dimensions = {"SourceBucket": facts.state_bucket, "DestinationBucket": destination, "RuleId": rule_id}
        failed = self._metric(facts.region, "OperationsFailedReplication", "Sum", dimensions)
        pending = self._metric(facts.region, "OperationsPendingReplication", "Maximum", dimensions)
        ok = not failed
        parts = [
            f"{facts.state_bucket} -> {destination} (rule {rule_id})",
            "no datapoints in the last hour"
            if failed is None and pending is None
            else f"{failed or 0:.0f} failed operations in the last hour, {pending or 0:.0f} pending",
        ]
        return Replication(facts.state_bucket, destination, rule_id, ok, failed, pending, ": ".join(parts))

    def _metric(self, region: str, name: str, statistic: str, dimensions: dict[str, str]) -> float | None:
        """`statistic` of AWS/S3 `name` for the rule over the last hour (Sum: the total; Maximum: the latest
        datapoint's); None without datapoints."""
        now = datetime.fromtimestamp(time.time(), UTC)
        with translated(f"reading AWS/S3 {name} of {dimensions['SourceBucket']}"):
            answer = self.clients("cloudwatch", region).get_metric_statistics(
                Namespace="AWS/S3",
                MetricName=name,
                Dimensions=[{"Name": key, "Value": value} for key, value in dimensions.items()],
                StartTime=now - METRICS_WINDOW,
                # To the end of the current period: its datapoint counts too.
                EndTime=now + timedelta(minutes=5),
                Period=300,
                Statistics=[statistic],
            )
        points = sorted(answer.get("Datapoints", []), key=lambda p: p["Timestamp"])
        if not points:
            return None
        if statistic == "Sum":
            return float(sum(p["Sum"] for p in points))
        return float(points[-1][statistic])
