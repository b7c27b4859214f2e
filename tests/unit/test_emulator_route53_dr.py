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
