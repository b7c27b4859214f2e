"""The sandbox's AWS emulator: moto's server (every service, every region, one process) plus the project's
patches.

    python -m nexus_platform.sandbox.emulator --host 127.0.0.1 --port 4566

prints one JSON line {"event": "emulator.ready", ...} on stdout once it accepts connections, and exits cleanly
(0) on SIGTERM or SIGINT. `serve(host, port)` does the same in-process (blocking). The patches over moto's
backends (the AWS behaviour the Terraform needs and moto 5.2.5 lacks) live in `emulator_patches`, one module
per service."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

# Before moto is imported (it reads some settings at import time).
from nexus_platform.sandbox import emulator_wsgi, tls
from nexus_platform.sandbox.emulator_patches import ENV_DEFAULTS, apply_all
from nexus_platform.sandbox.emulator_wsgi import event

for _name, _value in ENV_DEFAULTS.items():
    os.environ.setdefault(_name, _value)

from moto.moto_server.werkzeug_app import (  # noqa: E402 - after the environment defaults
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server  # noqa: E402


class QuietRequestHandler(MotoRequestHandler):
    """Moto's request handler without one access-log line per request (NEXUS_EMULATOR_ACCESS_LOG=1 restores
    it)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if os.environ.get("NEXUS_EMULATOR_ACCESS_LOG") == "1":
            super().log_request(code, size)


def make_emulator_server(host: str, port: int, tls_dir: Path | None = None) -> BaseWSGIServer:
    """A threaded WSGI server with moto's dispatcher (all services, all regions), patches applied, bound
    now; HTTPS with the sandbox CA's certificate when `tls_dir` is given."""
    apply_all()
    app = emulator_wsgi.stack(DomainDispatcherApplication(create_backend_app))
    ssl_context: tuple[str, str] | None = None
    if tls_dir is not None:
        tls_files = tls.ensure(tls_dir)
        ssl_context = (str(tls_files.certificate), str(tls_files.key))
    return make_server(
        host, port, app, threaded=True, request_handler=QuietRequestHandler, ssl_context=ssl_context
    )


def serve(host: str, port: int, tls_dir: Path | None = None) -> None:
    """Run the emulator until SIGTERM/SIGINT (when called from the main thread) or until the process ends.

    Prints the ready line once the socket is listening.
    """
    os.environ.setdefault("MOTO_PORT", str(port))  # moto builds some URLs (e.g. SQS queue URLs) with it
    server = make_emulator_server(host, port, tls_dir)
    stopping = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        if not stopping.is_set():
            stopping.set()
            event("emulator.stopping", signal=signal.Signals(signum).name)
            # shutdown() waits for serve_forever() to return: it must run outside the serving thread.
            threading.Thread(target=server.shutdown, daemon=True).start()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
    bound_host, bound_port = server.server_address[:2]
    scheme = "https" if tls_dir is not None else "http"
    event(
        "emulator.ready",
        host=str(bound_host),
        port=int(bound_port),
        scheme=scheme,
        pid=os.getpid(),
        time=time.time(),
    )
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        event("emulator.stopped", port=int(bound_port))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nexus_platform.sandbox.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=4566, help="port to bind (default 4566)")
    parser.add_argument(
        "--tls-dir", type=Path, default=None, help="serve HTTPS with the sandbox CA kept in this folder"
    )
    args = parser.parse_args(argv)
    try:
        serve(args.host, args.port, args.tls_dir)
    except OSError as exc:
        event("emulator.failed", error=str(exc), host=args.host, port=args.port)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
