"""Progress of long commands: a Terraform apply's bar (or one line per resource without a terminal)."""

from __future__ import annotations

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from nexus_platform.commands.common import console
from nexus_platform.terraform.runner import ApplyEvent


class ApplyProgress:
    """Progress of a Terraform apply: a bar on a terminal, one line per finished resource otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.interactive = console.is_terminal
        self.done = 0
        self.progress: Progress | None = None
        self.task: TaskID | None = None

    def __enter__(self) -> ApplyProgress:
        if self.enabled and self.interactive:
            self.progress = Progress(
                TextColumn("[bold]terraform apply"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.description}"),
                console=console,
            )
            self.progress.start()
            self.task = self.progress.add_task("planning", total=None)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def __call__(self, event: ApplyEvent) -> None:
        # Data-source reads also report start/complete; only planned resource changes count as progress.
        if not self.enabled or event.kind not in ("start", "complete", "errored") or event.action == "read":
            return
        if event.kind != "start":
            self.done += 1
        if self.progress is not None and self.task is not None:
            self.progress.update(
                self.task, total=event.planned, completed=self.done, description=event.address
            )
        elif event.kind != "start":
            verb = "failed" if event.kind == "errored" else f"{event.action or 'done'} ({event.elapsed:.0f}s)"
            console.print(
                f"[{self.done:>4}/{event.planned}] {event.address} {verb}", highlight=False, soft_wrap=True
            )


class Quiet:
    """Stands in for rich's status when there is no terminal to draw on."""

    def __enter__(self) -> Quiet:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, _message: str) -> None:
        return None
