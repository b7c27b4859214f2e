"""The AWS world's one client factory, its error translation and its two ways of waiting.

Every boto3 client comes from `awsapi.client` (botocore's standard retry mode; the emulator's endpoint and CA
in the sandbox). Every AWS error becomes a one-line `NexusError`: the operation, botocore's error code and
message, and a hint. Waiting uses botocore's waiters where the service model has one (or a custom waiter
model in botocore's own format), and `tenacity` for the conditions no waiter can express.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, WaiterError
from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

from nexus_platform import awsapi, errormap
from nexus_platform.errors import NexusError, Unreachable

# Errors that say "the region (or the network to it) does not answer", as opposed to "you asked wrongly".
UNREACHABLE = ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError")

# Services whose API is global (one endpoint for every region): a regional outage is not theirs.
GLOBAL_SERVICES = frozenset({"route53", "cloudfront", "iam", "sts"})
# Where a rehearsed outage sends a region's calls: nothing listens on port 1, every call is refused at once.
NOWHERE = "https://127.0.0.1:1"


@dataclass
class Clients:
    """boto3 clients by (service, region), each created once (a client costs tens of milliseconds).

    `outage` names regions whose regional endpoints are made unreachable (a rehearsal of a regional outage
    against the emulator): their calls go nowhere, as when a region's APIs are down; global services
    answer."""

    endpoint_url: str | None = None
    ca_bundle: Path | None = None
    outage: frozenset[str] = frozenset()
    _made: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)
    # boto3's default session is not thread-safe while it makes a client; the runbooks read the world from
    # several threads at once (`ops.parallel.side_by_side`). Made clients are thread-safe.
    _making: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, service: str, region: str) -> Any:
        key = (service, region)
        with self._making:
            if key not in self._made:
                if region in self.outage and service not in GLOBAL_SERVICES:
                    # One attempt: retrying an endpoint that refuses every connection only delays the runbook.
                    self._made[key] = awsapi.client(service, region, NOWHERE, max_attempts=1)
                else:
                    self._made[key] = awsapi.client(
                        service, region, self.endpoint_url, ca_bundle=self.ca_bundle
                    )
            return self._made[key]

    def credentials(self) -> Any:
        return awsapi.credentials(self.endpoint_url)


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return type(exc).__name__


def unreachable(exc: BaseException) -> bool:
    return isinstance(exc, BotoCoreError) and type(exc).__name__ in UNREACHABLE


def _one_line(text: str) -> str:
    return " ".join(text.split())


@contextmanager
def translated(what: str, hint: str | None = None) -> Iterator[None]:
    """Turn botocore's errors raised inside into one-line `NexusError`s about `what`."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Error"))
        message = _one_line(str(error.get("Message", "")))
        mapped = errormap.describe(exc)  # access denied, throttling: the CLI's one wording for them
        if mapped is not None and (code in errormap.DENIED or code in errormap.THROTTLED):
            raise NexusError(f"{what}: {mapped.args[0]}", hint=mapped.hint) from exc
        raise NexusError(f"{what}: {code}: {message}", hint=hint) from exc
    except WaiterError as exc:
        raise NexusError(
            f"{what}: {_one_line(str(exc))}", hint=hint or "look at the resource in the AWS console"
        ) from exc
    except BotoCoreError as exc:
        mapped = errormap.describe(exc)
        text = mapped.args[0] if mapped is not None else _one_line(str(exc))
        if unreachable(exc):
            raise Unreachable(f"{what}: {text}", hint=hint or "is the region reachable from here?") from exc
        raise NexusError(f"{what}: {text}", hint=hint or (mapped.hint if mapped else None)) from exc


@dataclass(frozen=True)
class Waiting:
    """How long and how often to wait: botocore waiters' Delay/MaxAttempts, tenacity's interval/timeout."""

    delay: float = 15.0
    timeout: float = 1800.0

    def waiter_config(self, timeout: float | None = None) -> dict[str, int]:
        delay = max(1, round(self.delay))
        return {"Delay": delay, "MaxAttempts": max(1, round((timeout or self.timeout) / delay))}


def wait(waiter: Any, what: str, waiting: Waiting, timeout: float | None = None, **kwargs: Any) -> None:
    """Run a botocore waiter with `waiting`'s pace; giving up is a one-line NexusError."""
    with translated(f"waiting for {what}", hint="it may still complete: re-check, then resume the run"):
        waiter.wait(WaiterConfig=waiting.waiter_config(timeout), **kwargs)


def poll(what: str, check: Callable[[], bool], waiting: Waiting, timeout: float | None = None) -> None:
    """Call `check` until it is true (botocore has no waiter for it), every `waiting.delay` seconds."""
    limit = timeout if timeout is not None else waiting.timeout
    retrying = Retrying(
        retry=retry_if_result(lambda done: not done),
        stop=stop_after_delay(limit),
        wait=wait_fixed(waiting.delay),
    )
    try:
        retrying(check)
    except RetryError:
        raise NexusError(
            f"gave up waiting for {what} after {limit:.0f}s",
            hint="it may still complete: re-check, then resume the run",
        ) from None
