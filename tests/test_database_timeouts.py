"""PostgreSQL's own limits on every transaction of a request (issue 7, point 2): statement,
lock and idle-in-transaction timeouts, and TIMEOUT when the database gives up."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from clientgraph.app import create_app
from clientgraph.db.engine import Database
from clientgraph.ids import decode_id
from clientgraph.settings import Settings
from sqlalchemy import event
from sqlalchemy.engine import Engine

from tests.support import APP_ROLE, SECRET, Api, asyncpg_dsn, owner_url

pytestmark = pytest.mark.parametrize("database", ["postgresql"], indirect=True)

UPDATE_ACCOUNT = """
mutation($input: UpdateAccountInput!) {
  updateAccount(input: $input) { account { name } userErrors { code } }
}"""
CREATE_ACCOUNT = """
mutation($input: CreateAccountInput!) {
  createAccount(input: $input) { account { id } userErrors { code } }
}"""
ACCOUNT = "query($id: ID!) { account(id: $id) { name version tags history { totalCount } } }"
ACCOUNT_NAMES = "{ accounts(first: 100) { nodes { name } } }"
WAIT_AT_MOST_S = 10.0
"""Far below the 39 s a blocked mutation waited without lock_timeout, far above any limit set
here: past it a test fails instead of hanging."""


@contextlib.asynccontextmanager
async def server(database: Database, **limits: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The app as `clientgraph serve` makes it from settings: its own engine, as the app role.
    Without the outbox relay, whose transactions (for every firm with mail) are no request's."""
    settings = Settings(
        database_url=owner_url(database),
        secret=SECRET,
        app_role=APP_ROLE,
        outbox_relay=False,
        **limits,
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as http,
    ):
        yield http


async def post(
    http: httpx.AsyncClient, api: Api, query: str, variables: dict[str, Any] | None = None
) -> tuple[dict[str, Any], float]:
    """The body of a request that must answer 200, and how long it took."""
    started = time.monotonic()
    response = await send(http, api, query, variables)
    assert response.status_code == 200, response.text
    return response.json(), time.monotonic() - started


async def send(
    http: httpx.AsyncClient, api: Api, query: str, variables: dict[str, Any] | None = None
) -> httpx.Response:
    """The answer to `api`'s request, which must come within `WAIT_AT_MOST_S`."""
    return await asyncio.wait_for(
        http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {api.token}"},
        ),
        WAIT_AT_MOST_S,
    )


@contextlib.asynccontextmanager
async def holding(database: Database, statement: str, *args: Any) -> AsyncIterator[None]:
    """Another client, the tables' owner, holds the locks `statement` takes until the block
    ends."""
    connection = await asyncpg.connect(asyncpg_dsn(owner_url(database)))
    try:
        async with connection.transaction():
            await connection.execute(statement, *args)
            yield
    finally:
        await connection.close()


def timeout_error(body: dict[str, Any], field: str) -> dict[str, Any]:
    assert body["data"] is None or body["data"].get(field) is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "TIMEOUT", error
    assert error["path"] == [field]
    return error


async def test_a_mutation_blocked_by_a_row_lock_ends_with_timeout_after_the_lock_timeout(
    api: Api, database: Database
) -> None:
    account = await api.create_account("Locked Ltd", tags=["a"])
    before = await api.data(ACCOUNT, {"id": account["id"]})

    async with (
        server(database, db_lock_timeout_s=0.5) as http,
        holding(
            database,
            "SELECT FROM accounts WHERE id = $1 FOR UPDATE",
            decode_id(account["id"], "Account"),
        ),
    ):
        body, elapsed = await post(
            http,
            api,
            UPDATE_ACCOUNT,
            {"input": {"accountId": account["id"], "name": "Renamed", "tags": ["b"]}},
        )

    error = timeout_error(body, "updateAccount")
    assert "was not applied" in error["message"]
    assert 0.5 <= elapsed < 3.0
    assert await api.data(ACCOUNT, {"id": account["id"]}) == before


async def test_a_mutation_that_times_out_halfway_leaves_nothing_behind(
    api: Api, database: Database
) -> None:
    """createAccount inserts the account, its tags and its history, then waits for the
    contact's lock: all of it is rolled back."""
    contact = (
        await api.ok("createContact", {"firstName": "Ada", "lastName": "Lund"}, "contact { id }")
    )["contact"]

    async with (
        server(database, db_lock_timeout_s=0.5) as http,
        holding(
            database,
            "SELECT FROM contacts WHERE id = $1 FOR UPDATE",
            decode_id(contact["id"], "Contact"),
        ),
    ):
        body, _ = await post(
            http,
            api,
            CREATE_ACCOUNT,
            {
                "input": {
                    "name": "Half Ltd",
                    "tags": ["x"],
                    "contacts": [{"contactId": contact["id"], "roles": []}],
                }
            },
        )

    timeout_error(body, "createAccount")
    assert (await api.data(ACCOUNT_NAMES))["accounts"]["nodes"] == []


async def test_a_read_past_the_statement_timeout_ends_with_timeout(
    api: Api, database: Database
) -> None:
    await api.create_account("Slow Ltd")

    async with (
        server(database, db_statement_timeout_s=0.5, db_lock_timeout_s=0) as http,
        holding(database, "LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE"),
    ):
        body, elapsed = await post(http, api, ACCOUNT_NAMES)

    timeout_error(body, "accounts")
    assert 0.5 <= elapsed < 3.0


async def test_a_planned_read_past_the_statement_timeout_answers_timeout_without_running_again(
    api: Api, database: Database
) -> None:
    """The planned path does not hand a timed-out statement to the generic path: that would
    spend the rest of the request's deadline waiting on the same data."""
    await api.create_account("Slow Ltd")

    async with (
        server(database, db_statement_timeout_s=0.5, db_lock_timeout_s=0) as http,
        holding(database, "LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE"),
    ):
        response = await send(http, api, ACCOUNT_NAMES)

    assert response.headers["x-read-path"] == "planned"
    timeout_error(response.json(), "accounts")


async def test_a_caller_whose_own_lookup_passes_the_statement_timeout_is_told_to_retry(
    api: Api, database: Database
) -> None:
    """Loading the caller, before anything runs, is bounded like every statement: a database
    too busy for it answers 503 with Retry-After, not a masked 500."""
    async with (
        server(database, db_statement_timeout_s=0.5, db_lock_timeout_s=0) as http,
        holding(database, "LOCK TABLE users IN ACCESS EXCLUSIVE MODE"),
    ):
        response = await send(http, api, ACCOUNT_NAMES)
        again = await send(http, api, ACCOUNT_NAMES)

    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "1"
    assert response.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert again.status_code == 503


@contextlib.contextmanager
def observed_in_transactions(statement: str) -> Iterator[list[Any]]:
    """What `statement` answers inside each transaction of the app, asked right after the
    transaction's first statement."""
    answers: list[Any] = []
    begun: set[Any] = set()

    def begin(connection: Any) -> None:
        begun.add(connection)

    def after_cursor_execute(connection: Any, *_: Any) -> None:
        if connection in begun:
            begun.discard(connection)
            answers.append(tuple(connection.exec_driver_sql(statement).one()))

    event.listen(Engine, "begin", begin)
    event.listen(Engine, "after_cursor_execute", after_cursor_execute)
    try:
        yield answers
    finally:
        event.remove(Engine, "after_cursor_execute", after_cursor_execute)
        event.remove(Engine, "begin", begin)


async def test_every_transaction_of_a_request_runs_as_the_app_role_with_the_set_timeouts(
    api: Api, database: Database
) -> None:
    async with server(
        database,
        db_statement_timeout_s=7,
        db_lock_timeout_s=3,
        db_idle_in_transaction_timeout_s=45,
    ) as http:
        with observed_in_transactions(
            "SELECT current_user, current_setting('statement_timeout'),"
            " current_setting('lock_timeout'),"
            " current_setting('idle_in_transaction_session_timeout'),"
            " current_setting('app.firm_id'), current_setting('jit')"
        ) as answers:
            body, _ = await post(
                http,
                api,
                'mutation { createAccount(input: {name: "Seen"}) { account { name } } }',
            )
            await post(http, api, ACCOUNT_NAMES)

    assert body["data"]["createAccount"]["account"] == {"name": "Seen"}
    expected = (APP_ROLE, "7s", "3s", "45s", str(api.firm_id), "off")
    assert len(answers) >= 3  # the request's reads, the mutation's own, the next request's
    assert set(answers) == {expected}
