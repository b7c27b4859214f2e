"""The AWS world's traffic: the Route 53 health checks behind the api.<domain> failover records (drain = force
unhealthy)."""

from __future__ import annotations

from typing import Any

from nexus_platform.platform import Platform
from nexus_platform.world.aws.clients import Clients, translated
from nexus_platform.world.aws.route53 import actions as route53_actions
from nexus_platform.world.aws.route53 import probes as route53_probes

# Route 53 is a global service whose API (and health-check data) lives in us-east-1.
ROUTE53_REGION = "us-east-1"


class AwsTraffic:
    """Route 53: the health checks of the api.<domain> failover records (PRIMARY: the primary region's).

    A drained region's check is forced unhealthy (Inverted and Disabled, see route53/actions.py), which takes
    its failover record out of DNS answers. app.<domain> (CloudFront) follows on its own: its origin group
    fails over on the origin's 5xx. What clients see changes only after their resolvers' cached answers
    expire (`record_ttls`)."""

    def __init__(self, platform: Platform, clients: Clients) -> None:
        self.platform, self.clients = platform, clients

    def _route53(self) -> Any:
        return self.clients("route53", ROUTE53_REGION)

    def health(self, role: str) -> str:
        check = self.platform.region(role).health_check_id
        with translated(f"reading health check {check}"):
            config = route53_probes.config(self._route53(), check)
            if config.get("Inverted"):
                return "drained"
            if config.get("Disabled"):
                return "healthy"  # Route 53 considers a disabled check healthy
            passing, reporting = route53_probes.checkers(self._route53(), check)
        return "healthy" if route53_probes.healthy(passing, reporting) else "unhealthy"

    def failed_checks(self, role: str) -> int | None:
        """None: GetHealthCheckStatus gives each checker's last check only, not its count toward the failure
        threshold, so the watch counts its own readings, one per request interval, as the checkers do."""
        return None

    def serving(self) -> str | None:
        """The primary while its check is healthy, else DR while DR's is; None when neither is (Route 53
        itself then answers with the primary record, to a region that does not serve)."""
        for role in ("primary", "dr"):
            if self.health(role) == "healthy":
                return role
        return None

    def drain(self, role: str) -> None:
        check = self.platform.region(role).health_check_id
        with translated(f"draining {self.platform.region(role).region} (health check {check})"):
            route53_actions.force_unhealthy(self._route53(), check)

    def restore(self, role: str) -> None:
        check = self.platform.region(role).health_check_id
        with translated(f"restoring {self.platform.region(role).region} (health check {check})"):
            route53_actions.measure(self._route53(), check)

    def record_ttls(self) -> dict[str, int]:
        """The TTL clients cache each of the platform's names for ("<name> <type>[ <set id>]" -> seconds)."""
        names = {self.platform.api_fqdn, self.platform.app_fqdn}
        names.update(facts.origin_fqdn for facts in self.platform.regions.values())
        with translated(f"listing the records of zone {self.platform.zone_id}"):
            return route53_probes.record_ttls(self._route53(), self.platform.zone_id, names)
