"""Per-request plumbing, as plain ASGI (Starlette's BaseHTTPMiddleware costs a task per request): a request id
for every request and log line, the RED metrics by route template, and one JSON access-log line."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nexus_api.jsonlog import request_id_var
from nexus_api.metrics import Metrics

access_log = logging.getLogger("nexus_api.access")
error_log = logging.getLogger("nexus_api.error")

# A client's (or the edge's) request id is kept if it is short and harmless in a log line and a header.
_REQUEST_ID_RE = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
UNMATCHED_ROUTE = "unmatched"


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            return value.decode("ascii") if _REQUEST_ID_RE.match(value) else None
    return None


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics, log_requests: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        header = (b"x-request-id", request_id.encode("ascii"))
        status = 500  # what the client gets if the app raises before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        self.metrics.http_in_flight.inc()
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            error_log.exception("unhandled error", extra={"method": scope["method"], "path": scope["path"]})
            raise
        finally:
            elapsed = time.perf_counter() - start
            self.metrics.http_in_flight.dec()
            # The route's template, never the raw path: ids in label values would explode the series count.
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED_ROUTE
            method = scope["method"]
            self.metrics.observe_request(template, method, status, elapsed)
            if self.log_requests:
                access_log.info(
                    "request",
                    extra={
                        "method": method,
                        "path": scope["path"],
                        "route": template,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 3),
                    },
                )
            request_id_var.reset(token)
