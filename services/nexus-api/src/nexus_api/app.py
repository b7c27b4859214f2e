"""The ASGI application: routes, middleware, and the lifespan that opens and closes the dependencies."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from starlette.applications import Starlette
from starlette.middleware import Middleware

from nexus_api import api, health
from nexus_api.config import Settings, load_settings
from nexus_api.jsonlog import configure_logging
from nexus_api.metrics import Metrics
from nexus_api.middleware import ObservabilityMiddleware
from nexus_api.runtime import start_runtime

log = logging.getLogger("nexus_api")


def build_version(settings: Settings) -> str:
    if settings.version:
        return settings.version
    try:
        return version("nexus-api")
    except PackageNotFoundError:
        return "unknown"


def create_app(settings: Settings) -> Starlette:
    metrics = Metrics(version=build_version(settings), region=settings.region, role=settings.role)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime = await start_runtime(settings, metrics)
        app.state.runtime = runtime
        # Everything allocated so far lives as long as the process: moving it out of the collector's reach
        # keeps full collections (and the latency spikes they cause under load) short.
        gc.freeze()
        try:
            yield
        finally:
            # Runs after the server has drained in-flight requests (uvicorn waits for them on SIGTERM).
            log.info("shutting down: closing the database pool and the cache client")
            await runtime.close()

    app = Starlette(
        routes=[*api.ROUTES, *health.ROUTES],
        middleware=[Middleware(ObservabilityMiddleware, metrics=metrics, log_requests=settings.access_log)],
        lifespan=lifespan,
        max_body_size=settings.max_body_bytes,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    return app


def create_app_from_env() -> Starlette:
    """Factory for uvicorn worker processes (NEXUS_API_WORKERS > 1): each reads and checks the environment."""
    settings = load_settings(os.environ)
    configure_logging(settings.log_level, {"service": "nexus-api", "region": settings.region})
    return create_app(settings)
