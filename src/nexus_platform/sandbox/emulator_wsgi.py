"""WSGI layers in front of moto's dispatcher: request context, safe SDK retries, and an optional trace."""

from __future__ import annotations

import io
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from nexus_platform.sandbox.emulator_patches.iam_conditions import SECURE_TRANSPORT

WSGIApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


def event(name: str, **fields: Any) -> None:
    """One JSON line on stdout (the emulator's log)."""
    print(json.dumps({"event": name, **fields}), flush=True)


def operation(environ: dict[str, Any]) -> str:
    """The AWS operation of a request (JSON protocols name it in a header, query protocols in the body)."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return str(target).rsplit(".", 1)[-1]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if environ.get("REQUEST_METHOD") == "POST" and 0 < length < 1_000_000:
        body: bytes = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)
        for pair in body.split(b"&"):
            if pair.startswith(b"Action="):
                return pair[len(b"Action=") :].decode(errors="replace")
    return f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}"


def transport_context(app: WSGIApp) -> WSGIApp:
    """Tell the policy evaluator whether this request arrived over TLS (aws:SecureTransport)."""

    def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        SECURE_TRANSPORT.set("true" if environ.get("wsgi.url_scheme") == "https" else "false")
        return app(environ, start_response)

    return application


class RetryReplay:
    """Answer an SDK's retry of a request that already succeeded with the original response.

    AWS SDKs send every attempt of one API call with the same `amz-sdk-invocation-id` and retry when they did
    not receive the response (a reset connection, a timeout). AWS makes those retries safe with idempotency
    tokens (ClientToken and the like), which moto ignores: a retried Create then fails with "already exists"
    although the first attempt created the resource. Replaying the stored response restores AWS's outcome.
    Only successful, non-read requests are stored, a bounded number of them.
    """

    def __init__(self, app: WSGIApp, capacity: int = 4096) -> None:
        self.app = app
        self.capacity = capacity
        self.responses: OrderedDict[str, tuple[str, list[tuple[str, str]], bytes]] = OrderedDict()
        self.lock = threading.Lock()
        self.replayed = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        invocation = environ.get("HTTP_AMZ_SDK_INVOCATION_ID")
        if not invocation or environ.get("REQUEST_METHOD") in ("GET", "HEAD", "OPTIONS"):
            return self.app(environ, start_response)
        with self.lock:
            stored = self.responses.get(invocation)
            if stored is not None:
                self.replayed += 1
        if stored is not None:
            status, headers, body = stored
            event(
                "emulator.retry_replayed", invocation=invocation, attempt=environ.get("HTTP_AMZ_SDK_REQUEST")
            )
            start_response(status, headers)
            return [body]
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return start_response(status, headers, exc_info)

        chunks = self.app(environ, capture)
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        if str(captured.get("status", "500")).startswith("2"):
            with self.lock:
                self.responses[invocation] = (captured["status"], list(captured["headers"]), body)
                while len(self.responses) > self.capacity:
                    self.responses.popitem(last=False)
        return [body]


def trace(app: WSGIApp) -> WSGIApp:
    """Log every request's operation, status, duration and SDK attempt (NEXUS_EMULATOR_TRACE=1)."""

    def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        name, started = operation(environ), time.monotonic()

        def traced(status: str, headers: Any, exc_info: Any = None) -> Any:
            event(
                "emulator.request",
                operation=name,
                status=status.split(" ", 1)[0],
                ms=round((time.monotonic() - started) * 1000),
                attempt=environ.get("HTTP_AMZ_SDK_REQUEST"),
                thread=threading.current_thread().name,
            )
            return start_response(status, headers, exc_info)

        return app(environ, traced)

    return application


def stack(app: WSGIApp) -> WSGIApp:
    """moto's dispatcher wrapped in the emulator's layers (outermost first: trace, replay, context)."""
    wrapped: WSGIApp = RetryReplay(transport_context(app))
    return trace(wrapped) if os.environ.get("NEXUS_EMULATOR_TRACE") == "1" else wrapped
