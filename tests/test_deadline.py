"""A deadline per request (request_timeout_s): past it the work stops, its database statement
too, the client gets TIMEOUT and the pool stays usable; a client that disconnects stops its
work the same way."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import orjson
import pytest
import uvicorn
from clientgraph.app import create_app
from clientgraph.db.engine import Database
from clientgraph.ids import decode_id
from clientgraph.settings import Settings

from tests.support import Api, asyncpg_dsn, eventually, owner_url, served_with, settings_for

RELATED_THRICE = (
    "{ accounts(first: 100) { nodes { relatedAccounts { relatedAccounts { relatedAccounts "
    "{ name } } } } } }"
)
CREATE_LINKED_CONTACT = """
mutation($input: CreateContactInput!) {
  createContact(input: $input) { contact { id } userErrors { code } }
}
"""
CONTACT_COUNT = "{ contacts { totalCount } }"
LOCK_WAITS = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock'
"""


def _checked_out(db: Database) -> int:
    return db.engine.pool.checkedout()  # type: ignore[attr-defined]


@pytest.fixture
def postgresql(database: Database) -> Database:
    if database.is_sqlite:
        pytest.skip("row locks that make a writer wait exist on PostgreSQL only")
    return database


async def _accounts_sharing_a_contact(api: Api, count: int) -> None:
    contact = await api.ok(
        "createContact", {"firstName": "Shared", "lastName": "Person"}, "contact { id }"
    )
    for index in range(count):
        await api.create_account(
            f"Account {index:03}", contacts=[{"contactId": contact["contact"]["id"]}]
        )


def _same_firm_with(api: Api, **overrides: Any) -> contextlib.AbstractAsyncContextManager[Api]:
    """The same caller, through an app with other settings."""
    return served_with(api, settings_for(api.db.url, **overrides))


async def test_a_slow_query_answers_timeout_in_about_the_deadline(api: Api) -> None:
    async with _same_firm_with(api, max_account_contacts=40) as linking:
        await _accounts_sharing_a_contact(linking, 40)

    async with _same_firm_with(api, request_timeout_s=0.3, max_nodes=10**9) as hurried:
        started = time.monotonic()
        body = await hurried.execute(RELATED_THRICE)
        elapsed = time.monotonic() - started

    [error] = body["errors"]
    assert error["extensions"]["code"] == "TIMEOUT"
    assert "0.3 s" in error["message"]
    assert body["data"] is None
    assert body["extensions"]["cost"]["requestedNodes"] == 100 * (1 + 50 + 50**2 + 50**3)
    assert elapsed < 0.3 + 3.0
    assert _checked_out(api.db) == 0
    assert (await api.data(CONTACT_COUNT))["contacts"]["totalCount"] == 1


@contextlib.asynccontextmanager
async def _row_locked(db: Database, account_id: str) -> AsyncIterator[asyncpg.Connection]:
    """Another connection holds the account's row lock until the block ends."""
    connection = await asyncpg.connect(asyncpg_dsn(owner_url(db)))
    transaction = connection.transaction()
    await transaction.start()
    try:
        await connection.execute(
            "SELECT id FROM accounts WHERE id = $1 FOR UPDATE", decode_id(account_id, "Account")
        )
        yield connection
    finally:
        await transaction.rollback()
        await connection.close()


def _linked_contact_input(account_id: str) -> dict[str, Any]:
    return {
        "input": {"firstName": "New", "lastName": "Contact", "links": [{"accountId": account_id}]}
    }


async def test_a_mutation_blocked_past_the_deadline_times_out_and_rolls_back_whole(
    postgresql: Database, api: Api
) -> None:
    account = await api.create_account("Acme")
    async with (
        _same_firm_with(api, request_timeout_s=1.0) as hurried,
        _row_locked(postgresql, account["id"]) as locker,
    ):
        started = time.monotonic()
        body = await asyncio.wait_for(
            hurried.execute(CREATE_LINKED_CONTACT, _linked_contact_input(account["id"])), 10
        )
        elapsed = time.monotonic() - started

        assert [e["extensions"]["code"] for e in body["errors"]] == ["TIMEOUT"]
        assert 1.0 <= elapsed < 3.0
        await eventually(lambda: _no_lock_waits(locker), timeout=5)
    assert (await api.data(CONTACT_COUNT))["contacts"]["totalCount"] == 0
    assert _checked_out(postgresql) == 0


async def _no_lock_waits(connection: asyncpg.Connection) -> bool:
    return await connection.fetchval(LOCK_WAITS) == 0


@contextlib.asynccontextmanager
async def _serving(api: Api, **overrides: Any) -> AsyncIterator[int]:
    """A real uvicorn server for the app, on a free port of 127.0.0.1."""
    app = create_app(settings_for(api.db.url, **overrides), api.db)
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    serving = asyncio.create_task(server.serve(sockets=[listening]))
    try:
        await eventually(lambda: _started(server), timeout=10)
        yield listening.getsockname()[1]
    finally:
        server.should_exit = True
        await serving


async def _started(server: uvicorn.Server) -> bool:
    return server.started


async def _send_post(port: int, token: str, payload: dict[str, Any]) -> asyncio.StreamWriter:
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    body = orjson.dumps(payload)
    writer.write(
        b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    return writer


async def test_a_client_that_disconnects_cancels_its_work(postgresql: Database, api: Api) -> None:
    async with _serving(api, request_timeout_s=60) as port:
        account = await api.create_account(f"Acme {uuid.uuid4().hex[:6]}")
        async with _row_locked(postgresql, account["id"]) as locker:
            client = await _send_post(
                port,
                api.token,
                {"query": CREATE_LINKED_CONTACT, "variables": _linked_contact_input(account["id"])},
            )
            await eventually(lambda: _lock_waits(locker), timeout=10)

            client.close()
            await client.wait_closed()

            await eventually(lambda: _no_lock_waits(locker), timeout=5)
            await eventually(lambda: _pool_idle(postgresql), timeout=5)
        assert (await api.data(CONTACT_COUNT))["contacts"]["totalCount"] == 0


async def _lock_waits(connection: asyncpg.Connection) -> bool:
    return not await _no_lock_waits(connection)


async def _pool_idle(db: Database) -> bool:
    return _checked_out(db) == 0


def test_the_deadline_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings(_env_file=None).request_timeout_s == 10.0
    monkeypatch.setenv("CLIENTGRAPH_REQUEST_TIMEOUT_S", "2.5")
    assert Settings(_env_file=None).request_timeout_s == 2.5
