"""Amazon Route 53: query logging to a CloudWatch Logs log group, and health-check status per checker
region."""

from __future__ import annotations

import re
import uuid
from typing import Any

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.logs.models import logs_backends
from moto.route53.exceptions import (
    InvalidCloudWatchArn,
    NoSuchCloudWatchLogsLogGroup,
    NoSuchHostedZone,
    QueryLoggingConfigAlreadyExists,
)
from moto.route53.models import QueryLoggingConfig, Route53Backend
from moto.route53.responses import Route53

from . import add_action, wrap

# HealthCheckRegion in the Route 53 API: where health checkers run, and all of them when a check names none.
CHECKER_REGIONS = (
    "us-east-1",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "sa-east-1",
)

# The emulator probes nothing. So that a runbook's health-check reading can see a failure, the checkers report
# what this tag on the health check says (ChangeTagsForResource): "failure" makes every checker fail, a number
# N makes the first N checkers fail. Without it every checker reports success, as moto's did.
CHECKER_STATUS_TAG = "nexus:emulator-checkers"

LOG_GROUP_ARN = re.compile(r"^arn:aws[a-z-]*:logs:us-east-1:\d{12}:log-group:(?P<name>[^:]+)(:\*)?$")


def _install_query_logging() -> None:
    @wrap(Route53Backend, "create_query_logging_config")
    def create_query_logging_config(
        original: Any, self: Route53Backend, hosted_zone_id: str, log_group_arn: str
    ) -> QueryLoggingConfig:
        """CreateQueryLoggingConfig: AWS accepts the ARN of a log group in us-east-1, with or without the ':*'
        suffix. moto looked the group up in a list it mis-indexed (the first log group instead of the list of
        groups), so every request failed with NoSuchCloudWatchLogsLogGroup. Same checks, same result
        otherwise; moto's own method is not called."""
        del original  # replaced: its log-group lookup cannot work (see above)
        if not any(zone.resource_id == hosted_zone_id for zone in self.zones.values()):
            raise NoSuchHostedZone(hosted_zone_id)
        match = LOG_GROUP_ARN.match(log_group_arn or "")
        if match is None:
            raise InvalidCloudWatchArn()
        if match.group("name") not in logs_backends[self.account_id]["us-east-1"].groups:
            raise NoSuchCloudWatchLogsLogGroup()
        if any(config.hosted_zone_id == hosted_zone_id for config in self.query_logging_configs.values()):
            raise QueryLoggingConfigAlreadyExists()
        config = QueryLoggingConfig(str(uuid.uuid4()), hosted_zone_id, log_group_arn)
        self.query_logging_configs[config.id] = config
        return config


def get_health_check_status(self: Route53) -> ActionResult:
    """GetHealthCheckStatus: AWS answers one observation per health checker, from each of the check's checker
    Regions (all of them when it names none); moto answered a single us-east-1 observation whatever the
    check's Regions, so a caller applying Route 53's rule (healthy when more than 18% of the checkers report
    success) counted one checker. The emulator probes nothing: every checker reports success, as moto's did,
    unless the check's CHECKER_STATUS_TAG says otherwise (a test's way to make the endpoint fail). The status
    is the checkers' raw view: Inverted and Disabled change what Route 53 concludes, not what checkers see."""
    check_id = self._get_param("HealthCheckId")
    health_check = self.backend.get_health_check(check_id)
    regions = list(health_check.regions or CHECKER_REGIONS)
    wanted = str((self.backend.list_tags_for_resource(check_id) or {}).get(CHECKER_STATUS_TAG, "")).lower()
    failing = len(regions) if wanted == "failure" else int(wanted) if wanted.isdigit() else 0
    now = utcnow()
    success = "Success: HTTP Status Code: 200. Resolved IP: 127.0.13.37. OK"
    failure = "Failure: HTTP Status Code: 503. Resolved IP: 127.0.13.37. Service Unavailable"
    observations = [
        {
            "Region": region,
            "IPAddress": f"127.0.13.{index + 1}",
            "StatusReport": {"Status": failure if index < failing else success, "CheckedTime": now},
        }
        for index, region in enumerate(regions)
    ]
    return ActionResult({"HealthCheckObservations": observations})


def apply() -> None:
    """Install the Route 53 patches."""
    _install_query_logging()
    add_action(Route53, get_health_check_status, replace=True)
