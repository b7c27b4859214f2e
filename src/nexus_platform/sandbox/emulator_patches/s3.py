"""Amazon S3: server access logging permissions granted by a bucket policy."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

from moto.core.responses import ActionResult
from moto.s3.exceptions import ReplicationConfigurationNotFoundError
from moto.s3.models import FakeBucket
from moto.s3.responses import S3Response

from . import add_action, wrap

# Integer members of a replication rule (xmltodict parses every value as a string).
_INTEGER_KEYS = {"Priority", "Minutes"}

LOGGING_SERVICE = "logging.s3.amazonaws.com"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def policy_allows_log_delivery(bucket: FakeBucket, prefix: str | None) -> bool:
    """Whether the bucket policy lets the S3 logging service put objects under `prefix` (IAM wildcard
    semantics)."""
    if not bucket.policy:
        return False
    document = json.loads(bucket.policy.decode() if isinstance(bucket.policy, bytes) else bucket.policy)
    target = f"arn:{bucket.partition}:s3:::{bucket.name}/{prefix or ''}"
    for statement in _as_list(document.get("Statement")):
        principal = statement.get("Principal") or {}
        services = _as_list(principal.get("Service")) if isinstance(principal, dict) else []
        if statement.get("Effect") != "Allow" or LOGGING_SERVICE not in services:
            continue
        actions = _as_list(statement.get("Action"))
        if not any(fnmatch.fnmatchcase("s3:PutObject", action) for action in actions):
            continue
        # The statement must cover the objects the logging service writes: "<prefix><key>".
        resources = _as_list(statement.get("Resource"))
        bucket_arn = f"arn:{bucket.partition}:s3:::{bucket.name}"
        if any(r == bucket_arn or fnmatch.fnmatchcase(target + "x", r) for r in resources):
            return True
    return False


def _install_logging_policy_check() -> None:
    @wrap(FakeBucket, "_log_permissions_enabled_policy")
    def log_permissions_enabled_policy(
        original: Any, target_bucket: FakeBucket, target_prefix: str | None
    ) -> bool:
        """PutBucketLogging: AWS grants log delivery through a bucket policy statement for the service
        principal logging.s3.amazonaws.com evaluated with IAM semantics (lists, wildcards such as 'logs/*'
        covering the target prefix 'logs/app/'). moto compared the statement's Resource with three exact
        strings, failed on lists, and crashed on statements whose Principal is "*", so a correct policy was
        rejected."""
        del (
            original
        )  # replaced: it also failed (AttributeError, HTTP 500) on any statement with Principal "*"
        return policy_allows_log_delivery(target_bucket, target_prefix)


def _typed(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _typed(v, k) for k, v in value.items() if not k.startswith("@")}
    if isinstance(value, list):
        return [_typed(v, key) for v in value]
    if key in _INTEGER_KEYS and isinstance(value, str) and value.isdigit():
        return int(value)
    return value


def replication_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """One stored rule as GetBucketReplication returns it."""
    answer: dict[str, Any] = _typed(rule)
    if "Filter" in answer:
        answer["Filter"] = answer["Filter"] or {"Prefix": ""}
    elif "Prefix" not in answer:
        answer["Filter"] = {"Prefix": ""}
    answer.setdefault("DeleteMarkerReplication", {"Status": "Disabled"})
    return answer


def get_bucket_replication(self: S3Response) -> Any:
    """GetBucketReplication: AWS returns each rule as it was put (filter, delete marker replication, source
    selection criteria, replication time / metrics, existing object replication); moto rebuilt the rules with
    only ID, priority, status and destination, forcing DeleteMarkerReplication to Disabled (so Terraform saw a
    diff on every run)."""
    self.data["Action"] = "GetBucketReplication"
    replication = self.backend.get_bucket_replication(self.bucket_name)
    if not replication:
        raise ReplicationConfigurationNotFoundError(bucket_name=self.bucket_name)
    rules = [replication_rule(rule) for rule in replication["Rule"]]
    return self.serialized(
        ActionResult({"ReplicationConfiguration": {"Role": replication["Role"], "Rules": rules}})
    )


def apply() -> None:
    """Install the S3 patches."""
    _install_logging_policy_check()
    add_action(S3Response, get_bucket_replication, replace=True)
