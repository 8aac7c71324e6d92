"""Opt-in memory diagnostics for finding what grows in a running server.

With `CLIENTGRAPH_TRACEMALLOC=<frames>` (0, the default, is off) `clientgraph serve` traces
allocations with that many frames each; every SIGUSR1 then logs the allocations that grew most
since the first SIGUSR1, grouped by traceback, each line starting with `tracemalloc:`.
Tracing slows the server and costs memory itself: never in production.
"""

from __future__ import annotations

import logging
import signal
import tracemalloc
from types import FrameType

logger = logging.getLogger("clientgraph.diagnostics")

IGNORED = (
    tracemalloc.Filter(False, tracemalloc.__file__),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap_external>"),
)


def report_growth(baseline: tracemalloc.Snapshot, top: int) -> list[str]:
    """The `top` tracebacks whose allocations grew most since `baseline`, as text lines."""
    current = tracemalloc.take_snapshot().filter_traces(IGNORED)
    stats = current.compare_to(baseline, "traceback")
    traced, peak = tracemalloc.get_traced_memory()
    lines = [f"traced now {traced / 2**20:.1f} MiB (peak {peak / 2**20:.1f} MiB); grown most:"]
    for stat in stats[:top]:
        lines.append(
            f"{stat.size_diff / 1024:+.1f} KiB in {stat.count_diff:+d} blocks "
            f"(now {stat.size / 1024:.1f} KiB in {stat.count} blocks) allocated at:"
        )
        lines.extend(f"    {line}" for line in stat.traceback.format(most_recent_first=True))
    return lines


def trace_allocations(frames: int, top: int = 15) -> None:
    """Start tracing; the first SIGUSR1 takes the baseline, each later one logs the growth."""
    tracemalloc.start(frames)
    baseline: list[tracemalloc.Snapshot] = []

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        if not baseline:
            baseline.append(tracemalloc.take_snapshot().filter_traces(IGNORED))
            lines = [f"baseline taken, {tracemalloc.get_traced_memory()[0] / 2**20:.1f} MiB"]
        else:
            lines = report_growth(baseline[0], top)
        logger.warning("\n".join(f"tracemalloc: {line}" for line in lines))

    signal.signal(signal.SIGUSR1, on_signal)
