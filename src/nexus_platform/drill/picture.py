"""The drill's timeline picture (PNG): writes per 100 ms by outcome, stacked, with the run's marks (fault,
detection, promotion, first acknowledged write), so a reader sees the outage at a glance.

matplotlib is the drill's optional dependency (`pip install 'nexus-platform[drill]'`; `make` installs it):
without it the drill writes the JSON report only (its `picture` fields stay null).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from nexus_platform.drill.load import Outcome, Sent
from nexus_platform.drill.truth import timeline

COLOURS = {
    Outcome.ACKNOWLEDGED.value: "#2e7d32",
    Outcome.NOT_STORED.value: "#f9a825",
    Outcome.UNKNOWN.value: "#6a1b9a",
    Outcome.REJECTED.value: "#c62828",
}
BUCKET = 0.1


def available() -> bool:
    try:
        import matplotlib  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


def draw(
    path: Path,
    log: Sequence[Sent],
    *,
    start: float,
    marks: Mapping[str, float | None],
    title: str,
) -> Path:
    """Write the picture of one run to `path`; `marks` are seconds since `start` (None: not reached)."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")  # files only: no display on a server
    import matplotlib.pyplot as plt  # noqa: PLC0415

    counts = timeline(log, start, BUCKET)
    size = max((len(v) for v in counts.values()), default=0)
    xs = [i * BUCKET for i in range(size)]
    figure, axes = plt.subplots(figsize=(11, 3.6), dpi=110)
    bottom = [0] * size
    for outcome, series in counts.items():
        if not any(series):
            continue
        axes.bar(xs, series, width=BUCKET, bottom=bottom, align="edge", color=COLOURS[outcome], label=outcome)
        bottom = [b + v for b, v in zip(bottom, series, strict=True)]
    top = max(bottom, default=1) or 1
    for (name, at), style in zip(marks.items(), ("-", "--", "-.", ":", (0, (1, 3))), strict=False):
        if at is None:
            continue
        axes.axvline(at, color="black", linestyle=style, linewidth=1)
        axes.text(at, top * 1.02, f" {name} {at:.2f}s", rotation=90, va="bottom", ha="center", fontsize=7)
    axes.set_xlabel("seconds since the load started (send time)")
    axes.set_ylabel(f"writes per {BUCKET * 1000:.0f} ms")
    axes.set_ylim(0, top * 1.6)
    axes.set_title(title, fontsize=9)
    axes.legend(loc="upper left", fontsize=7, ncols=4)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path
