"""``nexus-api`` / ``python -m nexus_api``: check the configuration, then serve with uvicorn."""

from __future__ import annotations

import logging
import os
import signal
import sys
from types import FrameType

import uvicorn
from starlette.applications import Starlette

from nexus_api.app import build_version, create_app
from nexus_api.config import ConfigError, load_settings
from nexus_api.jsonlog import configure_logging

EXIT_CONFIG = 2


def _exit_after_drain(signum: int, frame: FrameType | None) -> None:
    sys.exit(0)


def main() -> None:
    try:
        settings = load_settings(os.environ)
    except ConfigError as exc:
        print(f"nexus-api: {exc}", file=sys.stderr)
        sys.exit(EXIT_CONFIG)
    configure_logging(settings.log_level, {"service": "nexus-api", "region": settings.region})
    logging.getLogger("nexus_api").info(
        "starting",
        extra={
            "version": build_version(settings),
            "role": settings.role,
            "port": settings.port,
            "workers": settings.workers,
            "pid": os.getpid(),
        },
    )
    if settings.workers > 1:
        logging.getLogger("nexus_api").warning(
            "several workers: each keeps its own metrics and a scrape sees one of them; "
            "run one worker per pod and scale with replicas"
        )
    # With one worker the app is built here, from the settings already checked; worker processes import it
    # themselves, each building it from the same environment.
    app: Starlette | str = (
        create_app(settings) if settings.workers == 1 else "nexus_api.app:create_app_from_env"
    )
    # uvicorn drains on SIGTERM, then restores the previous handler and raises the signal again. With this one
    # in place that ends the process with status 0, so any other status means the drain did not complete.
    signal.signal(signal.SIGTERM, _exit_after_drain)
    uvicorn.run(
        app,
        factory=settings.workers > 1,
        workers=settings.workers,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_config=None,
        access_log=False,
        server_header=False,
        # On SIGTERM uvicorn stops accepting, lets in-flight requests finish for up to this long, then runs
        # the lifespan shutdown. Kubernetes' terminationGracePeriodSeconds must be longer.
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
        timeout_keep_alive=5,
    )


if __name__ == "__main__":
    main()
