"""Reads: a health check's configuration and its checkers' observations, and the zone's record TTLs."""

from __future__ import annotations

from typing import Any

# Route 53 considers an endpoint healthy when MORE than 18% of its health checkers report it healthy (the
# Developer Guide, "How Amazon Route 53 determines whether a health check is healthy").
HEALTHY_FRACTION = 0.18
# An alias record has no TTL of its own: Route 53 answers with the target's, 60 s for load balancers and
# CloudFront distributions (the targets of this platform's aliases).
ALIAS_TTL_SECONDS = 60


def config(route53: Any, health_check_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = route53.get_health_check(HealthCheckId=health_check_id)["HealthCheck"]
    return dict(answer.get("HealthCheckConfig", {}))


def checkers(route53: Any, health_check_id: str) -> tuple[int, int]:
    """(checkers reporting success, checkers reporting) from GetHealthCheckStatus: the checkers' raw view,
    before Inverted or Disabled change what Route 53 concludes."""
    observations = route53.get_health_check_status(HealthCheckId=health_check_id).get(
        "HealthCheckObservations", []
    )
    passing = sum(
        1 for o in observations if str((o.get("StatusReport") or {}).get("Status", "")).startswith("Success")
    )
    return passing, len(observations)


def healthy(passing: int, reporting: int) -> bool:
    return reporting > 0 and passing > HEALTHY_FRACTION * reporting


def _name(record_name: str) -> str:
    return record_name.rstrip(".").lower().replace("\\052", "*")


def record_ttls(route53: Any, zone_id: str, names: set[str]) -> dict[str, int]:
    """TTL by "<name> <type>[ <set identifier>]" of the zone's records named in `names` (alias records: the
    target's TTL)."""
    wanted = {n.rstrip(".").lower() for n in names}
    ttls: dict[str, int] = {}
    for page in route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone_id):
        for record in page.get("ResourceRecordSets", []):
            name = _name(record["Name"])
            if name not in wanted:
                continue
            key = " ".join(part for part in (name, record["Type"], record.get("SetIdentifier")) if part)
            ttl = record.get("TTL")
            ttls[key] = int(ttl) if ttl is not None else ALIAS_TTL_SECONDS
    return ttls
