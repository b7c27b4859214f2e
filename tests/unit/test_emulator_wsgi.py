"""The emulator's WSGI layers: SDK retries replayed, transport context, operation names."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from nexus_platform.sandbox.emulator_patches.iam_conditions import SECURE_TRANSPORT
from nexus_platform.sandbox.emulator_wsgi import RetryReplay, operation, transport_context


class CountingApp:
    """A stand-in for moto's dispatcher: creates a numbered resource per call."""

    def __init__(self, status: str = "200 OK") -> None:
        self.calls = 0
        self.status = status

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        self.calls += 1
        start_response(self.status, [("Content-Type", "text/xml")])
        return [f"<id>res-{self.calls}</id>".encode()]


def call(app: Any, **environ: Any) -> tuple[str, bytes]:
    seen: dict[str, str] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        seen["status"] = status

    body = b"".join(app({"REQUEST_METHOD": "POST", **environ}, start_response))
    return seen["status"], body


def test_a_retried_create_gets_the_first_response_not_a_duplicate() -> None:
    inner = CountingApp()
    app = RetryReplay(inner)
    first = call(app, HTTP_AMZ_SDK_INVOCATION_ID="inv-1", HTTP_AMZ_SDK_REQUEST="attempt=1; max=3")
    retry = call(app, HTTP_AMZ_SDK_INVOCATION_ID="inv-1", HTTP_AMZ_SDK_REQUEST="attempt=2; max=3")
    other = call(app, HTTP_AMZ_SDK_INVOCATION_ID="inv-2")
    assert first == retry == ("200 OK", b"<id>res-1</id>")
    assert other == ("200 OK", b"<id>res-2</id>")
    assert inner.calls == 2
    assert app.replayed == 1


def test_failures_reads_and_unidentified_requests_are_not_replayed() -> None:
    failing = CountingApp("400 Bad Request")
    app = RetryReplay(failing)
    call(app, HTTP_AMZ_SDK_INVOCATION_ID="inv-1")
    call(app, HTTP_AMZ_SDK_INVOCATION_ID="inv-1")
    assert failing.calls == 2  # an error is retried for real
    reads = RetryReplay(CountingApp())
    call(reads, REQUEST_METHOD="GET", HTTP_AMZ_SDK_INVOCATION_ID="inv-1")
    call(reads, REQUEST_METHOD="GET", HTTP_AMZ_SDK_INVOCATION_ID="inv-1")
    call(reads)
    call(reads)
    assert reads.app.calls == 4  # type: ignore[attr-defined]


def test_replay_memory_is_bounded() -> None:
    app = RetryReplay(CountingApp(), capacity=2)
    for index in range(5):
        call(app, HTTP_AMZ_SDK_INVOCATION_ID=f"inv-{index}")
    assert list(app.responses) == ["inv-3", "inv-4"]


def test_transport_context_reflects_the_request_scheme() -> None:
    seen: list[str | None] = []

    def inner(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        seen.append(SECURE_TRANSPORT.get(None))
        start_response("200 OK", [])
        return [b""]

    app = transport_context(inner)
    call(app, **{"wsgi.url_scheme": "https"})
    call(app, **{"wsgi.url_scheme": "http"})
    assert seen == ["true", "false"]


def test_operation_names_for_json_and_query_protocols() -> None:
    assert operation({"HTTP_X_AMZ_TARGET": "AWSWAF_20190729.CreateWebACL"}) == "CreateWebACL"
    body = b"Action=CreateFlowLogs&Version=2016-11-15"
    environ = {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
    assert operation(environ) == "CreateFlowLogs"
    assert environ["wsgi.input"].read() == body  # the body is still there for moto
