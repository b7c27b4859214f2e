"""Reads: the ingress rules that let the workload's security groups reach a port of another group, and the
security groups a launch template gives its instances."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class IngressRule:
    """One ingress rule of `group_id` admitting `peer_group_id` on a port range: what a fence removes and an
    unfence puts back."""

    group_id: str
    peer_group_id: str
    protocol: str
    from_port: int
    to_port: int
    description: str | None = None
    rule_id: str | None = None  # AWS's id of the rule (sgr-...); a restored rule gets a new one

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IngressRule:
        return cls(
            group_id=str(data["group_id"]),
            peer_group_id=str(data["peer_group_id"]),
            protocol=str(data["protocol"]),
            from_port=int(data["from_port"]),
            to_port=int(data["to_port"]),
            description=data.get("description"),
            rule_id=data.get("rule_id"),
        )

    def covers(self, port: int) -> bool:
        return self.protocol == "-1" or self.from_port <= port <= self.to_port

    def same_path(self, other: IngressRule) -> bool:
        """The same peer, protocol and ports (whatever the rule's id and description)."""
        return (self.group_id, self.peer_group_id, self.protocol, self.from_port, self.to_port) == (
            other.group_id,
            other.peer_group_id,
            other.protocol,
            other.from_port,
            other.to_port,
        )


def ingress_rules(ec2: Any, group_ids: Iterable[str]) -> list[IngressRule]:
    """The ingress rules of `group_ids` whose peer is another security group."""
    groups = sorted(set(group_ids))
    if not groups:
        return []
    rules: list[IngressRule] = []
    pages = ec2.get_paginator("describe_security_group_rules").paginate(
        Filters=[{"Name": "group-id", "Values": groups}]
    )
    for page in pages:
        for rule in page.get("SecurityGroupRules", []):
            peer = (rule.get("ReferencedGroupInfo") or {}).get("GroupId")
            if rule.get("IsEgress") or not peer:
                continue
            rules.append(
                IngressRule(
                    group_id=rule["GroupId"],
                    peer_group_id=peer,
                    protocol=str(rule.get("IpProtocol", "-1")),
                    from_port=int(rule.get("FromPort", -1)),
                    to_port=int(rule.get("ToPort", -1)),
                    description=rule.get("Description"),
                    rule_id=rule.get("SecurityGroupRuleId"),
                )
            )
    return rules


def app_ingress(ec2: Any, group_ids: Iterable[str], port: int, peers: Collection[str]) -> list[IngressRule]:
    """The rules of `group_ids` admitting one of `peers` (any security group when `peers` is empty) on
    `port`."""
    return [
        rule
        for rule in ingress_rules(ec2, group_ids)
        if rule.protocol in ("tcp", "6", "-1")
        and rule.covers(port)
        and (not peers or rule.peer_group_id in peers)
    ]


def launch_template_groups(ec2: Any, template_id: str, version: str | None) -> list[str]:
    """The security groups a launch template version gives its instances (directly or on its interfaces)."""
    answer = ec2.describe_launch_template_versions(
        LaunchTemplateId=template_id, Versions=[version or "$Default"]
    )
    groups: list[str] = []
    for entry in answer.get("LaunchTemplateVersions", []):
        data = entry.get("LaunchTemplateData", {})
        groups.extend(data.get("SecurityGroupIds", []))
        for interface in data.get("NetworkInterfaces", []):
            groups.extend(interface.get("Groups", []))
    return groups


def group_tags(ec2: Any, group_id: str) -> dict[str, str]:
    answer = ec2.describe_security_groups(GroupIds=[group_id])
    groups = answer.get("SecurityGroups", [])
    return {tag["Key"]: tag["Value"] for tag in (groups[0].get("Tags", []) if groups else [])}
