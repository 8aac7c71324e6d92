"""Migration 0013 adds `accounts (firm_id, status)`, which the account list's `totalCount`
reads. An operator of a large database builds it beforehand without holding the table's
writes (`CREATE INDEX CONCURRENTLY` on PostgreSQL) under the migration's name; the migration
then finds it and goes on (README, "Running on PostgreSQL and at scale")."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from clientgraph.db.migrate import current_revisions, head_revisions, upgrade
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import DATABASE_URLS

INDEX = "ix_accounts_firm_id_status"


@pytest.fixture(params=list(DATABASE_URLS))
async def at_0012(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """The owner's URL of a database of its own, migrated only as far as revision 0012."""
    async with DATABASE_URLS[request.param](revision="0012_caller_shapes") as url:
        yield url


async def indexes_of_accounts(url: str) -> list[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            found = await connection.run_sync(lambda sync: sa.inspect(sync).get_indexes("accounts"))
    finally:
        await engine.dispose()
    return [index["name"] for index in found]


async def build_index_without_holding_writes(url: str) -> None:
    concurrently = "CONCURRENTLY " if url.startswith("postgresql") else ""
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(
                sa.text(f"CREATE INDEX {concurrently}{INDEX} ON accounts (firm_id, status)")
            )
    finally:
        await engine.dispose()


async def test_the_migration_adds_the_index_of_accounts_by_status(at_0012: str) -> None:
    assert INDEX not in await indexes_of_accounts(at_0012)

    await asyncio.to_thread(upgrade, at_0012)

    assert (await indexes_of_accounts(at_0012)).count(INDEX) == 1


async def test_an_index_built_beforehand_is_kept_and_the_migration_goes_on(at_0012: str) -> None:
    await build_index_without_holding_writes(at_0012)

    await asyncio.to_thread(upgrade, at_0012)

    assert (await indexes_of_accounts(at_0012)).count(INDEX) == 1
    assert frozenset(await asyncio.to_thread(current_revisions, at_0012)) == head_revisions()
