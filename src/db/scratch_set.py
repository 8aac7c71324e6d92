"""A set of strings that one transaction keeps in a temporary table instead of in memory, for a
writer whose memory must not grow with its input (the register import: the customer numbers
it has met, the subjects whose version it has set).

The table lives on the transaction's connection and is gone when the transaction ends: on
PostgreSQL by `ON COMMIT DROP` (and, on either database, a rolled-back CREATE leaves nothing);
on SQLite, whose temporary tables outlive a COMMIT on the pooled connection, by the DROP when
the block that opened it ends. Its name is qualified by the temporary schema (`pg_temp`,
`temp`), so no statement of it can reach a real table. The statements' text depends only on
the name, whatever the number of values (one array or JSON parameter), so each is prepared
once per connection.

Needs the TEMPORARY privilege on the database, which PostgreSQL gives every role unless it was
revoked."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_NAME = re.compile(r"[a-z_][a-z0-9_]*")


class ScratchSet:
    """Strings kept for the rest of one transaction of `session`; made by `scratch_set`."""

    def __init__(self, session: AsyncSession, table: str, postgres: bool) -> None:
        self.session = session
        self.postgres = postgres
        given = "unnest(CAST(:values AS text[]))" if postgres else "value FROM json_each(:values)"
        self.adding = text(
            f"INSERT INTO {table} (value) SELECT {given} WHERE true"
            " ON CONFLICT DO NOTHING RETURNING value"
        )
        present = (
            "= ANY(CAST(:values AS text[]))"
            if postgres
            else "IN (SELECT value FROM json_each(:values))"
        )
        self.finding = text(f"SELECT value FROM {table} WHERE value {present}")

    def parameter(self, values: Collection[str]) -> Any:
        return list(values) if self.postgres else json.dumps(list(values))

    async def add(self, values: Collection[str]) -> set[str]:
        """Put `values` in the set; those that were not in it before (each once, however
        often `values` names it)."""
        if not values:
            return set()
        added = await self.session.scalars(self.adding, {"values": self.parameter(values)})
        return set(added)

    async def among(self, values: Collection[str]) -> set[str]:
        """Those of `values` that are in the set."""
        if not values:
            return set()
        found = await self.session.scalars(self.finding, {"values": self.parameter(values)})
        return set(found)


@asynccontextmanager
async def scratch_set(session: AsyncSession, name: str) -> AsyncIterator[ScratchSet]:
    """A new empty set for `session`'s transaction, dropped when the block ends. An exception
    leaves it to the transaction's rollback: PostgreSQL refuses any statement, a DROP too, in
    a transaction a failed statement has aborted."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a table name: {name!r}")
    postgres = session.get_bind().dialect.name == "postgresql"
    table = f"pg_temp.{name}" if postgres else f"temp.{name}"
    await session.execute(
        text(
            f"CREATE TABLE {table} (value text PRIMARY KEY)"
            + (" ON COMMIT DROP" if postgres else "")
        )
    )
    yield ScratchSet(session, table, postgres)
    await session.execute(text(f"DROP TABLE {table}"))
