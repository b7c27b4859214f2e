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
