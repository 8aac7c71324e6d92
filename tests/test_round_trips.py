"""Round trips per request (issue 8, point 3), counted on the wire between the app and
PostgreSQL (bench/statements.py's protocol proxy): the issue's dashboard (`first: 10` and
`first: 100`) and account page, through HTTP with a user token, take at most 3 statements
besides BEGIN/COMMIT/ROLLBACK, everything included — the per-transaction settings (the firm
for row-level security, the timeouts), the token's user, the data — and no pool pre-ping.
The generic path (Strawberry's executor) takes no more statements than before, and as many
for 100 accounts as for 10. A read's answer is sent after two round trips (issue 17, point 2);
its ROLLBACK follows the answer. A mutation's transaction id, its live events' NOTIFY and its
check for webhooks travel in one statement before its COMMIT (issue 17, point 3).

PostgreSQL only: the round trips that matter are those to a server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from clientgraph.app import create_app
from clientgraph.auth.access_tokens import issue_token
from clientgraph.db.engine import Database
from clientgraph.ids import encode_id
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bench.operations import ACCOUNT_PAGE, CREATE_ACCOUNT, DASHBOARD
from bench.seed import Seeded, seed
from bench.statements import StatementCounter, Tally
from tests.conftest import postgresql_url
from tests.pg_proxy import Proxy
from tests.support import SECRET, asyncpg_dsn, settings_for

SCALE = 0.01
"""100 accounts: a page of 100 is full."""
TRANSACTION_CONTROL = frozenset({"BEGIN", "COMMIT", "ROLLBACK"})
MOST_STATEMENTS = 3
LARGE_ENOUGH_FOR_100_ACCOUNTS = 100_000
"""The dashboard at `first: 100` may return 90,100 nodes, over the default node limit."""
GENERIC_BEFORE = {"dashboard": 10, "account page": 11}
"""Statements of the generic path before this work, without the pre-ping (bench/RESULTS.md of
2026-11-29 counted 11 and 12 with it)."""


WARM_UP_TRIES = 40
CALLER_READ = "SELECT users.name, users.role, users.permissions"
"""The caller's user, as `auth.access_tokens` reads it on a token's first use."""


def dashboard(first: int) -> str:
    return DASHBOARD.replace("first: 50", f"first: {first}")


class TallyAtAnswer:
    """The app, noting what the counter has seen when the answer's last byte is about to be
    sent: the round trips the client waits for."""

    def __init__(self, app: ASGIApp, counter: StatementCounter) -> None:
        self.app = app
        self.counter = counter
        self.seen: Tally | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def noting(message: Message) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                tally = self.counter.tally
                self.seen = Tally(list(tally.statements), tally.round_trips)
            await send(message)

        await self.app(scope, receive, noting)


@dataclass
class Counted:
    http: httpx.AsyncClient
    counter: StatementCounter
    seeded: Seeded
    token: str
    at_answer: TallyAtAnswer

    async def request(self, query: str, variables: dict[str, Any]) -> httpx.Response:
        return await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {self.token}"},
        )

    async def statements_of(
        self, query: str, variables: dict[str, Any]
    ) -> tuple[httpx.Response, Tally]:
        """One request after warm-up ones (caches filled, the pool's connection open, the
        caller kept once the process listens for changes to callers)."""
        for _ in range(WARM_UP_TRIES):
            self.counter.reset()
            assert (await self.request(query, variables)).status_code == 200
            if not any(CALLER_READ in statement for statement in self.counter.reset().statements):
                break
            await asyncio.sleep(0.05)
        response = await self.request(query, variables)
        return response, self.counter.reset()


@pytest.fixture(scope="module")
async def seeded() -> AsyncIterator[tuple[str, Seeded]]:
    async with postgresql_url() as url:
        yield url, await seed(url, SCALE)


@pytest.fixture(scope="module")
async def counter(seeded: tuple[str, Seeded]) -> AsyncIterator[StatementCounter]:
    url, _ = seeded
    proxy = StatementCounter(url)
    await proxy.start()
    yield proxy
    await proxy.close()


async def _counted(
    seeded: tuple[str, Seeded], counter: StatementCounter, **overrides: Any
) -> AsyncIterator[Counted]:
    url, data = seeded
    overrides.setdefault("outbox_relay", False)
    settings = settings_for(url, max_nodes=LARGE_ENOUGH_FOR_100_ACCOUNTS, **overrides)
    db = Database(counter.through(settings.server_database_url()), pool_size=2)
    token = issue_token(SECRET, user_id=data.owner_user_id, firm_id=data.firm_id, ttl_seconds=3600)
    app = create_app(settings, db)
    at_answer = TallyAtAnswer(app, counter)
    transport = httpx.ASGITransport(app=at_answer)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://test") as http,
        ):
            yield Counted(http, counter, data, token, at_answer)
    finally:
        await db.dispose()


@pytest.fixture
async def app(seeded: tuple[str, Seeded], counter: StatementCounter) -> AsyncIterator[Counted]:
    async for counted in _counted(seeded, counter):
        yield counted


@pytest.fixture
async def generic(seeded: tuple[str, Seeded], counter: StatementCounter) -> AsyncIterator[Counted]:
    async for counted in _counted(seeded, counter, planned_reads=False):
        yield counted


def besides_transactions(tally: Tally) -> list[str]:
    return [s for s in tally.statements if s.strip().upper() not in TRANSACTION_CONTROL]


def operations(counted: Counted) -> dict[str, tuple[str, dict[str, Any], int]]:
    """name: (document, variables, accounts the answer lists)."""
    account = encode_id("Account", counted.seeded.detail_account_id)
    return {
        "dashboard first: 10": (dashboard(10), {}, 10),
        "dashboard first: 100": (dashboard(100), {}, 100),
        "account page": (ACCOUNT_PAGE, {"id": account}, 1),
    }


def listed(body: dict[str, Any]) -> int:
    data = body["data"]
    return len(data["accounts"]["nodes"]) if "accounts" in data else int(bool(data["account"]))


@pytest.mark.parametrize("name", ["dashboard first: 10", "dashboard first: 100", "account page"])
async def test_an_app_read_takes_at_most_three_statements_besides_begin_and_commit(
    app: Counted, name: str
) -> None:
    query, variables, accounts = operations(app)[name]

    response, tally = await app.statements_of(query, variables)

    body = response.json()
    assert "errors" not in body, body["errors"]
    assert listed(body) == accounts
    statements = besides_transactions(tally)
    assert len(statements) <= MOST_STATEMENTS, (
        f"{response.headers.get('x-read-path')}: {len(statements)} statements",
        statements,
    )


@pytest.mark.parametrize("name", ["dashboard first: 10", "dashboard first: 100", "account page"])
async def test_an_app_read_is_answered_after_two_round_trips_its_settings_sent_with_its_begin(
    app: Counted, name: str
) -> None:
    """BEGIN and the firm's settings in one message, then the planned statement, and the
    answer (the caller is kept by the process, as `serve` keeps it)."""
    query, variables, _ = operations(app)[name]

    response, _ = await app.statements_of(query, variables)

    assert "errors" not in response.json()
    before = app.at_answer.seen
    assert before is not None
    assert before.round_trips == 2, before.statements
    assert before.statements[0].strip().upper().startswith("BEGIN")
    assert "set_config('app.firm_id'" in before.statements[1]


@pytest.mark.parametrize("name", ["dashboard first: 10", "account page"])
async def test_an_app_reads_transaction_ends_after_its_answer(app: Counted, name: str) -> None:
    query, variables, _ = operations(app)[name]

    _, tally = await app.statements_of(query, variables)

    before = app.at_answer.seen
    assert before is not None
    assert tally.round_trips == before.round_trips + 1, tally.statements
    assert tally.statements[len(before.statements) :] == ["ROLLBACK"]


@pytest.mark.parametrize("name", ["dashboard first: 10", "dashboard first: 100", "account page"])
async def test_no_request_pings_the_pool_before_its_first_statement(
    generic: Counted, name: str
) -> None:
    query, variables, _ = operations(generic)[name]

    _, tally = await generic.statements_of(query, variables)

    assert ";" not in [statement.strip() for statement in tally.statements]
    assert tally.statements[0].strip().upper() == "BEGIN"


@pytest.mark.parametrize("operation", ["dashboard", "account page"])
async def test_the_generic_path_takes_no_more_statements_than_before(
    generic: Counted, operation: str
) -> None:
    names = [name for name in operations(generic) if name.startswith(operation)]
    counts = {}
    for name in names:
        query, variables, accounts = operations(generic)[name]
        response, tally = await generic.statements_of(query, variables)
        assert "errors" not in response.json()
        assert listed(response.json()) == accounts
        counts[name] = len(besides_transactions(tally))

    assert max(counts.values()) <= GENERIC_BEFORE[operation], counts
    assert len(set(counts.values())) == 1, f"statements depend on the rows: {counts}"


async def test_a_mutation_asks_its_transaction_id_notifies_and_checks_webhooks_in_one_statement(
    app: Counted,
) -> None:
    new_account = {
        "name": "Closing statement",
        "type": "COMPANY",
        "ownerId": encode_id("ClientOwner", app.seeded.client_owner_ids[0]),
        "tags": ["one", "two"],
    }

    response, tally = await app.statements_of(CREATE_ACCOUNT, {"input": new_account})

    assert response.json()["data"]["createAccount"]["userErrors"] == []
    *work, closing, commit = tally.statements
    assert commit.strip().upper() == "COMMIT"
    for asked in ("txid_current_if_assigned()", "pg_notify", "FROM webhooks"):
        assert asked in closing, closing
    assert not [s for s in work if "txid_current" in s or "FROM webhooks" in s], work
    assert not [s for s in work if s.strip().upper().startswith("SAVEPOINT")], work


async def test_statements_are_counted_on_the_server_the_database_url_names(
    seeded: tuple[str, Seeded],
) -> None:
    """TEST_DATABASE_URL may name any address: the counting proxy forwards to the one its URL
    names (here a forwarder on a port of its own), not to PostgreSQL's default port."""
    url, _ = seeded
    elsewhere = Proxy.in_front_of(url)
    await elsewhere.open()
    counter = StatementCounter(elsewhere.url(url))
    await counter.start()
    try:
        connection = await asyncpg.connect(asyncpg_dsn(counter.through(url)))
        forwarded = len(elsewhere.links)
        answer = await connection.fetchval("SELECT 41 + 1")
        await connection.close()
    finally:
        await counter.close()
        await elsewhere.close()

    assert answer == 42
    assert forwarded == 1
    assert "SELECT 41 + 1" in counter.reset().statements
