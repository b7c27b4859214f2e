"""AWS Backup: backup selections (which resources a plan protects) and on-demand backup jobs, absent from
moto."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import unquote

from moto.backup import urls as backup_urls
from moto.backup.exceptions import (
    AlreadyExistsException,
    InvalidParameterValueException,
    ResourceNotFoundException,
)
from moto.backup.models import BackupBackend
from moto.backup.responses import BackupResponse
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
    if not exists:
        job["StatusMessage"] = f"Unable to find resource {resource_arn}"
    jobs[job_id] = job
    return json.dumps({k: job[k] for k in ("BackupJobId", "RecoveryPointArn", "CreationDate")})


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
        },
    )
    for func in (
        create_backup_selection,
        get_backup_selection,
        delete_backup_selection,
        list_backup_selections,
        start_backup_job,
        describe_backup_job,
    ):
        add_action(BackupResponse, func)
