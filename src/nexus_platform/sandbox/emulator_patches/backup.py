"""AWS Backup: backup selections (which resources a plan protects), absent from moto."""

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
        },
    )
    for func in (
        create_backup_selection,
        get_backup_selection,
        delete_backup_selection,
        list_backup_selections,
    ):
        add_action(BackupResponse, func)
