"""Amazon Route 53: query logging to a CloudWatch Logs log group."""

from __future__ import annotations

import re
import uuid
from typing import Any

from moto.logs.models import logs_backends
from moto.route53.exceptions import (
    InvalidCloudWatchArn,
    NoSuchCloudWatchLogsLogGroup,
    NoSuchHostedZone,
    QueryLoggingConfigAlreadyExists,
)
from moto.route53.models import QueryLoggingConfig, Route53Backend

from . import wrap

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


def apply() -> None:
    """Install the Route 53 patches."""
    _install_query_logging()
