"""Engines, sessions and the transaction runner shared by every mutation."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from asyncpg.exceptions import InternalClientError
from clientgraph.db import closing, tenancy
from clientgraph.db.live import LiveEvents
from clientgraph.metrics import WatchedPool
from sqlalchemy import event, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    retry_if_result,
    stop_after_attempt,
    stop_after_delay,
    wait_fixed,
    wait_random_exponential,
)

T = TypeVar("T")
logger = logging.getLogger("clientgraph.db")

RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
# admin_shutdown, crash_shutdown, cannot_connect_now; class 08 is "connection exception".
CONNECTION_LOST_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})
RETRY_AFTER_S = 5


class DatabaseUnavailable(Exception):
    """The database cannot be reached (or was lost and retries ran out); nothing was committed,
    so the client may safely send the request again after `retry_after_s` seconds."""

    def __init__(self, message: str, *, retry_after_s: int = RETRY_AFTER_S) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class CommitOutcomeUnknown(Exception):
    """The connection was lost while COMMIT was under way and the database could not tell
    afterwards whether it took effect. Never retried: it may have been applied."""


def _causes(error: BaseException) -> Iterator[BaseException]:
    """`error`, the driver error SQLAlchemy wraps, and whatever caused them."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [getattr(current, "orig", None), current.__cause__, current.__context__]


def connection_lost(error: BaseException) -> bool:
    """Whether `error` means the connection is gone or the server cannot be reached.

    SQLAlchemy sets `connection_invalidated` when the dialect sees a disconnect (asyncpg's
    closed connection); the rest covers what arrives without it: a refused or reset socket
    (raw `OSError` when connecting), PostgreSQL shutting down or starting (57P01-57P03), the
    connection-exception class 08 (asyncpg's ConnectionDoesNotExistError is 08003), and a
    connection whose protocol is out of step (see `protocol_out_of_step`).
    A cancellation never counts, whatever it interrupted: it must not be retried.
    """
    if not isinstance(error, Exception):
        return False
    for cause in _causes(error):
        if getattr(cause, "connection_invalidated", False) or isinstance(cause, OSError):
            return True
        if protocol_out_of_step(cause):
            return True
        sqlstate = getattr(cause, "sqlstate", None)
        if isinstance(sqlstate, str) and (
            sqlstate in CONNECTION_LOST_SQLSTATES or sqlstate.startswith("08")
        ):
            return True
    return False


def protocol_out_of_step(error: BaseException) -> bool:
    """asyncpg's InternalClientError ("cannot switch to state 12; another operation (2) is in
    progress"): the connection was ended by the server while it was idle.

    When PostgreSQL ends a backend (`pg_terminate_backend`, a shutdown, an idle timeout) it
    sends a FATAL ErrorResponse and closes the socket. If that message reaches asyncpg while
    no statement is running (between two statements of a transaction, or in the pool), asyncpg
    has no operation to fail with it and stays in its error-consuming state until it reads
    the end of the socket, an event-loop turn or more later. A statement sent in between
    (BEGIN, the next query, the ROLLBACK of a closing session) fails with this error although
    only one task ever used the connection; SQLAlchemy does not count it as a disconnect
    because the connection is not closed yet. The connection is gone all the same."""
    return isinstance(error, InternalClientError)


def describe_loss(error: BaseException) -> str:
    """A lost connection in a few words for the log: the driver's error without SQLAlchemy's
    statement and parameters, and an out-of-step protocol as what it means."""
    causes = list(_causes(error))
    if any(protocol_out_of_step(cause) for cause in causes):
        return "InternalClientError: the server ended the connection while it was idle"
    driver = next(
        (
            cause
            for cause in causes
            if isinstance(cause, OSError) or type(cause).__module__.startswith("asyncpg")
        ),
        error,
    )
    first_line = str(driver).strip().splitlines()[:1]
    return ": ".join([type(driver).__name__, *first_line])


def _mark_disconnects(engine: AsyncEngine) -> None:
    """Let SQLAlchemy treat every lost connection as a disconnect, so it invalidates the pool's
    older connections too (the documented `handle_error` hook) instead of handing them out."""

    @event.listens_for(engine.sync_engine, "handle_error")
    def on_error(context: ExceptionContext) -> None:
        if not context.is_disconnect and connection_lost(context.original_exception):
            context.is_disconnect = True


def _forget_unsent_settings(engine: AsyncEngine) -> None:
    """Settings a session left for a BEGIN that never came (it ran no statement) go with the
    connection's return to the pool, before anyone else can begin a transaction on it."""

    @event.listens_for(engine.sync_engine.pool, "checkin")
    def on_checkin(_dbapi_connection: Any, record: Any) -> None:
        driver = record.driver_connection
        if isinstance(driver, tenancy.SettingsAtBegin):
            driver.settings_at_begin = None


def _unnamed_statement() -> str:
    return ""


def pooler_connect_args() -> dict[str, Any]:
    """asyncpg's arguments for a pooler in transaction mode (PgBouncer before 1.21 keeps no
    prepared statements; later ones only with `max_prepared_statements`): no statement is
    named, so none outlives its transaction on a server connection another client gets next.

    SQLAlchemy's dialect prepares every statement to learn its columns; with an empty name
    (`prepared_statement_name_func`) that is PostgreSQL's unnamed statement, which asyncpg,
    its own cache off (`statement_cache_size=0`), parses again in the message that binds and
    runs it. SQLAlchemy's cache of prepared statements is off too: a cached one would be
    unnamed, overwritten by the next. Every statement a transaction sends stays on the server
    connection of that transaction; nothing is set for the session (see `tenancy`)."""
    return {
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": _unnamed_statement,
    }


def _configure_sqlite(engine: AsyncEngine) -> None:
    """WAL for concurrent readers, enforced foreign keys, and BEGIN IMMEDIATE for writers.

    pysqlite's own transaction handling is switched off so that SQLAlchemy's `begin` event
    decides how a transaction starts: a writer takes the write lock up front, so two writers
    queue on `busy_timeout` instead of failing on a lock upgrade.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(tenancy.WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class DatabaseSession(AsyncSession):
    """The sessions of `Database`: closing one never fails because its connection is gone.

    A session closes (rolling back what it did not commit) after its work is done and its
    answer may already be written, so a connection the server ended after the last statement
    must not turn that answer into an error. Such a connection is logged and invalidated, so
    the pool never hands it out again; its transaction died with it, and nothing is lost."""

    async def close(self) -> None:
        try:
            await super().close()
        except (DBAPIError, OSError) as error:
            if not connection_lost(error):
                raise
            logger.warning(
                "connection lost as its session ended (%s); discarded", describe_loss(error)
            )
            await self.invalidate()


def server_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int | None = None,
    pool_timeout: float = 5.0,
    echo: bool = False,
    connect_timeout_s: float = 5.0,
    pgbouncer: bool = False,
) -> AsyncEngine:
    """An engine as `Database` describes its own: the primary's, and a read replica's
    (db/replica.py) alike."""
    options: dict[str, Any] = {"echo": echo, "hide_parameters": True}
    is_sqlite = url.startswith("sqlite")
    if not is_sqlite:
        options.update(
            pool_size=pool_size,
            max_overflow=pool_size if max_overflow is None else max_overflow,
            pool_timeout=pool_timeout,
            connect_args={
                "timeout": connect_timeout_s,
                "connection_class": tenancy.SettingsAtBegin,
                **(pooler_connect_args() if pgbouncer else {}),
            },
            poolclass=WatchedPool,
        )
    engine = create_async_engine(url, **options)
    if is_sqlite:
        _configure_sqlite(engine)
    else:
        _mark_disconnects(engine)
        _forget_unsent_settings(engine)
    return engine


def session_maker(
    engine: AsyncEngine, sessions: type[Session]
) -> async_sessionmaker[DatabaseSession]:
    """Sessions of `engine` whose transactions begin as `sessions` (tenancy.session_class)
    begins them, and whose closing never fails on a lost connection."""
    return async_sessionmaker(
        engine, class_=DatabaseSession, expire_on_commit=False, sync_session_class=sessions
    )


class Database:
    """One engine per process; read sessions per request, a fresh write session per mutation."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        max_overflow: int | None = None,
        pool_timeout: float = 5.0,
        echo: bool = False,
        timeouts: tenancy.Timeouts | None = None,
        connect_timeout_s: float = 5.0,
        write_attempts: int = 8,
        pgbouncer: bool = False,
        listen_url: str | None = None,
    ) -> None:
        """On PostgreSQL `pool_timeout` bounds the wait for a free connection: past it
        SQLAlchemy raises `sqlalchemy.exc.TimeoutError`, which the HTTP layer answers with 503.
        `max_overflow` defaults to `pool_size`. SQLite keeps SQLAlchemy's own pool settings.

        No pre-ping: it cost every request a round trip (`BEGIN; ;ROLLBACK` on asyncpg) before
        its first statement. A pooled connection that died while idle shows on its first
        statement instead; `read` runs that work again on a fresh connection (the first
        disconnect has the pool drop every older connection, see `_mark_disconnects`), and
        `write` retries the whole transaction. On check-in the pool sends only the ROLLBACK of
        a transaction still open (asyncpg's own pool reset, `RESET ALL` and the rest, is not
        used: SQLAlchemy pools the connections).

        With `pgbouncer` the engine is safe behind a pooler in transaction mode (see
        `pooler_connect_args`). `listen_url` is where subscriptions LISTEN (a direct
        connection: LISTEN cannot pass a transaction pooler); by default `url`."""
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.write_attempts = write_attempts
        self.timeouts = timeouts or tenancy.Timeouts()
        self.engine = server_engine(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
            echo=echo,
            connect_timeout_s=connect_timeout_s,
            pgbouncer=pgbouncer,
        )
        write_engine = self.engine.execution_options(**{tenancy.WRITE_OPTION: True})
        sessions = tenancy.session_class(self.timeouts)
        self.session_class = sessions
        """How every transaction of this database begins (the firm, the timeouts): a read
        replica's sessions begin the same way."""
        self.listen_url = listen_url or url
        self.live = LiveEvents(self.listen_url)
        self.live.watch(sessions)
        self.read_sessions = session_maker(self.engine, sessions)
        self.write_sessions = session_maker(write_engine, sessions)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def dispose(self) -> None:
        await self.engine.dispose()

    def firm_session(self, firm_id: uuid.UUID) -> AsyncSession:
        """A read session whose transactions see the rows of `firm_id` (and, under row-level
        security, only those)."""
        return self.read_sessions(info=tenancy.for_firm(firm_id))

    async def write(
        self,
        work: Callable[[AsyncSession], Awaitable[T]],
        *,
        firm_id: uuid.UUID | None,
        attempts: int | None = None,
    ) -> T:
        """Run `work` in one transaction for firm `firm_id`; retry it whole on a deadlock, a
        serialization failure or a lost connection, with exponential backoff and full jitter.

        Any exception from `work` rolls the transaction back, so nothing is half-applied. A
        transaction is retried only when it is known not to have committed (see `_commit`).
        Raises DatabaseUnavailable when the connection keeps failing.
        """
        retrying = AsyncRetrying(
            stop=stop_after_attempt(attempts or self.write_attempts),
            wait=wait_random_exponential(multiplier=0.05, max=2.0),
            retry=retry_if_exception(self._is_retryable),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._write_once(work, firm_id)
        except DBAPIError as error:
            if connection_lost(error):
                raise DatabaseUnavailable("The database connection was lost.") from error
            raise
        except OSError as error:
            raise DatabaseUnavailable("The database is not reachable.") from error
        raise AssertionError("unreachable")

    async def rehearse(
        self, work: Callable[[AsyncSession], Awaitable[T]], *, firm_id: uuid.UUID | None
    ) -> T:
        """Run `work` as `write` would, taking the same locks and checks, then roll it back:
        what it would do, with nothing written (a dry run). `work` returns plain values, since
        the rollback expires the rows it loaded. Not retried: nothing is lost by asking again."""
        try:
            async with self.write_sessions(info=tenancy.for_firm(firm_id)) as session:
                try:
                    result = await work(session)
                    await session.flush()
                    return result
                finally:
                    await session.rollback()
        except DBAPIError as error:
            if connection_lost(error):
                raise DatabaseUnavailable("The database connection was lost.") from error
            raise
        except OSError as error:
            raise DatabaseUnavailable("The database is not reachable.") from error

    async def _write_once(
        self, work: Callable[[AsyncSession], Awaitable[T]], firm_id: uuid.UUID | None
    ) -> T:
        async with self.write_sessions(info=tenancy.for_firm(firm_id)) as session:
            result = await work(session)
            await session.flush()
            await self._commit(session)
            return result

    async def _commit(self, session: AsyncSession) -> None:
        """COMMIT, telling a commit that failed apart from one whose answer was lost.

        The transaction's closing statement (db/closing.py) first asks, on PostgreSQL, for its
        id. If the connection is lost during COMMIT, a fresh connection asks `txid_status`
        what became of it: committed means done, aborted means the retry is safe, anything else
        (still in progress, or the server unreachable) is CommitOutcomeUnknown — never retried.
        A transaction that wrote nothing has no id, and is simply retried.
        """
        xid = await closing.close(session)
        if self.is_sqlite:
            await session.commit()
            return
        try:
            await session.commit()
        except (DBAPIError, OSError) as error:
            if xid is None or not connection_lost(error):
                raise
            status = await self._transaction_status(xid)
            if status == "committed":
                logger.warning("connection lost during COMMIT of %s; it committed", xid)
                return
            if status == "aborted":
                raise
            logger.error("connection lost during COMMIT of %s; its outcome is unknown", xid)
            raise CommitOutcomeUnknown(
                "The database connection was lost while committing; the change may or may not "
                "have been saved. Read it back before sending it again."
            ) from error

    async def _transaction_status(self, xid: int) -> str | None:
        """'committed', 'aborted', or None when the server cannot tell within a few seconds
        (the old backend may still be finishing it, or the server is unreachable)."""

        async def ask() -> str | None:
            async with self.engine.connect() as connection:
                query = text("SELECT txid_status(:xid)").bindparams(xid=xid)
                return (await connection.execute(query)).scalar()

        retrying = AsyncRetrying(
            stop=stop_after_delay(3.0),
            wait=wait_fixed(0.1),
            retry=retry_if_exception(connection_lost)
            | retry_if_result(lambda status: status == "in progress"),
            retry_error_callback=lambda _: None,
        )
        status = await retrying(ask)
        return status if status in ("committed", "aborted") else None

    async def read(self, session: AsyncSession, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run read-only `work` on `session`; if its connection turns out dead, run it once more
        on a fresh one. The session is closed in between (not rolled back: that would expire
        the objects it already loaded), so earlier results stay usable.

        A read cancelled while it runs invalidates the session's connection and closes the
        session: a statement cancelled under way leaves its connection in a state no one can
        tell, so it is discarded unused rather than rolled back, and the request may read on, on
        a fresh one. Within one request that happens when graphql-core cancels the other fields
        of an object one of whose non-null fields failed, and Strawberry's DataLoader then
        cancels the batch no field waits for any more: before, every later read of the request
        failed with "Can't reconnect until invalid transaction is rolled back" (an ApiKey's
        user through nodes(ids:) on PostgreSQL).

        Raises DatabaseUnavailable when the second try cannot reach the database either.
        """
        try:
            return await self._read_retrying_once(session, work)
        except asyncio.CancelledError:
            await session.invalidate()
            raise

    async def _read_retrying_once(
        self, session: AsyncSession, work: Callable[[AsyncSession], Awaitable[T]]
    ) -> T:
        try:
            return await work(session)
        except (DBAPIError, OSError) as error:
            if not connection_lost(error) or session.new or session.dirty or session.deleted:
                raise
            logger.warning(
                "read connection lost (%s); retrying on a fresh one", describe_loss(error)
            )
        await session.close()
        try:
            return await work(session)
        except (DBAPIError, OSError) as error:
            if not connection_lost(error):
                raise
            await session.close()
            raise DatabaseUnavailable("The database is not reachable.") from error

    async def end_read(self, session: AsyncSession) -> None:
        """End a read session's transaction, keeping what it loaded. Its connection being gone
        loses nothing: it held no writes."""
        try:
            await session.commit()
        except (DBAPIError, OSError) as error:
            if not connection_lost(error):
                raise
            await session.close()

    def _is_retryable(self, error: BaseException) -> bool:
        if isinstance(error, CommitOutcomeUnknown):
            return False
        if connection_lost(error):
            return True
        if not isinstance(error, DBAPIError):
            return False
        sqlstate = getattr(error.orig, "sqlstate", None)
        if sqlstate in RETRYABLE_SQLSTATES:
            return True
        return self.is_sqlite and "database is locked" in str(error.orig)
