"""AWS Backup selection patches of the sandbox emulator (boto3 against moto with the patches applied)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

ROLE = "arn:aws:iam::123456789012:role/backup"


@pytest.fixture
def backup(aws: None) -> Any:
    client = boto3.client("backup", region_name="eu-west-1")
    client.create_backup_vault(BackupVaultName="vault")
    return client


def _plan(client: Any) -> str:
    plan = client.create_backup_plan(
        BackupPlan={
            "BackupPlanName": "daily",
            "Rules": [
                {
                    "RuleName": "daily",
                    "TargetBackupVaultName": "vault",
                    "ScheduleExpression": "cron(0 5 * * ? *)",
                }
            ],
        }
    )
    plan_id: str = plan["BackupPlanId"]
    return plan_id


def test_backup_selection_lifecycle(backup: Any) -> None:
    plan_id = _plan(backup)
    document = {
        "SelectionName": "everything",
        "IamRoleArn": ROLE,
        "Resources": ["arn:aws:rds:eu-west-1:123456789012:db:db1"],
        "ListOfTags": [{"ConditionType": "STRINGEQUALS", "ConditionKey": "backup", "ConditionValue": "true"}],
    }
    created = backup.create_backup_selection(
        BackupPlanId=plan_id, BackupSelection=document, CreatorRequestId="r1"
    )
    assert created["BackupPlanId"] == plan_id
    selection_id = created["SelectionId"]

    got = backup.get_backup_selection(BackupPlanId=plan_id, SelectionId=selection_id)
    assert got["BackupSelection"] == document
    assert got["SelectionId"] == selection_id
    assert got["CreatorRequestId"] == "r1"
    assert "CreationDate" in got

    listed = backup.list_backup_selections(BackupPlanId=plan_id)["BackupSelectionsList"]
    assert [(s["SelectionId"], s["SelectionName"], s["IamRoleArn"]) for s in listed] == [
        (selection_id, "everything", ROLE)
    ]

    with pytest.raises(ClientError) as exc:
        backup.create_backup_selection(BackupPlanId=plan_id, BackupSelection=document)
    assert exc.value.response["Error"]["Code"] == "AlreadyExistsException"

    backup.delete_backup_selection(BackupPlanId=plan_id, SelectionId=selection_id)
    with pytest.raises(ClientError) as exc:
        backup.get_backup_selection(BackupPlanId=plan_id, SelectionId=selection_id)
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert backup.list_backup_selections(BackupPlanId=plan_id)["BackupSelectionsList"] == []
    # The plan itself still reads as before.
    assert backup.get_backup_plan(BackupPlanId=plan_id)["BackupPlan"]["BackupPlanName"] == "daily"


def test_backup_selection_unknown_plan(backup: Any) -> None:
    with pytest.raises(ClientError) as exc:
        backup.create_backup_selection(
            BackupPlanId="00000000-0000-0000-0000-000000000000",
            BackupSelection={"SelectionName": "s", "IamRoleArn": ROLE},
        )
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_list_tags_without_trailing_slash(backup: Any) -> None:
    """The Go SDK (Terraform) calls GET /tags/{arn} without the model's trailing slash; both forms must
    work."""
    arn = backup.create_backup_vault(BackupVaultName="tagged", BackupVaultTags={"team": "core"})[
        "BackupVaultArn"
    ]
    assert backup.list_tags(ResourceArn=arn)["Tags"] == {"team": "core"}

    def strip_trailing_slash(request: Any, **_: Any) -> None:
        request.url = request.url.rstrip("/")

    backup.meta.events.register("before-sign.backup.ListTags", strip_trailing_slash)
    assert backup.list_tags(ResourceArn=arn)["Tags"] == {"team": "core"}


def _db(region: str = "eu-west-1") -> str:
    rds = boto3.client("rds", region_name=region)
    made = rds.create_db_instance(
        DBInstanceIdentifier="db1",
        DBInstanceClass="db.t4g.micro",
        Engine="postgres",
        MasterUsername="nexus",
        MasterUserPassword="secret-password",
        AllocatedStorage=20,
    )
    arn: str = made["DBInstance"]["DBInstanceArn"]
    return arn


def test_an_on_demand_job_of_an_rds_instance_completes_with_a_recovery_point(backup: Any) -> None:
    arn = _db()
    started = backup.start_backup_job(
        BackupVaultName="vault",
        ResourceArn=arn,
        IamRoleArn=ROLE,
        IdempotencyToken="backup-1",
        RecoveryPointTags={"nexus:backup-id": "backup-1"},
    )
    job = backup.describe_backup_job(BackupJobId=started["BackupJobId"])
    assert job["State"] == "COMPLETED"
    assert job["ResourceArn"] == arn and job["ResourceType"] == "RDS"
    assert job["RecoveryPointArn"] == started["RecoveryPointArn"]
    assert started["RecoveryPointArn"].startswith(
        "arn:aws:rds:eu-west-1:123456789012:snapshot:awsbackup:job-"
    )
    assert job["BackupVaultArn"] == backup.describe_backup_vault(BackupVaultName="vault")["BackupVaultArn"]
    # The same idempotency token: the same job, not a second one.
    again = backup.start_backup_job(
        BackupVaultName="vault", ResourceArn=arn, IamRoleArn=ROLE, IdempotencyToken="backup-1"
    )
    assert again["BackupJobId"] == started["BackupJobId"]


def test_a_job_of_a_missing_instance_fails_and_a_missing_vault_is_refused(backup: Any) -> None:
    missing = "arn:aws:rds:eu-west-1:123456789012:db:nowhere"
    started = backup.start_backup_job(BackupVaultName="vault", ResourceArn=missing, IamRoleArn=ROLE)
    job = backup.describe_backup_job(BackupJobId=started["BackupJobId"])
    assert job["State"] == "FAILED" and missing in job["StatusMessage"]
    with pytest.raises(ClientError) as refused:
        backup.start_backup_job(BackupVaultName="no-such-vault", ResourceArn=_db(), IamRoleArn=ROLE)
    assert refused.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as unknown:
        backup.describe_backup_job(BackupJobId="00000000-0000-0000-0000-000000000000")
    assert unknown.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_recovery_point_restores_through_a_restore_job_that_records_its_validation(backup: Any) -> None:
    """The job's recovery point is in the vault (filtered by resource), carries the recovery point tags as an
    `awsbackup` snapshot, gives its restore metadata, and restores through StartRestoreJob into the instance
    the metadata names; a validation result is recorded on the completed job, refused on a failed one."""
    arn = _db()
    started = backup.start_backup_job(
        BackupVaultName="vault",
        ResourceArn=arn,
        IamRoleArn=ROLE,
        RecoveryPointTags={"nexus:backup-id": "backup-2"},
    )
    point_arn = started["RecoveryPointArn"]
    points = backup.list_recovery_points_by_backup_vault(BackupVaultName="vault", ByResourceArn=arn)
    assert [(p["RecoveryPointArn"], p["Status"]) for p in points["RecoveryPoints"]] == [
        (point_arn, "COMPLETED")
    ]
    other = backup.list_recovery_points_by_backup_vault(BackupVaultName="vault", ByResourceArn=f"{arn}-other")
    assert other["RecoveryPoints"] == []
    rds = boto3.client("rds", region_name="eu-west-1")
    tags = rds.list_tags_for_resource(ResourceName=point_arn)["TagList"]
    assert {"Key": "nexus:backup-id", "Value": "backup-2"} in tags
    manual = rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
    assert not manual  # the recovery point is not a manual snapshot

    metadata = backup.get_recovery_point_restore_metadata(
        BackupVaultName="vault", RecoveryPointArn=point_arn
    )["RestoreMetadata"]
    assert metadata["DBInstanceIdentifier"] == "db1" and metadata["DBInstanceClass"] == "db.t4g.micro"
    restore_id = backup.start_restore_job(
        RecoveryPointArn=point_arn,
        IamRoleArn=ROLE,
        ResourceType="RDS",
        Metadata={**metadata, "DBInstanceIdentifier": "db1-restored", "MultiAZ": "false"},
    )["RestoreJobId"]
    job = backup.describe_restore_job(RestoreJobId=restore_id)
    assert job["Status"] == "COMPLETED"
    assert job["CreatedResourceArn"].endswith(":db:db1-restored")
    assert rds.describe_db_instances(DBInstanceIdentifier="db1-restored")["DBInstances"]

    backup.put_restore_validation_result(
        RestoreJobId=restore_id, ValidationStatus="SUCCESSFUL", ValidationStatusMessage="3 tables match"
    )
    validated = backup.describe_restore_job(RestoreJobId=restore_id)
    assert (validated["ValidationStatus"], validated["ValidationStatusMessage"]) == (
        "SUCCESSFUL",
        "3 tables match",
    )

    # The identifier is taken now: the second restore fails with RDS's reason, and takes no validation.
    failed_id = backup.start_restore_job(
        RecoveryPointArn=point_arn,
        IamRoleArn=ROLE,
        Metadata={**metadata, "DBInstanceIdentifier": "db1-restored"},
    )["RestoreJobId"]
    failed = backup.describe_restore_job(RestoreJobId=failed_id)
    assert failed["Status"] == "FAILED" and failed["StatusMessage"]
    with pytest.raises(ClientError) as refused:
        backup.put_restore_validation_result(RestoreJobId=failed_id, ValidationStatus="SUCCESSFUL")
    assert refused.value.response["Error"]["Code"] == "InvalidRequestException"
    with pytest.raises(ClientError) as unknown:
        backup.start_restore_job(
            RecoveryPointArn=f"{point_arn}-gone", IamRoleArn=ROLE, Metadata={"DBInstanceIdentifier": "x"}
        )
    assert unknown.value.response["Error"]["Code"] == "ResourceNotFoundException"
