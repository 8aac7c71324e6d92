"""When PostgreSQL fails (issue 7, point 5; issue 13, point 7): lost connections are retried
without applying a mutation twice, an unreachable database answers 503 SERVICE_UNAVAILABLE with
Retry-After, and a connection lost while a request's session closes is discarded without
failing the request. How the server starts before its database: tests/test_startup.py.

PostgreSQL only: SQLite is a local file that cannot drop a connection. The shared server is
never stopped; its faults are made with `pg_terminate_backend` from a second connection, and
with `Proxy` (tests/pg_proxy.py), a TCP proxy between the app and PostgreSQL that the test cuts,
closes and reopens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from clientgraph.db.engine import Database
from sqlalchemy import event

from tests.pg_proxy import Proxy, Trigger, direct_url, proxy
from tests.support import Api, asyncpg_dsn, eventually, new_firm, without_cost

__all__ = ["direct_url", "proxy"]

CREATE_ACCOUNT = (
    "mutation($name: String!) { createAccount(input: {name: $name}) "
    "{ account { name } userErrors { code } } }"
)
UPDATE_ACCOUNT = (
    "mutation($id: ID!, $name: String!) { updateAccount(input: {accountId: $id, name: $name}) "
    "{ account { name version } userErrors { code } } }"
)
ACCOUNT_NAMES = "{ accounts(first: 10) { nodes { name } } }"
GENERIC_ACCOUNT_NAMES = (
    '{ __type(name: "Account") { name } accounts(first: 10) { nodes { name } } }'
)
"""Introspection is never planned: the same read, answered by Strawberry's executor."""
UNAVAILABLE_CODE = {"code": "SERVICE_UNAVAILABLE"}


# --- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture
async def admin(direct_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection of the test's own, beside the app's, to inspect and to kill with."""
    connection = await asyncpg.connect(asyncpg_dsn(direct_url))
    yield connection
    await connection.close()


@contextlib.asynccontextmanager
async def app_on(url: str, **options: Any) -> AsyncIterator[Api]:
    """The app on its own engine (so its pool is its own) as the owner of a new firm."""
    db = Database(url, pool_size=4, **options)
    try:
        async with new_firm(db) as api:
            yield api
    finally:
        await db.dispose()


@pytest.fixture
async def api(direct_url: str) -> AsyncIterator[Api]:
    async with app_on(direct_url) as client:
        yield client


@pytest.fixture
async def proxied(direct_url: str, proxy: Proxy) -> AsyncIterator[Api]:
    """The app talking to PostgreSQL through `proxy`, giving up a write after 3 attempts."""
    async with app_on(proxy.url(direct_url), write_attempts=3) as client:
        yield client


async def accounts_named(admin: asyncpg.Connection, api: Api, name: str) -> int:
    return await admin.fetchval(
        "SELECT count(*) FROM accounts WHERE firm_id = $1 AND name = $2", api.firm_id, name
    )


def assert_service_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) > 0
    body = response.json()
    assert list(body) == ["errors"]
    assert [error["extensions"] for error in body["errors"]] == [UNAVAILABLE_CODE]


# --- writes --------------------------------------------------------------------------------


async def test_a_mutation_whose_connection_is_terminated_mid_transaction_is_applied_once(
    api: Api, admin: asyncpg.Connection
) -> None:
    account = await api.create_account("Before")
    account_id = (await admin.fetchrow("SELECT id FROM accounts WHERE firm_id = $1", api.firm_id))[
        "id"
    ]
    blocker = admin.transaction()
    await blocker.start()
    await admin.execute("SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE", account_id)

    update = asyncio.create_task(api.execute(UPDATE_ACCOUNT, {"id": account["id"], "name": "X"}))
    waiting = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
    waiting += "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
    await eventually(lambda: admin.fetchval(waiting))
    await admin.execute(f"SELECT pg_terminate_backend(({waiting}))")
    await blocker.rollback()
    body = await update

    assert without_cost(body) == {
        "data": {"updateAccount": {"account": {"name": "X", "version": 2}, "userErrors": []}}
    }
    history = await admin.fetchval(
        "SELECT count(*) FROM audit_events WHERE firm_id = $1 AND action = 'account.updated'",
        api.firm_id,
    )
    assert history == 1


async def test_a_mutation_cut_off_before_its_commit_is_retried_and_applied_once(
    proxied: Api, proxy: Proxy, admin: asyncpg.Connection
) -> None:
    proxy.trigger = Trigger(after=b"INSERT INTO accounts", on=b"COMMIT", forward=False)

    body = await proxied.execute(CREATE_ACCOUNT, {"name": "Cut before commit"})

    assert proxy.trigger is None, "the proxy never saw the COMMIT"
    assert without_cost(body) == {
        "data": {"createAccount": {"account": {"name": "Cut before commit"}, "userErrors": []}}
    }
    assert await accounts_named(admin, proxied, "Cut before commit") == 1


async def test_a_mutation_whose_commit_answer_is_lost_is_applied_once(
    proxied: Api, proxy: Proxy, admin: asyncpg.Connection
) -> None:
    proxy.trigger = Trigger(after=b"INSERT INTO accounts", on=b"COMMIT", forward=True)

    body = await proxied.execute(CREATE_ACCOUNT, {"name": "Committed, answer lost"})

    assert proxy.trigger is None, "the proxy never saw the COMMIT"
    assert without_cost(body) == {
        "data": {"createAccount": {"account": {"name": "Committed, answer lost"}, "userErrors": []}}
    }
    assert await accounts_named(admin, proxied, "Committed, answer lost") == 1


async def test_a_commit_whose_outcome_cannot_be_learned_is_reported_and_not_retried(
    proxied: Api, proxy: Proxy, admin: asyncpg.Connection
) -> None:
    proxy.trigger = Trigger(
        after=b"INSERT INTO accounts", on=b"COMMIT", forward=True, close_proxy=True
    )

    body = await proxied.execute(CREATE_ACCOUNT, {"name": "Outcome unknown"})

    assert body["data"] is None
    assert [error["extensions"] for error in body["errors"]] == [{"code": "COMMIT_OUTCOME_UNKNOWN"}]
    assert "may or may not have been saved" in body["errors"][0]["message"]
    assert await accounts_named(admin, proxied, "Outcome unknown") == 1


async def test_a_mutation_whose_database_goes_down_answers_503_and_changes_nothing(
    proxied: Api, proxy: Proxy, admin: asyncpg.Connection
) -> None:
    proxy.trigger = Trigger(on=b"INSERT INTO accounts", close_proxy=True)

    response = await proxied.post(CREATE_ACCOUNT, {"name": "Never stored"})

    assert_service_unavailable(response)
    assert await accounts_named(admin, proxied, "Never stored") == 0


async def test_a_request_that_committed_a_mutation_before_the_database_went_down_is_not_503(
    proxied: Api, proxy: Proxy, admin: asyncpg.Connection
) -> None:
    """A 503 tells the client to send the request again; that would apply `first` twice."""
    proxy.trigger = Trigger(on=b"Second, never stored", close_proxy=True)
    document = (
        'mutation { first: createAccount(input: {name: "First, stored"}) { userErrors { code } }'
        ' second: createAccount(input: {name: "Second, never stored"}) { userErrors { code } } }'
    )

    response = await proxied.post(document)

    assert response.status_code == 200, response.text
    assert [error["extensions"] for error in response.json()["errors"]] == [UNAVAILABLE_CODE]
    assert await accounts_named(admin, proxied, "First, stored") == 1
    assert await accounts_named(admin, proxied, "Second, never stored") == 0


# --- reads ---------------------------------------------------------------------------------


async def test_a_query_whose_pooled_connections_were_killed_while_idle_succeeds(
    api: Api, admin: asyncpg.Connection
) -> None:
    await api.create_account("Survivor")
    others = "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    assert await admin.fetchval(f"SELECT count(*) {others}") > 0
    await admin.execute(f"SELECT pg_terminate_backend(pid) {others}")
    await eventually(lambda: _none_left(admin, others))

    body = await api.execute(ACCOUNT_NAMES)

    assert without_cost(body) == {"data": {"accounts": {"nodes": [{"name": "Survivor"}]}}}


async def _kill_idle_pooled_connections(admin: asyncpg.Connection) -> None:
    """Terminate every connection but the admin's, as a PostgreSQL restart does, and wait
    until they are gone: the app's pool still holds them, and does not ping before use."""
    others = "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    assert await admin.fetchval(f"SELECT count(*) {others}") > 0
    await admin.execute(f"SELECT pg_terminate_backend(pid) {others}")
    await eventually(lambda: _none_left(admin, others))


async def test_a_mutation_whose_pooled_connections_were_killed_while_idle_succeeds(
    api: Api, admin: asyncpg.Connection
) -> None:
    await api.create_account("Before the restart")
    await _kill_idle_pooled_connections(admin)

    body = await api.execute(CREATE_ACCOUNT, {"name": "After the restart"})

    assert without_cost(body) == {
        "data": {"createAccount": {"account": {"name": "After the restart"}, "userErrors": []}}
    }
    assert await accounts_named(admin, api, "After the restart") == 1


async def test_readyz_is_ready_after_its_pooled_connections_were_killed_while_idle(
    api: Api, admin: asyncpg.Connection
) -> None:
    assert (await api.http.get("/readyz")).status_code == 200
    await _kill_idle_pooled_connections(admin)

    response = await api.http.get("/readyz")

    assert response.status_code == 200, response.text


async def _none_left(admin: asyncpg.Connection, others: str) -> bool:
    return await admin.fetchval(f"SELECT count(*) {others}") == 0


async def test_a_query_whose_connection_is_lost_mid_request_is_answered_on_a_fresh_one(
    proxied: Api, proxy: Proxy
) -> None:
    await proxied.create_account("Still here")
    proxy.trigger = Trigger(on=b"FROM accounts")

    body = await proxied.execute(ACCOUNT_NAMES)

    assert proxy.trigger is None, "the proxy never saw the accounts query"
    assert without_cost(body) == {"data": {"accounts": {"nodes": [{"name": "Still here"}]}}}


async def test_a_query_while_the_database_is_down_answers_503_with_retry_after(
    proxied: Api, proxy: Proxy
) -> None:
    await proxy.close()

    response = await proxied.post(ACCOUNT_NAMES)

    assert_service_unavailable(response)


async def test_queries_succeed_again_once_the_database_is_back(proxied: Api, proxy: Proxy) -> None:
    await proxy.close()
    assert (await proxied.post(ACCOUNT_NAMES)).status_code == 503
    await proxy.open()

    body = await proxied.execute(ACCOUNT_NAMES)

    assert without_cost(body) == {"data": {"accounts": {"nodes": []}}}


async def test_readyz_answers_503_json_while_the_database_is_down(
    proxied: Api, proxy: Proxy
) -> None:
    await proxy.close()

    response = await proxied.http.get("/readyz")

    assert_service_unavailable(response)


@pytest.mark.parametrize(
    ("query", "read_path"), [(ACCOUNT_NAMES, "planned"), (GENERIC_ACCOUNT_NAMES, "generic")]
)
async def test_a_query_whose_connection_is_lost_while_its_session_closes_is_answered(
    proxied: Api, proxy: Proxy, caplog: pytest.LogCaptureFixture, query: str, read_path: str
) -> None:
    """The answer is ready when the session rolls back its read transaction; the connection
    dies under that ROLLBACK. It is logged and discarded, and the client gets its answer."""
    await proxied.create_account("Answered")
    invalidated: list[object] = []
    event.listen(
        proxied.db.engine.sync_engine, "invalidate", lambda *args: invalidated.append(args)
    )
    proxy.trigger = Trigger(on=b"ROLLBACK")

    with caplog.at_level(logging.WARNING, logger="clientgraph.db"):
        response = await proxied.post(query)

    assert proxy.trigger is None, "the proxy never saw the session's ROLLBACK"
    assert response.status_code == 200, response.text
    assert response.headers["x-read-path"] == read_path
    assert without_cost(response.json())["data"]["accounts"] == {"nodes": [{"name": "Answered"}]}
    assert "connection lost as its session ended" in caplog.text
    assert len(invalidated) == 1
    assert proxied.db.engine.pool.checkedout() == 0


async def test_the_next_query_after_a_connection_lost_while_closing_does_not_meet_it(
    proxied: Api, proxy: Proxy, caplog: pytest.LogCaptureFixture
) -> None:
    """The discarded connection is not handed out again: the next request's first statement
    runs on a live connection, with no retry."""
    await proxied.create_account("Next")
    proxy.trigger = Trigger(on=b"ROLLBACK")
    assert (await proxied.post(ACCOUNT_NAMES)).status_code == 200
    assert proxy.trigger is None, "the proxy never saw the session's ROLLBACK"

    with caplog.at_level(logging.WARNING, logger="clientgraph.db"):
        body = await proxied.execute(ACCOUNT_NAMES)

    assert without_cost(body) == {"data": {"accounts": {"nodes": [{"name": "Next"}]}}}
    assert "read connection lost" not in caplog.text
