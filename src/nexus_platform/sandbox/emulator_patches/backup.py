"""AWS Backup: backup selections (which resources a plan protects), on-demand backup jobs with their recovery
points, and restore jobs with their validation results, absent from moto.

An RDS recovery point is, as on AWS, an RDS snapshot named `awsbackup:job-<job id>` (snapshot type
`awsbackup`, so it is not among the manual snapshots) carrying the job's recovery point tags; a restore job
restores it through moto's RDS like RestoreDBInstanceFromDBSnapshot."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import unquote

from moto.backup import urls as backup_urls
from moto.backup.exceptions import (
    AlreadyExistsException,
    InvalidParameterValueException,
    InvalidRequestException,
    ResourceNotFoundException,
)
from moto.backup.models import BackupBackend
from moto.backup.responses import BackupResponse
from moto.core.exceptions import ServiceException
from moto.core.utils import unix_time
from moto.rds.models import rds_backends

from . import add_action, add_routes, kept


def _selections(backend: BackupBackend) -> dict[str, dict[str, Any]]:
    """The backend's selections, keyed by selection id."""
    return kept(backend, "nexus_selections")


def _selection(backend: BackupBackend, plan_id: str, selection_id: str) -> dict[str, Any]:
    selection = _selections(backend).get(selection_id)
    if selection is None or selection["BackupPlanId"] != plan_id:
        raise ResourceNotFoundException(
            msg=f"Failed reading backup selection {selection_id} of plan {plan_id}"
        )
    return selection


def _plan_id(response: BackupResponse) -> str:
    value: str = response._get_param("backupPlanId")
    return value


def create_backup_selection(self: BackupResponse) -> str:
    """CreateBackupSelection (PUT /backup/plans/{id}/selections/): moto has no selections, so
    aws_backup_selection failed. AWS stores the selection (name, IAM role, resources / tags / conditions) and
    answers with its id."""
    plan_id = _plan_id(self)
    self.backup_backend.get_backup_plan(
        backup_plan_id=plan_id, version_id=None
    )  # ResourceNotFound if missing
    params = json.loads(self.body or "{}")
    document: dict[str, Any] = params.get("BackupSelection") or {}
    name = document.get("SelectionName")
    if not name or not document.get("IamRoleArn"):
        raise InvalidParameterValueException(msg="BackupSelection needs SelectionName and IamRoleArn")
    selections = _selections(self.backup_backend)
    if any(
        s["BackupPlanId"] == plan_id and s["BackupSelection"]["SelectionName"] == name
        for s in selections.values()
    ):
        raise AlreadyExistsException(msg=f"Backup selection {name} already exists in plan {plan_id}")
    selection = {
        "SelectionId": str(uuid.uuid4()),
        "BackupPlanId": plan_id,
        "CreationDate": unix_time(),
        "CreatorRequestId": params.get("CreatorRequestId"),
        "BackupSelection": document,
    }
    selections[selection["SelectionId"]] = selection
    return json.dumps({key: selection[key] for key in ("SelectionId", "BackupPlanId", "CreationDate")})


def get_backup_selection(self: BackupResponse) -> str:
    """GetBackupSelection: the stored selection document, as created."""
    selection = _selection(self.backup_backend, _plan_id(self), self._get_param("selectionId"))
    return json.dumps({key: value for key, value in selection.items() if value is not None})


def delete_backup_selection(self: BackupResponse) -> str:
    """DeleteBackupSelection: removes the selection (empty answer)."""
    selection = _selection(self.backup_backend, _plan_id(self), self._get_param("selectionId"))
    del _selections(self.backup_backend)[selection["SelectionId"]]
    return ""


def list_backup_selections(self: BackupResponse) -> str:
    """ListBackupSelections: the plan's selections (one page)."""
    plan_id = _plan_id(self)
    self.backup_backend.get_backup_plan(backup_plan_id=plan_id, version_id=None)
    items = [
        {
            "SelectionId": s["SelectionId"],
            "SelectionName": s["BackupSelection"]["SelectionName"],
            "BackupPlanId": plan_id,
            "CreationDate": s["CreationDate"],
            "CreatorRequestId": s["CreatorRequestId"],
            "IamRoleArn": s["BackupSelection"]["IamRoleArn"],
        }
        for s in _selections(self.backup_backend).values()
        if s["BackupPlanId"] == plan_id
    ]
    return json.dumps({"BackupSelectionsList": items})


def _jobs(backend: BackupBackend) -> dict[str, dict[str, Any]]:
    """The backend's backup jobs, keyed by job id."""
    return kept(backend, "nexus_backup_jobs")


def _rds_instance_exists(account_id: str, resource_arn: str) -> bool:
    """Whether `resource_arn` names a DB instance the emulator has (arn:aws:rds:REGION:ACCOUNT:db:ID)."""
    parts = resource_arn.split(":")
    if len(parts) != 7 or parts[2] != "rds" or parts[5] != "db":
        return False
    return parts[6] in rds_backends[account_id][parts[3]].databases


def start_backup_job(self: BackupResponse) -> str:
    """StartBackupJob (PUT /backup-jobs): moto has no jobs. AWS checks the vault (ResourceNotFound) and the
    required members, answers at once with the job id and the recovery point's ARN, and then runs the job;
    here it is COMPLETED at once, or FAILED with AWS's message when the resource does not exist. Only RDS
    instances are modelled (the platform's only AWS Backup resource run on demand). The same idempotency
    token returns the same job, as AWS does."""
    backend = self.backup_backend
    params = json.loads(self.body or "{}")
    missing = [k for k in ("BackupVaultName", "ResourceArn", "IamRoleArn") if not params.get(k)]
    if missing:
        raise InvalidParameterValueException(msg=f"Missing required parameters: {', '.join(missing)}")
    vault = backend.describe_backup_vault(params["BackupVaultName"])  # ResourceNotFound if missing
    token = params.get("IdempotencyToken")
    jobs = _jobs(backend)
    for earlier in jobs.values():
        if token and earlier["IdempotencyToken"] == token:
            return json.dumps({k: earlier[k] for k in ("BackupJobId", "RecoveryPointArn", "CreationDate")})
    resource_arn: str = params["ResourceArn"]
    if not resource_arn.startswith(f"arn:aws:rds:{backend.region_name}:"):
        raise InvalidParameterValueException(
            msg=f"Invalid ARN: {resource_arn}. The emulator backs up RDS instances of its region only"
        )
    job_id = str(uuid.uuid4()).upper()
    now = unix_time()
    exists = _rds_instance_exists(backend.account_id, resource_arn)
    job: dict[str, Any] = {
        "AccountId": backend.account_id,
        "BackupJobId": job_id,
        "BackupVaultName": vault.backup_vault_name,
        "BackupVaultArn": vault.backup_vault_arn,
        "RecoveryPointArn": (
            f"arn:aws:rds:{backend.region_name}:{backend.account_id}:snapshot:awsbackup:job-{job_id.lower()}"
        ),
        "ResourceArn": resource_arn,
        "ResourceType": "RDS",
        "IamRoleArn": params["IamRoleArn"],
        "CreationDate": now,
        "CompletionDate": now,
        "State": "COMPLETED" if exists else "FAILED",
        "PercentDone": "100.0" if exists else "0.0",
        "IdempotencyToken": token,
        "RecoveryPointTags": params.get("RecoveryPointTags") or {},
    }
    if params.get("Lifecycle"):
        job["RecoveryPointLifecycle"] = params["Lifecycle"]
    if exists:
        _recovery_point(backend, job, params)
    else:
        job["StatusMessage"] = f"Unable to find resource {resource_arn}"
    jobs[job_id] = job
    return json.dumps({k: job[k] for k in ("BackupJobId", "RecoveryPointArn", "CreationDate")})


def _recovery_points(backend: BackupBackend) -> dict[str, dict[str, Any]]:
    """The backend's recovery points, keyed by ARN."""
    return kept(backend, "nexus_recovery_points")


def _recovery_point(backend: BackupBackend, job: dict[str, Any], params: dict[str, Any]) -> None:
    """The completed job's recovery point: an `awsbackup` RDS snapshot of the instance with the recovery point
    tags, listed in the vault."""
    rds = rds_backends[backend.account_id][backend.region_name]
    instance_id = job["ResourceArn"].split(":")[6]
    snapshot_id = job["RecoveryPointArn"].split(":snapshot:", 1)[1]
    tags = [{"Key": k, "Value": v} for k, v in job["RecoveryPointTags"].items()]
    snapshot = rds.create_db_snapshot(instance_id, snapshot_id, snapshot_type="awsbackup", tags=tags)
    _recovery_points(backend)[job["RecoveryPointArn"]] = {
        "RecoveryPointArn": job["RecoveryPointArn"],
        "BackupVaultName": job["BackupVaultName"],
        "BackupVaultArn": job["BackupVaultArn"],
        "ResourceArn": job["ResourceArn"],
        "ResourceType": "RDS",
        "IamRoleArn": job["IamRoleArn"],
        "Status": "COMPLETED",
        "CreationDate": job["CreationDate"],
        "CompletionDate": job["CompletionDate"],
        "BackupSizeInBytes": int(snapshot.database.allocated_storage or 0) * 2**30,
        "IsEncrypted": bool(snapshot.encrypted),
        "EncryptionKeyArn": snapshot.kms_key_id,
        "Lifecycle": params.get("Lifecycle"),
        "SnapshotId": snapshot_id,
    }


def _point(backend: BackupBackend, vault_name: str, arn: str) -> dict[str, Any]:
    point = _recovery_points(backend).get(arn)
    if point is None or point["BackupVaultName"] != vault_name:
        raise ResourceNotFoundException(msg=f"Recovery point {arn} not found in vault {vault_name}")
    return point


def _path_after(path: str, marker: str) -> str:
    """The URL-decoded path segment after `marker` (up to the next '/', or to the end)."""
    return unquote(path.split("?", 1)[0].split(marker, 1)[1].split("/", 1)[0])


def list_recovery_points_by_backup_vault(self: BackupResponse) -> str:
    """ListRecoveryPointsByBackupVault (GET /backup-vaults/{name}/recovery-points/): the vault's recovery
    points, filtered by ByResourceArn as AWS does (one page)."""
    vault_name = _path_after(self.path, "/backup-vaults/")
    self.backup_backend.describe_backup_vault(vault_name)  # ResourceNotFound if missing
    by_resource = self._get_param("ByResourceArn") or self.querystring.get("resourceArn", [None])[0]
    points = [
        {k: v for k, v in point.items() if k != "SnapshotId" and v not in (None, {})}
        for point in _recovery_points(self.backup_backend).values()
        if point["BackupVaultName"] == vault_name and (not by_resource or point["ResourceArn"] == by_resource)
    ]
    return json.dumps({"RecoveryPoints": points})


def get_recovery_point_restore_metadata(self: BackupResponse) -> str:
    """GetRecoveryPointRestoreMetadata: the source instance's settings at backup time, as strings (AWS's
    RDS keys: the instance's identifier, class, subnet group, security groups, port, Multi-AZ)."""
    vault_name = _path_after(self.path, "/backup-vaults/")
    arn = _path_after(self.path, "/recovery-points/")
    point = _point(self.backup_backend, vault_name, arn)
    rds = rds_backends[self.backup_backend.account_id][self.backup_backend.region_name]
    snapshot = rds.database_snapshots[point["SnapshotId"]]
    database = snapshot.database
    metadata = {
        "DBInstanceIdentifier": database.db_instance_identifier,
        "DBInstanceClass": database.db_instance_class,
        "Engine": database.engine,
        "Port": str(database.port),
        "MultiAZ": str(bool(database.multi_az)).lower(),
        "PubliclyAccessible": str(bool(database.publicly_accessible)).lower(),
        # moto's db_subnet_group_name is write-only; the group object is what the instance keeps.
        "DBSubnetGroupName": getattr(getattr(database, "db_subnet_group", None), "subnet_name", None) or "",
        "VpcSecurityGroupIds": json.dumps(list(database.vpc_security_group_ids or [])),
    }
    return json.dumps(
        {
            "BackupVaultArn": point["BackupVaultArn"],
            "RecoveryPointArn": arn,
            "ResourceType": "RDS",
            "RestoreMetadata": {k: v for k, v in metadata.items() if v},
        }
    )


def _restore_jobs(backend: BackupBackend) -> dict[str, dict[str, Any]]:
    return kept(backend, "nexus_restore_jobs")


def _restore_job(backend: BackupBackend, path: str) -> dict[str, Any]:
    job_id = _path_after(path, "/restore-jobs/")
    job = _restore_jobs(backend).get(job_id)
    if job is None:
        raise ResourceNotFoundException(msg=f"Restore job {job_id} not found")
    return job


def start_restore_job(self: BackupResponse) -> str:
    """StartRestoreJob (PUT /restore-jobs): restores an RDS recovery point into the instance the metadata
    names (DBInstanceIdentifier, and DBInstanceClass / MultiAZ when given); COMPLETED at once with the new
    instance's ARN, or FAILED with RDS's message (e.g. the identifier is taken). The same idempotency token
    returns the same job."""
    backend = self.backup_backend
    params = json.loads(self.body or "{}")
    missing = [k for k in ("RecoveryPointArn", "Metadata") if not params.get(k)]
    if missing:
        raise InvalidParameterValueException(msg=f"Missing required parameters: {', '.join(missing)}")
    token = params.get("IdempotencyToken")
    for earlier in _restore_jobs(backend).values():
        if token and earlier["IdempotencyToken"] == token:
            return json.dumps({"RestoreJobId": earlier["RestoreJobId"]})
    arn: str = params["RecoveryPointArn"]
    point = _recovery_points(backend).get(arn)
    if point is None:
        raise ResourceNotFoundException(msg=f"Recovery point {arn} not found")
    metadata: dict[str, str] = params["Metadata"]
    name = metadata.get("DBInstanceIdentifier")
    if not name:
        raise InvalidParameterValueException(msg="Metadata needs DBInstanceIdentifier for an RDS restore")
    job_id = str(uuid.uuid4()).upper()
    now = unix_time()
    job: dict[str, Any] = {
        "AccountId": backend.account_id,
        "RestoreJobId": job_id,
        "RecoveryPointArn": arn,
        "CreationDate": now,
        "CompletionDate": now,
        "ResourceType": "RDS",
        "IamRoleArn": params.get("IamRoleArn"),
        "IdempotencyToken": token,
        "BackupSizeInBytes": point["BackupSizeInBytes"],
    }
    rds = rds_backends[backend.account_id][backend.region_name]
    overrides: dict[str, Any] = {"db_instance_identifier": name}
    if metadata.get("DBInstanceClass"):
        overrides["db_instance_class"] = metadata["DBInstanceClass"]
    if metadata.get("MultiAZ") == "true":
        overrides["multi_az"] = True
    snapshot = rds.database_snapshots.get(point["SnapshotId"])
    try:
        if snapshot is not None:
            # moto's restore looks the snapshot up among manual and automated ones only (as
            # DescribeDBSnapshots without SnapshotType does); AWS Backup restores its own.
            snapshot.snapshot_type = "manual"
        created = rds.restore_db_instance_from_db_snapshot(point["SnapshotId"], overrides)
    except ServiceException as exc:
        job.update(Status="FAILED", PercentDone="0.0", StatusMessage=f"{exc.code}: {exc.message}")
    else:
        if metadata.get("MultiAZ") == "false":
            created.multi_az = False  # moto's restore keeps the source's when the override is false
        job.update(Status="COMPLETED", PercentDone="100.0", CreatedResourceArn=created.db_instance_arn)
    finally:
        if snapshot is not None:
            snapshot.snapshot_type = "awsbackup"
    _restore_jobs(backend)[job_id] = job
    return json.dumps({"RestoreJobId": job_id})


def describe_restore_job(self: BackupResponse) -> str:
    """DescribeRestoreJob (GET /restore-jobs/{id}): the job, with its validation result once one is put."""
    job = _restore_job(self.backup_backend, self.path)
    return json.dumps({k: v for k, v in job.items() if k != "IdempotencyToken" and v is not None})


def put_restore_validation_result(self: BackupResponse) -> str:
    """PutRestoreValidationResult (PUT /restore-jobs/{id}/validations): records a self-run validation of a
    completed restore job (AWS's values FAILED | SUCCESSFUL | TIMED_OUT | VALIDATING); 204, empty."""
    job = _restore_job(self.backup_backend, self.path)
    params = json.loads(self.body or "{}")
    status = params.get("ValidationStatus")
    if status not in ("FAILED", "SUCCESSFUL", "TIMED_OUT", "VALIDATING"):
        raise InvalidParameterValueException(msg=f"Invalid ValidationStatus {status!r}")
    if job["Status"] != "COMPLETED":
        raise InvalidRequestException(
            msg=f"Restore job {job['RestoreJobId']} is {job['Status']}, not COMPLETED"
        )
    job["ValidationStatus"] = status
    job["ValidationStatusMessage"] = params.get("ValidationStatusMessage")
    return ""


def describe_backup_job(self: BackupResponse) -> str:
    """DescribeBackupJob (GET /backup-jobs/{id}): the job as AWS describes it."""
    job_id = self.path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[1]
    job = _jobs(self.backup_backend).get(job_id)
    if job is None:
        raise ResourceNotFoundException(msg=f"Backup job {job_id} not found")
    return json.dumps({k: v for k, v in job.items() if k != "IdempotencyToken" and v is not None})


def list_tags(self: BackupResponse) -> str:
    """ListTags (GET /tags/{resourceArn}/): the AWS SDKs for Go send the path without the trailing slash, and
    moto took the ARN from the second-to-last path segment, i.e. 'tags', so every resource read as untagged
    (Terraform then planned to add the default tags on every run). The ARN is everything after '/tags/'."""
    arn = unquote(self.path.split("?", 1)[0].split("/tags/", 1)[1].rstrip("/"))
    return json.dumps({"Tags": self.backup_backend.list_tags(resource_arn=arn)})


def apply() -> None:
    """Install the AWS Backup patches."""
    add_action(BackupResponse, list_tags, replace=True)
    dispatch = BackupResponse.dispatch
    add_routes(
        backup_urls,
        {
            "{0}/backup/plans/(?P<backupPlanId>[^/]+)/selections/?$": dispatch,
            "{0}/backup/plans/(?P<backupPlanId>[^/]+)/selections/(?P<selectionId>[^/]+)/?$": dispatch,
            "{0}/backup-jobs/?$": dispatch,
            "{0}/backup-jobs/(?P<backupJobId>[^/]+)/?$": dispatch,
            # Exactly the SDK's request URIs: the server's router (werkzeug) drops an optional trailing slash.
            "{0}/backup-vaults/(?P<backupVaultName>[^/]+)/recovery-points/$": dispatch,
            "{0}/backup-vaults/(?P<backupVaultName>[^/]+)/recovery-points/(?P<recoveryPointArn>[^/]+)"
            "/restore-metadata$": dispatch,
            "{0}/restore-jobs/?$": dispatch,
            "{0}/restore-jobs/(?P<restoreJobId>[^/]+)/?$": dispatch,
            "{0}/restore-jobs/(?P<restoreJobId>[^/]+)/validations/?$": dispatch,
        },
    )
    for func in (
        create_backup_selection,
        get_backup_selection,
        delete_backup_selection,
        list_backup_selections,
        start_backup_job,
        describe_backup_job,
        list_recovery_points_by_backup_vault,
        get_recovery_point_restore_metadata,
        start_restore_job,
        describe_restore_job,
        put_restore_validation_result,
    ):
        add_action(BackupResponse, func)
