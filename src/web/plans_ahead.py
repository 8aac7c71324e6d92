"""The registered persisted documents, planned at start-up: the first request of a registered
document finds its plan, and its statement compiled, in the worker's caches instead of spending
tens of milliseconds of CPU on them.

In the background, once the database is ready (never delaying readiness, and never failing
start-up: a failure is logged and leaves planning to the requests), each worker reads the kinds
of caller that exist in every firm (auth/caller_shapes.py: the distinct role and rights of live
users and API keys, the most common first, at most `CLIENTGRAPH_PLAN_AHEAD_SHAPES`) and plans
each registered document for a synthetic caller of each kind (`Planner.prepare`), the same plan
builder a request runs, so row-level security and rights are what a real caller of that kind
gets. Nothing is answered. It stops once it has spent `CLIENTGRAPH_PLAN_AHEAD_CPU_S` of CPU, or
once its plans fill half the plan caches (`Planner.room_ahead`); a kind of caller that appears
later, or variables it did not assume, are planned by the first request that needs them, as any
other."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Collection
from typing import Any

from clientgraph.auth.caller_shapes import caller_shapes
from clientgraph.auth.viewer import Viewer
from clientgraph.db.engine import Database
from clientgraph.db.readiness import Readiness
from clientgraph.db.replica import Replica
from clientgraph.list_limits import ListLimits
from clientgraph.plan.planner import Caller, Planner
from clientgraph.resolvers.context import PageLimits
from sqlalchemy.engine import Dialect

logger = logging.getLogger("clientgraph.plan")


class AheadState(enum.Enum):
    """What /readyz reports as `plans` while there are registered documents to plan."""

    PREPARING = "preparing"
    PREPARED = "prepared"
    FAILED = "failed"


class PlansAhead:
    def __init__(
        self,
        planner: Planner,
        documents: Collection[str],
        *,
        db: Database,
        replica: Replica | None,
        readiness: Readiness,
        lists: ListLimits,
        pages: PageLimits,
        most_shapes: int,
        cpu_budget_s: float,
    ) -> None:
        self.planner = planner
        self.documents = tuple(documents)
        self.db = db
        self.replica = replica
        self.readiness = readiness
        self.lists = lists
        self.pages = pages
        self.most_shapes = most_shapes
        self.cpu_budget_s = cpu_budget_s
        self.state = AheadState.PREPARING
        self.plans_made = 0
        self.task: asyncio.Task[None] | None = None

    @property
    def wanted(self) -> bool:
        return bool(self.documents) and self.most_shapes > 0

    def start(self) -> None:
        if self.wanted:
            self.task = asyncio.create_task(self.run(), name="clientgraph plans ahead")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def run(self) -> None:
        try:
            await self.readiness.wait_until_ready("planning the registered documents")
            viewers = await caller_shapes(self.db, self.most_shapes)
            spent_s = await self._prepare(_distinct(viewers))
        except Exception:
            self.state = AheadState.FAILED
            logger.exception("planning the registered documents failed; requests plan them")
            return
        self.state = AheadState.PREPARED
        logger.info(
            "planned %d registered documents ahead: %d plans in %.0f ms of CPU",
            len(self.documents),
            self.plans_made,
            spent_s * 1000,
        )

    async def _prepare(self, viewers: list[Viewer]) -> float:
        """Every document for every caller, the most common callers first, until the CPU
        budget is spent; the CPU it spent. Each document's planning is Python work that holds
        the event loop: requests run between two."""
        dialects = self._dialects()
        spent_s = 0.0
        for viewer in viewers:
            caller = Caller(viewer, self.lists, self.pages, self.db.dialect)
            for document in self.documents:
                if not self.planner.room_ahead():
                    logger.warning("planning ahead stopped: its plans fill half the plan caches")
                    return spent_s
                started = time.thread_time()
                self.plans_made += self.planner.prepare(document, caller, dialects)
                spent_s += time.thread_time() - started
                if spent_s > self.cpu_budget_s:
                    logger.warning(
                        "planning ahead stopped at its CPU budget (%.1f s)", self.cpu_budget_s
                    )
                    return spent_s
                await asyncio.sleep(0)
        return spent_s

    def _dialects(self) -> list[Dialect]:
        """Of every engine reads go to: a compiled statement is cached per dialect."""
        engines = [self.db.engine] + ([self.replica.engine] if self.replica is not None else [])
        return [engine.dialect for engine in engines]

    def report(self) -> dict[str, Any]:
        """For /readyz, when there is something to plan."""
        return {"plans": self.state.value} if self.wanted else {}


def _distinct(viewers: list[Viewer]) -> list[Viewer]:
    """One caller per plan shape, in order."""
    kept: dict[tuple[Any, ...], Viewer] = {}
    for viewer in viewers:
        kept.setdefault(viewer.shape, viewer)
    return list(kept.values())
