"""Changes: revoke and re-authorize security-group ingress rules, and the tag that remembers a revocation."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError

from nexus_platform.world.aws.clients import error_code
from nexus_platform.world.aws.ec2.probes import IngressRule


def revoke(ec2: Any, rules: Iterable[IngressRule]) -> None:
    """Remove the rules (by their ids), one call per security group."""
    by_group: dict[str, list[str]] = defaultdict(list)
    for rule in rules:
        if rule.rule_id:
            by_group[rule.group_id].append(rule.rule_id)
    for group_id, rule_ids in by_group.items():
        ec2.revoke_security_group_ingress(GroupId=group_id, SecurityGroupRuleIds=rule_ids)


def authorize(ec2: Any, rules: Iterable[IngressRule]) -> None:
    """Add the rules; one that already exists is left as it is (authorizing is then idempotent)."""
    for rule in rules:
        pair: dict[str, str] = {"GroupId": rule.peer_group_id}
        if rule.description:
            pair["Description"] = rule.description
        permission: dict[str, Any] = {"IpProtocol": rule.protocol, "UserIdGroupPairs": [pair]}
        if rule.protocol != "-1":
            permission.update(FromPort=rule.from_port, ToPort=rule.to_port)
        try:
            ec2.authorize_security_group_ingress(GroupId=rule.group_id, IpPermissions=[permission])
        except ClientError as exc:
            if error_code(exc) != "InvalidPermission.Duplicate":
                raise


def tag(ec2: Any, group_id: str, key: str, value: str | None) -> None:
    """Set the tag `key` of a security group, or remove it when `value` is None."""
    if value is None:
        ec2.delete_tags(Resources=[group_id], Tags=[{"Key": key}])
    else:
        ec2.create_tags(Resources=[group_id], Tags=[{"Key": key, "Value": value}])
