"""A streaming read replica of the primary (`CLIENTGRAPH_REPLICA_URL`), how far behind it is,
and whether a caller's read may go to it.

What goes where (the HTTP layer decides, web/graphql.py): a query operation's reads, the
planned statement and the generic path's loaders alike, run on the replica, in one read-only
transaction that begins as the primary's do (the firm for row-level security, the timeouts:
the same `tenancy` session class). Everything else stays on the primary: mutations and their
payloads, the caller's own lookup (which the caller cache keeps, and only the primary's
notifications tell it to forget), sign-in, subscriptions, the outbox, the CSV routes,
migrations.

How far behind: every `check_interval_s` a watcher notes the time and asks the primary for
`pg_current_wal_insert_lsn()` (a sample), then asks the replica for
`pg_last_wal_replay_lsn()`. Once the replica has replayed past a sample's position, everything
the primary had committed when the sample was taken is visible on the replica; `caught_up_at`
is the time of the latest such sample, and the lag is the time since. An idle primary adds no
lag (the same samples stay replayed), unlike `now() - pg_last_xact_replay_timestamp()`; a
replica whose replay is paused or stuck falls behind by the wall clock.

Read-your-writes: a caller who wrote (`wrote`, after the commit returned) reads from the
primary until `caught_up_at` is later than the write: a sample taken after the commit
returned lies past its commit record, so the replica then shows the write. That is no
statement per write and no guessed window; in practice the caller is back on the replica
within one or two checks. A write is forgotten once it is older than `max_lag_s`: by then
the replica either shows it or lags too far to serve anyone. The writes are remembered by this
process, and with Redis (`shared_writes`, db/shared_writes.py) by every process: a caller's
query that this process would send to the replica first asks Redis when the caller last wrote,
anywhere, and goes to the primary unless a replayed sample was taken after that write (wall
clocks here, the writer being another process). Without Redis, a caller's next request served
by another process (several `serve` workers, several machines) may read from the replica
before it shows their write, at most `max_lag_s` behind.

Fallbacks, each logged once when the state changes: before the first verdict (checked again
every few milliseconds until the replica has replayed a sample, for at most `max_lag_s`), and
while the replica does not answer (or fails a read under way, `lost`), is not in recovery
(promoted), or lags more than `max_lag_s`, every read goes to the primary. A read that fails
on the replica is run again on the primary (resolvers/context.py), so the replica never fails
a request.

What operators see (`/metrics`, clientgraph.metrics): each query's choice with its reason
(`REPLICA_READS`), the reads run again on the primary (`REPLICA_FALLBACKS`, counted in
resolvers/context.py), and after every check the lag (`REPLICA_LAG`) and, from `start` to
`stop`, this process's state (`REPLICA_STATE`)."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
import uuid
from collections import deque
from collections.abc import Hashable
from typing import Any

from clientgraph import metrics
from clientgraph.db.engine import Database, describe_loss, server_engine, session_maker
from clientgraph.db.shared_writes import CLOCK_MARGIN_S, SharedWrites, Unknown
from clientgraph.db.tenancy import for_firm
from sqlalchemy import Row, TextClause, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

logger = logging.getLogger("clientgraph.db")

PRIMARY_POSITION = text("SELECT (pg_current_wal_insert_lsn() - '0/0')::bigint")
REPLAY_POSITION = text("SELECT pg_is_in_recovery(), (pg_last_wal_replay_lsn() - '0/0')::bigint")
FIRST_CHECKS_S = 0.05
"""How soon the watcher checks again until its first verdict: a busy primary is always a
little ahead of the sample just taken, so the first verdict waits for the replica to replay
one, which takes milliseconds, not a whole interval."""
SAMPLES_KEPT = 1000
"""Samples not yet replayed, at most; the oldest go first, which only delays `caught_up_at`."""


SERVING_REASON = "serving"
READ_YOUR_WRITES = "read_your_writes"
WRITES_UNKNOWN = "writes_unknown"
"""Redis did not say whether the caller wrote (db/shared_writes.py)."""


class ReplicaState(enum.Enum):
    """As `/readyz` reports it (`replica`)."""

    STARTING = "starting"
    SERVING = "serving"
    LAGGING = "lagging"
    UNREACHABLE = "unreachable"
    NOT_A_REPLICA = "not_in_recovery"


class Replica:
    """The replica's engine and sessions, the watcher that measures its lag, and the writes of
    this process's callers that it may not show yet."""

    def __init__(
        self,
        url: str,
        primary: Database,
        *,
        max_lag_s: float = 5.0,
        check_interval_s: float = 0.5,
        pool_size: int = 10,
        max_overflow: int | None = None,
        pool_timeout: float = 5.0,
        connect_timeout_s: float = 5.0,
        pgbouncer: bool = False,
        shared_writes: SharedWrites | None = None,
    ) -> None:
        self.primary = primary
        self.shared_writes = shared_writes
        self.max_lag_s = max_lag_s
        self.check_interval_s = check_interval_s
        self.check_timeout_s = connect_timeout_s + check_interval_s
        self.engine = server_engine(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
            connect_timeout_s=connect_timeout_s,
            pgbouncer=pgbouncer,
        )
        self.sessions = session_maker(self.engine, primary.session_class)
        self.state = ReplicaState.STARTING
        self.caught_up_at: float | None = None
        self.caught_up_wall: float | None = None
        """`caught_up_at` by the wall clock, for writes other processes report."""
        self.samples: deque[tuple[float, float, int]] = deque(maxlen=SAMPLES_KEPT)
        self.writes: dict[Hashable, float] = {}
        self.watcher: asyncio.Task[None] | None = None
        self.started_at = time.monotonic()
        self.shown_state: ReplicaState | None = None
        """The state `REPLICA_STATE` counts for this process, while it watches."""

    def firm_session(self, firm_id: uuid.UUID) -> AsyncSession:
        """A read session on the replica, seeing what `Database.firm_session` would."""
        return self.sessions(info=for_firm(firm_id))

    def lag_s(self) -> float | None:
        """Seconds since the replica last showed everything the primary had committed; None
        before it ever did."""
        if self.caught_up_at is None:
            return None
        return time.monotonic() - self.caught_up_at

    async def chooses(self, caller: Hashable) -> bool:
        """Whether `caller`'s query may read from the replica now, counted in
        `REPLICA_READS` with the reason."""
        reason = self.primary_reason(caller)
        if reason is None and self.shared_writes is not None:
            reason = await self._shared_reason(self.shared_writes, caller)
        if reason is None:
            metrics.REPLICA_READS.labels("replica", SERVING_REASON).inc()
            return True
        metrics.REPLICA_READS.labels("primary", reason).inc()
        return False

    def primary_reason(self, caller: Hashable) -> str | None:
        """Why `caller`'s read must go to the primary now (the replica's state, or
        `read_your_writes`); None when the replica may serve it."""
        caught_up_at = self.caught_up_at
        if self.state is not ReplicaState.SERVING:
            return self.state.value
        if caught_up_at is None or time.monotonic() - caught_up_at > self.max_lag_s:
            return ReplicaState.LAGGING.value
        written = self.writes.get(caller)
        return None if written is None or written < caught_up_at else READ_YOUR_WRITES

    async def _shared_reason(self, shared: SharedWrites, caller: Hashable) -> str | None:
        """Why `caller`'s read must go to the primary for a write another process may have
        reported; None when the replica shows it, or there was none."""
        try:
            written = await shared.written_at(caller)
        except Unknown:
            return WRITES_UNKNOWN
        if written is None:
            return None
        caught_up_wall = self.caught_up_wall
        if caught_up_wall is None or written + CLOCK_MARGIN_S >= caught_up_wall:
            return READ_YOUR_WRITES
        return None

    def behind_s(self) -> float:
        """`lag_s`, or before the replica ever caught up, the time since watching began: at
        least that far behind."""
        lag = self.lag_s()
        return time.monotonic() - self.started_at if lag is None else lag

    async def wrote(self, caller: Hashable) -> None:
        """`caller`'s write has committed (or may have): their reads go to the primary until
        the replica shows it, in every process when Redis tells the others."""
        self.writes[caller] = time.monotonic()
        if self.shared_writes is not None:
            await self.shared_writes.wrote(caller, time.time())

    def lost(self, error: BaseException) -> None:
        """A read on the replica found it unreachable: no read goes there until a check
        reaches it again."""
        self._become(ReplicaState.UNREACHABLE, describe_loss(error))

    async def check(self) -> None:
        """Sample the primary's position, then see how far the replica has replayed."""
        sampled_at, sampled_wall = time.monotonic(), time.time()
        try:
            async with asyncio.timeout(self.check_timeout_s):
                (position,) = await _one_row(self.primary.engine, PRIMARY_POSITION)
        except (DBAPIError, OSError, TimeoutError) as error:
            logger.debug("replica check: the primary did not answer (%s)", describe_loss(error))
            return
        try:
            async with asyncio.timeout(self.check_timeout_s):
                in_recovery, replayed = await _one_row(self.engine, REPLAY_POSITION)
        except (DBAPIError, OSError, TimeoutError) as error:
            self._become(ReplicaState.UNREACHABLE, describe_loss(error))
            return
        if not in_recovery or replayed is None:
            self._become(ReplicaState.NOT_A_REPLICA, "promoted, or not a standby")
            return
        self.samples.append((sampled_at, sampled_wall, position))
        while self.samples and self.samples[0][2] <= replayed:
            self.caught_up_at, self.caught_up_wall, _ = self.samples.popleft()
        self._forget_shown_writes()
        lag = self.lag_s()
        if lag is None and self._first_verdict_pending():
            return
        if lag is not None and lag <= self.max_lag_s:
            self._become(ReplicaState.SERVING, "")
        else:
            self._become(
                ReplicaState.LAGGING,
                "never caught up yet" if lag is None else f"{lag:.1f} s behind",
            )

    def _first_verdict_pending(self) -> bool:
        """Whether the replica, not caught up with any sample yet, is still young enough to be
        `STARTING` rather than lagging."""
        return (
            self.state is ReplicaState.STARTING
            and time.monotonic() - self.started_at <= self.max_lag_s
        )

    def _forget_shown_writes(self) -> None:
        """Drop the writes the replica shows, and those older than the lag it may have."""
        oldest = time.monotonic() - self.max_lag_s
        caught_up_at = self.caught_up_at if self.caught_up_at is not None else oldest
        for caller, written in list(self.writes.items()):
            if written < caught_up_at or written < oldest:
                del self.writes[caller]

    def _become(self, state: ReplicaState, detail: str) -> None:
        if state is self.state:
            return
        previous, self.state = self.state, state
        if self.shown_state is not None:
            self._show_state()
        suffix = f" ({detail})" if detail else ""
        if state is ReplicaState.SERVING:
            logger.info("read replica: %s%s", state.value, suffix)
        else:
            logger.warning(
                "read replica: %s%s; reads go to the primary (was: %s)",
                state.value,
                suffix,
                previous.value,
            )

    async def start(self) -> None:
        """Watch the replica while the app serves."""
        if self.watcher is None:
            self.started_at = time.monotonic()
            for each in ReplicaState:
                metrics.REPLICA_STATE.labels(each.value)
            self._show_state()
            self.watcher = asyncio.create_task(self._watch(), name="clientgraph-replica-watch")

    async def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.watcher
            self.watcher = None
        if self.shown_state is not None:
            metrics.REPLICA_STATE.labels(self.shown_state.value).dec()
            self.shown_state = None
        if self.shared_writes is not None:
            await self.shared_writes.close()
        await self.engine.dispose()

    def _show_state(self) -> None:
        """Move this process's count in `REPLICA_STATE` to the current state."""
        if self.shown_state is self.state:
            return
        if self.shown_state is not None:
            metrics.REPLICA_STATE.labels(self.shown_state.value).dec()
        metrics.REPLICA_STATE.labels(self.state.value).inc()
        self.shown_state = self.state

    async def _watch(self) -> None:
        while True:
            try:
                await self.check()
            except Exception:
                logger.exception("read replica: the check failed; reads go to the primary")
                self._become(ReplicaState.UNREACHABLE, "check failed")
            metrics.REPLICA_LAG.set(self.behind_s())
            starting = self.state is ReplicaState.STARTING
            await asyncio.sleep(
                min(FIRST_CHECKS_S, self.check_interval_s) if starting else self.check_interval_s
            )


async def _one_row(engine: AsyncEngine, query: TextClause) -> Row[Any]:
    """`query`'s row, outside any transaction: one round trip."""
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        return (await autocommit.execute(query)).one()
