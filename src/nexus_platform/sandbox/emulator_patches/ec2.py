"""Amazon EC2: security group rule descriptions and launch template data."""

from __future__ import annotations

from typing import Any

from moto.ec2.models.launch_templates import LaunchTemplate, LaunchTemplateBackend
from moto.ec2.models.security_groups import SecurityGroupRule

from . import extend, wrap


def _rule_description(rule: SecurityGroupRule) -> str | None:
    """DescribeSecurityGroupRules: AWS returns the description of every rule, whatever its peer (CIDR,
    referenced security group or prefix list); moto only looked at CIDR ranges, so rules between security
    groups lost theirs (and Terraform planned to set them again on every run)."""
    for peer in (rule.ip_range, rule.source_group, getattr(rule, "nexus_prefix_list", None) or {}):
        description = peer.get("Description")
        if description is not None:
            return str(description)
    return None


def _install_rule_description() -> None:
    @wrap(SecurityGroupRule, "__init__")
    def init(original: Any, self: SecurityGroupRule, *args: Any, **kwargs: Any) -> None:
        """Keep the prefix-list peer (with its description) that moto reduced to the prefix list id."""
        original(self, *args, **kwargs)
        extend(self, nexus_prefix_list=kwargs.get("prefix_list_id"))

    SecurityGroupRule.description = property(_rule_description)  # type: ignore[assignment,method-assign]


def _install_launch_template_tags() -> None:
    @wrap(LaunchTemplateBackend, "create_launch_template")
    def create_launch_template(original: Any, self: LaunchTemplateBackend, *args: Any) -> LaunchTemplate:
        """CreateLaunchTemplate: the request's TagSpecifications tag the launch template itself. moto also
        copied them into LaunchTemplateData.TagSpecifications (which only tags instances, volumes, ...
        launched from it), so DescribeLaunchTemplateVersions showed a 'launch-template' tag specification
        nobody configured."""
        name, description, template_data, tag_spec = args
        specs = template_data.get("TagSpecifications")
        if specs:
            template_data["TagSpecifications"] = [
                s for s in specs if s.get("ResourceType") != "launch-template"
            ]
            if not template_data["TagSpecifications"]:
                del template_data["TagSpecifications"]
        template: LaunchTemplate = original(self, name, description, template_data, tag_spec)
        return template


def apply() -> None:
    """Install the EC2 patches."""
    _install_rule_description()
    _install_launch_template_tags()
