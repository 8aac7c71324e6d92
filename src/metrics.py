"""What the service counts for Prometheus, in every process alike.

Under several worker processes (`clientgraph serve --workers N`, gunicorn) each process writes
its counts to files in `PROMETHEUS_MULTIPROC_DIR` and `/metrics` adds them up
(prometheus-client's multiprocess mode); the directory must be set before this module is
first imported, which `clientgraph serve` does for its workers. A single process keeps them in
memory.

Labels take few values: a client chooses its operation names, so only names of a GraphQL
name's shape are kept, and past `MAX_OPERATION_NAMES` distinct ones a process reports the rest
as `other`; a name longer than `MAX_OPERATION_NAME_LENGTH` is `other` too.
"""

from __future__ import annotations

import contextvars
import os
import re
import weakref
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client import REGISTRY as PROCESS_REGISTRY
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry, PoolProxiedConnection

MULTIPROCESS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"
MAX_OPERATION_NAMES = 200
MAX_OPERATION_NAME_LENGTH = 64
OPERATION_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
NO_OPERATION = "-"
OTHER = "other"

REQUESTS = Counter(
    "clientgraph_requests",
    "HTTP requests answered, by route, GraphQL operation name and outcome "
    "(ok, refused, rate_limited, unavailable, failed).",
    ["route", "operation", "outcome"],
)
LATENCY = Histogram(
    "clientgraph_request_duration_seconds",
    "Time from a request's arrival to its last byte, by route.",
    ["route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
READS = Counter(
    "clientgraph_graphql_reads",
    "GraphQL requests by the path that answered them: planned (one SQL statement) or "
    "generic (Strawberry's executor over DataLoaders).",
    ["path"],
)
STATEMENTS = Histogram(
    "clientgraph_statements_per_request",
    "SQL statements a request sent, transaction control included.",
    ["route"],
    buckets=(0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50, 100),
)
POOL_IN_USE = Gauge(
    "clientgraph_db_connections_in_use",
    "Database connections checked out of the pools, summed over live processes.",
    multiprocess_mode="livesum",
)
POOL_WAITING = Gauge(
    "clientgraph_db_connections_waiting",
    "Checkouts waiting for a database connection (a free one, or a new one being opened), "
    "summed over live processes.",
    multiprocess_mode="livesum",
)
POOL_WAITS = Counter(
    "clientgraph_db_pool_timeouts",
    "Requests answered 503 because no database connection came free in time.",
)

PLANNER_CRASHES = Counter(
    "clientgraph_planner_crashes",
    "Planner defects (not declines) by stage; the generic path answered unless strict.",
    ["stage"],
)
PLAN_CACHE = Counter(
    "clientgraph_plan_cache_lookups",
    "Planned-path lookups of a plan for a document, variables' shape and caller's shape.",
    ["result"],
)
PLAN_CACHE_HIT = PLAN_CACHE.labels("hit")
PLAN_CACHE_MISS = PLAN_CACHE.labels("miss")
"""Looked up once: the planned path counts one of them on every request."""
OUTBOX_DELIVERIES = Counter(
    "clientgraph_outbox_deliveries",
    "Outbox rows the relay tried to deliver, by kind (e-mail, webhook delivery) and result: "
    "sent, retry (due again after a backoff) or failed (given up).",
    ["kind", "result"],
)

OUTBOX_BACKLOG = Gauge(
    "clientgraph_outbox_backlog",
    "Outbox rows due and not sent, by kind (e-mail, webhook delivery), as a relay counted "
    "them at the start of its latest round.",
    ["kind"],
    multiprocess_mode="livemostrecent",
)
RATE_LIMIT_REFUSALS = Counter(
    "clientgraph_rate_limit_refusals",
    "Requests answered 429, by the limit that refused them (nodes, failed-auth, "
    "failed-sign-in, failed-sign-in-any-address).",
    ["limit"],
)

REPLICA_READS = Counter(
    "clientgraph_replica_reads",
    "Query operations on /graphql with a read replica configured, by the server chosen to "
    "read them (replica, primary) and why: serving, or for the primary the replica's state "
    "(starting, lagging, unreachable, not_in_recovery), read_your_writes, or writes_unknown "
    "(Redis did not say whether the caller wrote).",
    ["server", "reason"],
)
REPLICA_FALLBACKS = Counter(
    "clientgraph_replica_fallbacks",
    "Reads that failed on the replica (unreachable, its pool exhausted, a statement cancelled "
    "by a recovery conflict) and ran again on the primary.",
)
REPLICA_LAG = Gauge(
    "clientgraph_replica_lag_seconds",
    "Seconds since the replica last showed everything the primary had committed (since the "
    "watcher started, before it ever did), at a process's latest check; the most of live "
    "processes.",
    multiprocess_mode="livemax",
)
REPLICA_STATE = Gauge(
    "clientgraph_replica_state",
    "Live processes that find the replica in each state (starting, serving, lagging, "
    "unreachable, not_in_recovery).",
    ["state"],
    multiprocess_mode="livesum",
)

_watched: weakref.WeakSet[object] = weakref.WeakSet()

current_statements: contextvars.ContextVar[StatementCount | None] = contextvars.ContextVar(
    "clientgraph_statements", default=None
)


@dataclass(slots=True)
class StatementCount:
    """The statements one request has sent so far."""

    sent: int = 0


def operation_name(name: object) -> str | None:
    """A client's operation name when it is of a GraphQL name's shape and not too long,
    `other` when it is not, None when there is none."""
    if name is None or name == "":
        return None
    if (
        not isinstance(name, str)
        or len(name) > MAX_OPERATION_NAME_LENGTH
        or not OPERATION_NAME.fullmatch(name)
    ):
        return OTHER
    return name


class OperationNames:
    """The operation label of a request: its name when it is of a GraphQL name's shape and
    among the first `limit` names this process has seen, else `other`."""

    def __init__(self, limit: int = MAX_OPERATION_NAMES) -> None:
        self.limit = limit
        self.seen: set[str] = set()

    def label(self, name: object) -> str:
        shaped = operation_name(name)
        if shaped is None:
            return NO_OPERATION
        if shaped == OTHER:
            return OTHER
        name = shaped
        if name in self.seen:
            return name
        if len(self.seen) >= self.limit:
            return OTHER
        self.seen.add(name)
        return name


def watch_engine(engine: AsyncEngine) -> None:
    """Count the statements `engine` sends into the current request's `StatementCount`, and
    its checked-out connections into `POOL_IN_USE`. Once per engine, however many apps
    share it."""
    sync_engine = engine.sync_engine
    if sync_engine in _watched:
        return
    _watched.add(sync_engine)

    @event.listens_for(sync_engine, "before_cursor_execute")
    def count_statement(*_: object) -> None:
        count = current_statements.get()
        if count is not None:
            count.sent += 1

    @event.listens_for(sync_engine.pool, "checkout")
    def checked_out(*_: object) -> None:
        POOL_IN_USE.inc()

    @event.listens_for(sync_engine.pool, "checkin")
    def checked_in(*_: object) -> None:
        POOL_IN_USE.dec()


class WatchedPool(AsyncAdaptedQueuePool):
    """SQLAlchemy's pool for asyncio engines, counting the checkouts in progress into
    `POOL_WAITING`: a checkout that finds a free connection is over at once, so what the
    gauge shows is the checkouts waiting for one to come free or to be opened."""

    def _do_get(self) -> ConnectionPoolEntry:
        POOL_WAITING.inc()
        try:
            return super()._do_get()
        finally:
            POOL_WAITING.dec()

    def discard_older(self, connection: PoolProxiedConnection, error: BaseException) -> None:
        """`connection` was found lost by a statement the engine did not run
        (db/driver_statement.py): invalidate it and every connection opened before it, as the
        engine does on a disconnect, for a server that restarted ended them all."""
        self._invalidate(connection, error)


def exposition() -> tuple[bytes, str]:
    """The metrics of every process (multiprocess mode) or of this one, in Prometheus' text
    format, and its content type."""
    if os.environ.get(MULTIPROCESS_DIRECTORY):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(PROCESS_REGISTRY), CONTENT_TYPE_LATEST


def process_ended(pid: int) -> None:
    """Drop a dead worker's live gauges (multiprocess mode)."""
    if os.environ.get(MULTIPROCESS_DIRECTORY):
        multiprocess.mark_process_dead(pid)
