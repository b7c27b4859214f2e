"""Changes: force a health check unhealthy (drain its region) or give it back its own verdict (restore).

Inverting a check alone is not a drain: Route 53 then calls the endpoint healthy exactly when it fails, so
inverting the check of a dead region would route traffic back to it. A disabled check is "always healthy"
whatever the endpoint answers; inverted as well, it is always unhealthy. Drain sets both; restore clears both.
Route 53's control plane (these calls) lives in us-east-1; its data plane (the checks and DNS answers) does
not depend on it, so when us-east-1 itself fails the checks fail the region over without these calls.
"""

from __future__ import annotations

from typing import Any


def force_unhealthy(route53: Any, health_check_id: str) -> None:
    route53.update_health_check(HealthCheckId=health_check_id, Inverted=True, Disabled=True)


def measure(route53: Any, health_check_id: str) -> None:
    route53.update_health_check(HealthCheckId=health_check_id, Inverted=False, Disabled=False)
