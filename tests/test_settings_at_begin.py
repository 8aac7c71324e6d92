"""A transaction's settings travel with its BEGIN (db/tenancy.py `SettingsAtBegin`), written as
literals into one simple-query message: no value can break out of its literal, and settings
that a session left for a BEGIN that never came reach no later transaction."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from clientgraph.db import tenancy
from clientgraph.db.engine import Database
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support import Api, asyncpg_dsn, owner_url

ON_POSTGRESQL = pytest.mark.parametrize("database", ["postgresql"], indirect=True)

HOSTILE = [
    "plain",
    "",
    "o'brien@example.com",
    "x'); SELECT pg_sleep(5); --",
    "back\\slash\\'); DROP TABLE users; --",
    "\\",
    "'",
    ":firm:api_key",
    "dollar $$ quoting $tag$",
    "üñíçødé ✓",
]


@ON_POSTGRESQL
@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("conforming", ["on", "off"])
async def test_a_literal_reads_back_as_its_value(
    database: Database, value: str, conforming: str
) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(owner_url(database)))
    try:
        await connection.execute(f"SET standard_conforming_strings = {conforming}")
        assert await connection.fetchval(f"SELECT {tenancy.literal(value)}") == value
    finally:
        await connection.close()


def test_a_setting_with_nul_is_refused() -> None:
    with pytest.raises(ValueError):
        tenancy.literal("a\x00b")


@ON_POSTGRESQL
@pytest.mark.parametrize("value", HOSTILE)
async def test_a_hostile_sign_in_email_is_a_setting_and_nothing_more(api: Api, value: str) -> None:
    async with api.db.read_sessions(info={tenancy.LOOKUP: {"sign_in_email": value}}) as session:
        seen = await session.scalar(text("SELECT current_setting('app.sign_in_email')"))
        firm = await session.scalar(text("SELECT current_setting('app.firm_id')"))

    assert (seen, firm) == (value, "")


@ON_POSTGRESQL
async def test_settings_left_for_a_begin_that_never_came_reach_no_later_transaction(
    api: Api,
) -> None:
    database = Database(api.db.url, pool_size=1, max_overflow=0)
    try:
        async with database.firm_session(uuid.uuid4()) as session:
            await session.connection()
        async with database.engine.connect() as connection:
            firm = await connection.scalar(text("SELECT current_setting('app.firm_id', true)"))
    finally:
        await database.dispose()

    assert firm in (None, "")


@ON_POSTGRESQL
async def test_each_transaction_of_a_pooled_connection_begins_with_its_own_firm(
    api: Api,
) -> None:
    database = Database(api.db.url, pool_size=1, max_overflow=0)
    firms = [uuid.uuid4() for _ in range(3)]
    seen = []
    try:
        for firm in firms:
            async with database.firm_session(firm) as session:
                seen.append(await session.scalar(text("SELECT current_setting('app.firm_id')")))
    finally:
        await database.dispose()

    assert seen == [str(firm) for firm in firms]


@ON_POSTGRESQL
async def test_a_session_joining_a_transaction_already_begun_still_sets_its_firm(
    api: Api,
) -> None:
    firm = uuid.uuid4()
    async with api.db.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
        session = AsyncSession(
            bind=connection,
            sync_session_class=api.db.session_class,
            info=tenancy.for_firm(firm),
        )
        seen = await session.scalar(text("SELECT current_setting('app.firm_id')"))
        await session.close()

    assert seen == str(firm)
