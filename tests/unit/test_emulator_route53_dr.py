"""Route 53 patch for disaster recovery: GetHealthCheckStatus answers from each checker region (boto3 against
moto with the patches applied)."""

from __future__ import annotations

from typing import Any

import boto3

from nexus_platform.sandbox.emulator_patches.route53 import CHECKER_REGIONS


def _check(route53: Any, **extra: Any) -> str:
    config = {
        "Type": "HTTPS",
        "FullyQualifiedDomainName": "us-east-1.origin.example.com",
        "Port": 443,
        "ResourcePath": "/readyz",
        "RequestInterval": 10,
        "FailureThreshold": 3,
        **extra,
    }
    return str(
        route53.create_health_check(CallerReference=str(extra), HealthCheckConfig=config)["HealthCheck"]["Id"]
    )


def test_one_observation_per_checker_region(aws: None) -> None:
    route53 = boto3.client("route53", region_name="us-east-1")
    regions = ["us-east-1", "us-west-2", "eu-west-1"]
    named = _check(route53, Regions=regions)
    observations = route53.get_health_check_status(HealthCheckId=named)["HealthCheckObservations"]
    assert [o["Region"] for o in observations] == regions
    assert all(o["StatusReport"]["Status"].startswith("Success") for o in observations)
    assert len({o["IPAddress"] for o in observations}) == len(regions)

    default = _check(route53)
    observations = route53.get_health_check_status(HealthCheckId=default)["HealthCheckObservations"]
    assert [o["Region"] for o in observations] == list(CHECKER_REGIONS)


def test_inverting_and_disabling_are_kept(aws: None) -> None:
    route53 = boto3.client("route53", region_name="us-east-1")
    check = _check(route53, Regions=["us-east-1", "us-west-2", "eu-west-1"])
    route53.update_health_check(HealthCheckId=check, Inverted=True, Disabled=True)
    config = route53.get_health_check(HealthCheckId=check)["HealthCheck"]["HealthCheckConfig"]
    assert (config["Inverted"], config["Disabled"]) == (True, True)
    # The observations are the checkers' raw view: inverting changes Route 53's verdict, not what they see.
    observations = route53.get_health_check_status(HealthCheckId=check)["HealthCheckObservations"]
    assert all(o["StatusReport"]["Status"].startswith("Success") for o in observations)


def test_a_tag_makes_the_checkers_report_failure(aws: None) -> None:
    """The emulator probes nothing; a test makes an endpoint fail through the API (the check's tag), and the
    AWS world's traffic adapter then sees what Route 53 would conclude."""
    from nexus_platform.sandbox.emulator_patches.route53 import CHECKER_STATUS_TAG  # noqa: PLC0415
    from nexus_platform.world.aws.route53 import probes  # noqa: PLC0415

    route53 = boto3.client("route53", region_name="us-east-1")
    check = _check(route53, Regions=["us-east-1", "us-west-2", "eu-west-1"])

    def verdict() -> bool:
        return probes.healthy(*probes.checkers(route53, check))

    def tag(value: str | None) -> None:
        if value is None:
            route53.change_tags_for_resource(
                ResourceType="healthcheck", ResourceId=check, RemoveTagKeys=[CHECKER_STATUS_TAG]
            )
        else:
            route53.change_tags_for_resource(
                ResourceType="healthcheck",
                ResourceId=check,
                AddTags=[{"Key": CHECKER_STATUS_TAG, "Value": value}],
            )

    assert verdict() is True
    tag("failure")
    statuses = [
        o["StatusReport"]["Status"]
        for o in route53.get_health_check_status(HealthCheckId=check)["HealthCheckObservations"]
    ]
    assert all(status.startswith("Failure") for status in statuses)
    assert verdict() is False
    tag("2")  # 2 of 3 fail: one in three (> 18%) still reports success, and Route 53 calls it healthy
    assert verdict() is True
    tag(None)
    assert verdict() is True
