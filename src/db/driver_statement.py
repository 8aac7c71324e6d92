"""A statement compiled once to its driver's SQL and run through the DBAPI cursor of a
connection, for statements that run many times unchanged: the planned reads.

SQLAlchemy's execution of an already compiled statement (its cache key and the compiled
cache, the parameters' processing, the result's wrapping) was an eighth of a planned account
page's instructions (callgrind, a diagnosis: 2.94 M a request through the ORM session, 2.88
M through `Connection.execute`, 2.57 M through the cursor). The cursor still goes through
the dialect's connection, so the transaction begins as every other one does (with the
settings of db/tenancy.py) and statements are prepared through the dialect's cache (unnamed
behind a pooler). What the engine does around a statement is done here too: the engine's
`before_cursor_execute` and `after_cursor_execute` listeners see it (the request's statement
count, the traces), and a driver error is raised as the `DBAPIError` the engine would raise,
a lost connection invalidating the pool's connections as `engine._mark_disconnects` has it,
so that retries, timeouts and the replica's fallback read it the same way.

A statement with parameters expanded at each execution (`in_()` of a list) has no fixed
SQL: `DriverStatement.of` gives None for it, and it stays on SQLAlchemy's execution."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from clientgraph import tracing
from clientgraph.db.engine import connection_lost
from clientgraph.metrics import WatchedPool
from sqlalchemy import Connection, Executable
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ClauseElement

ENGINE_LOG = logging.getLogger("sqlalchemy.engine.Engine")
"""Where SQLAlchemy's engines log each statement when INFO is on (`echo`): these too, the SQL
followed by where its compiled form came from, as the engine tells it ("[cached since …]")."""

_REQUIRED = object()
"""A parameter the statement has no value of: every execution must give it."""

Bind = tuple[str, Callable[[Any], Any] | None, Any]
"""A positional parameter: its name, its type's bind processor, its value when not given."""


class DriverStatement:
    __slots__ = ("binds", "sql")

    def __init__(self, sql: str, binds: tuple[Bind, ...]) -> None:
        self.sql = sql
        self.binds = binds

    @classmethod
    def of(cls, statement: Executable, dialect: Dialect) -> DriverStatement | None:
        """`statement` compiled for `dialect`; None if its SQL changes with its values."""
        assert isinstance(statement, ClauseElement)
        compiled = statement.compile(dialect=dialect)
        if compiled.post_compile_params or compiled.positiontup is None:
            return None
        binds: list[Bind] = []
        for name in compiled.positiontup:
            parameter = compiled.binds[name]
            process = parameter.type.dialect_impl(dialect).bind_processor(dialect)
            default = _REQUIRED if parameter.required else parameter.effective_value
            binds.append((name, process, default))
        return cls(compiled.string, tuple(binds))

    def arguments(self, parameters: Mapping[str, Any]) -> tuple[Any, ...]:
        """The positional values the driver takes, processed as SQLAlchemy would."""
        values = []
        for name, process, default in self.binds:
            value = parameters.get(name, default)
            if value is _REQUIRED:
                raise KeyError(f"no value for the statement's parameter {name!r}")
            values.append(value if process is None else process(value))
        return tuple(values)

    @property
    def size(self) -> int:
        """Its SQL's length, what it keeps in memory being mostly that."""
        return len(self.sql)

    async def scalar(self, connection: AsyncConnection, parameters: Mapping[str, Any]) -> Any:
        """The first column of the first row, run on `connection`'s transaction."""
        return await connection.run_sync(self._scalar, self.arguments(parameters))

    def _scalar(self, connection: Connection, arguments: tuple[Any, ...]) -> Any:
        proxied = connection.connection
        dialect = connection.dialect
        cursor = proxied.cursor()
        events = connection.dispatch
        try:
            events.before_cursor_execute(connection, cursor, self.sql, arguments, None, False)
            if ENGINE_LOG.isEnabledFor(logging.INFO):
                ENGINE_LOG.info(self.sql)
                ENGINE_LOG.info("[compiled when planned] [SQL parameters hidden]")
            try:
                cursor.execute(self.sql, arguments)
                row = cursor.fetchone()
            except dialect.loaded_dbapi.Error as error:
                raise self._failed(connection, cursor, arguments, error) from error
            events.after_cursor_execute(connection, cursor, self.sql, arguments, None, False)
        finally:
            cursor.close()
        return row[0]

    def _failed(
        self, connection: Connection, cursor: Any, arguments: tuple[Any, ...], error: Exception
    ) -> BaseException:
        dialect = connection.dialect
        proxied = connection.connection
        lost = dialect.is_disconnect(error, proxied.dbapi_connection, cursor) or connection_lost(
            error
        )
        wrapped = DBAPIError.instance(
            self.sql,
            arguments,
            error,
            dialect.loaded_dbapi.Error,
            hide_parameters=True,
            connection_invalidated=lost,
            dialect=dialect,
        )
        tracing.statement_failed_on(connection, wrapped)
        if lost:
            pool = connection.engine.pool
            if isinstance(pool, WatchedPool):
                pool.discard_older(proxied, wrapped)
            connection.invalidate(wrapped)
        return wrapped
