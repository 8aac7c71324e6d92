"""Why an operation is not planned, and what the planner does when it breaks.

A *decline* (`Unplanned`) is a decision: the operation is the generic path's to answer, and it
does, errors included, exactly as it always has. A *crash* is any other exception while a
plan is built, bound, read or finished: a defect of the planner, logged at ERROR and counted
(`CRASHES`); the generic path still answers unless the planner is strict
(`CLIENTGRAPH_PLANNER_STRICT`), which fails the request instead (`PlannerCrash`)."""

from __future__ import annotations

import enum
import threading
from collections import Counter

from clientgraph import metrics


class Decline(enum.Enum):
    """The known reasons an operation is left to the generic path."""

    NO_PLAN = "a field, argument or type without a plan"
    INTROSPECTION = "an introspection field"
    REFUSED_INPUT = "an argument the generic path refuses with an error"
    FORBIDDEN = "a field the caller may not read: the generic path answers FORBIDDEN"
    TOO_WIDE = "more than one SQL call takes"


class Unplanned(Exception):
    """This operation (or one of its fields or arguments) is left to the generic path."""

    def __init__(self, reason: Decline, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail


class Stage(enum.Enum):
    """Where in answering a request the planner crashed."""

    PLANNING = "planning"
    BINDING = "binding"
    READING = "reading"
    FINISHING = "finishing"


class PlannerCrash(Exception):
    """A strict planner's crash: the request fails (INTERNAL_SERVER_ERROR) instead of falling
    back, so that a planner defect fails the test that met it."""

    def __init__(self, stage: Stage, digest: str) -> None:
        super().__init__(f"the planner crashed while {stage.value} document {digest}")
        self.stage = stage
        self.digest = digest


class Crashes:
    """The planner's crashes in this process, by stage (for tests, and for metrics)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[Stage] = Counter()

    def record(self, stage: Stage) -> None:
        with self._lock:
            self._counts[stage] += 1
        metrics.PLANNER_CRASHES.labels(stage.value).inc()

    def count(self, stage: Stage | None = None) -> int:
        with self._lock:
            return self._counts[stage] if stage is not None else self._counts.total()


CRASHES = Crashes()
