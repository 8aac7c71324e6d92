"""The opt-in tracemalloc report (CLIENTGRAPH_TRACEMALLOC) names what grew, and where."""

from __future__ import annotations

import tracemalloc

from clientgraph.diagnostics import report_growth


def test_the_report_names_the_line_that_allocated_since_the_baseline() -> None:
    tracemalloc.start(3)
    try:
        baseline = tracemalloc.take_snapshot()
        kept = [bytearray(4096) for _ in range(256)]
        lines = report_growth(baseline, top=3)
    finally:
        tracemalloc.stop()

    assert len(kept) == 256
    assert "kept = [bytearray(4096)" in "\n".join(lines)
    assert lines[1].startswith("+") and "KiB in" in lines[1]
