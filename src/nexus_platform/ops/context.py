"""What every step callable receives: the run's parameters, the world's adapters, earlier results, waits."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import tenacity
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from nexus_platform import logs
from nexus_platform.errors import NexusError

T = TypeVar("T")

log = logs.get("ops")


@dataclass
class Context:
    """`world` is opaque to the engine: whatever adapters the runbook's steps expect."""

    env: str
    params: Mapping[str, Any] = field(default_factory=dict)
    world: Any = None
    results: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    run_id: str = ""
    # The engine sets both: True inside plan(), False inside execute(), whatever the caller passed.
    dry_run: bool = True
    quiet: bool = False
    # stderr by default: a command printing JSON on stdout keeps it clean while progress still shows.
    console: Console | None = None

    def _console(self) -> Console:
        if self.console is None:
            self.console = Console(stderr=True)
        return self.console

    def note(self, message: str) -> None:
        log.info(message, extra={"run_id": self.run_id})
        if not self.quiet:
            self._console().print(message, markup=False, highlight=False, soft_wrap=True)

    def wait(
        self, what: str, predicate: Callable[[], T | bool | None], *, timeout: float, interval: float = 0.5
    ) -> T:
        """Poll `predicate` until it returns something truthy, and return that.

        Exceptions from the predicate are not retried: a predicate that can meet transient errors should
        catch them and return None.
        """
        console = self._console()
        progress: Progress | None = None
        task = None
        if not self.quiet and console.is_terminal:
            progress = Progress(
                SpinnerColumn(),
                TextColumn("waiting for {task.description}", markup=False),
                BarColumn(),
                TimeElapsedColumn(),
                TextColumn(f"of {timeout:.0f}s"),
                console=console,
                transient=True,
            )
            progress.start()
            task = progress.add_task(what, total=timeout)
        elif not self.quiet:
            console.print(
                f"waiting for {what} (up to {timeout:.0f}s)", markup=False, highlight=False, soft_wrap=True
            )

        def tick(state: tenacity.RetryCallState) -> None:
            if progress is not None and task is not None:
                progress.update(task, completed=min(state.seconds_since_start or 0.0, timeout))

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_result(lambda value: not value),
            stop=tenacity.stop_before_delay(timeout),
            wait=tenacity.wait_fixed(interval),
            before_sleep=tick,
            retry_error_callback=lambda state: None,
        )
        start = time.monotonic()
        try:
            value = retrying(predicate)
        finally:
            if progress is not None:
                progress.stop()
        elapsed = time.monotonic() - start
        if not value:
            log.info("wait timed out", extra={"what": what, "timeout": timeout, "run_id": self.run_id})
            raise NexusError(f"timed out after {timeout:g}s waiting for {what}")
        log.info("wait done", extra={"what": what, "elapsed": round(elapsed, 3), "run_id": self.run_id})
        if not self.quiet:
            console.print(f"{what}: after {elapsed:.1f}s", markup=False, highlight=False, soft_wrap=True)
        return cast(T, value)
