"""Engines, sessions and the transaction runner shared by every mutation."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

T = TypeVar("T")

RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
WRITE_OPTION = "clientgraph_write"


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
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


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
    ) -> None:
        """On PostgreSQL `pool_timeout` bounds the wait for a free connection: past it
        SQLAlchemy raises `sqlalchemy.exc.TimeoutError`, which the HTTP layer answers with 503.
        `max_overflow` defaults to `pool_size`. SQLite keeps SQLAlchemy's own pool settings."""
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        options: dict[str, Any] = {"echo": echo}
        if not self.is_sqlite:
            options.update(
                pool_size=pool_size,
                max_overflow=pool_size if max_overflow is None else max_overflow,
                pool_timeout=pool_timeout,
                pool_pre_ping=True,
            )
        self.engine = create_async_engine(url, **options)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        write_engine = self.engine.execution_options(**{WRITE_OPTION: True})
        self.read_sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.write_sessions = async_sessionmaker(write_engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def dispose(self) -> None:
        await self.engine.dispose()

    async def write(self, work: Callable[[AsyncSession], Awaitable[T]], *, attempts: int = 6) -> T:
        """Run `work` in one transaction; retry it whole on a deadlock or serialization failure.

        Any exception from `work` rolls the transaction back, so nothing is half-applied.
        """
        for attempt in range(1, attempts + 1):
            try:
                async with self.write_sessions() as session, session.begin():
                    return await work(session)
            except DBAPIError as error:
                if attempt == attempts or not self._is_retryable(error):
                    raise
            await asyncio.sleep(random.uniform(0.005, 0.02) * attempt)
        raise AssertionError("unreachable")

    def _is_retryable(self, error: DBAPIError) -> bool:
        sqlstate = getattr(error.orig, "sqlstate", None)
        if sqlstate in RETRYABLE_SQLSTATES:
            return True
        return self.is_sqlite and "database is locked" in str(error.orig)
