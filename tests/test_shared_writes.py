"""Callers' latest writes in Redis (db/shared_writes.py), which every process asks before it
sends a caller's read to the replica: the latest write is kept whatever order the processes'
writes reach Redis in."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from clientgraph.db.shared_writes import SharedWrites


@pytest.fixture
async def shared(redis_url: str, redis_key_prefix: str) -> AsyncIterator[SharedWrites]:
    writes = SharedWrites(redis_url, redis_key_prefix, keep_s=30.0)
    yield writes
    await writes.close()


@pytest.mark.parametrize(
    ("arriving", "kept"),
    [((100.0, 100.5), 100.5), ((100.5, 100.0), 100.5), ((100.0,), 100.0)],
    ids=["later second", "earlier second", "one write"],
)
async def test_the_latest_write_of_a_caller_is_kept_whatever_order_the_writes_arrive_in(
    shared: SharedWrites, arriving: tuple[float, ...], kept: float
) -> None:
    caller = (uuid.uuid4(), uuid.uuid4())
    for at in arriving:
        await shared.wrote(caller, at)

    assert await shared.written_at(caller) == kept


async def test_a_caller_who_did_not_write_has_no_write(shared: SharedWrites) -> None:
    await shared.wrote((uuid.uuid4(), None), 100.0)

    assert await shared.written_at((uuid.uuid4(), None)) is None
