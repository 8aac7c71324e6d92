"""The service behind PgBouncer in transaction mode (issue 17, point 5): sign-in, planned reads,
mutations and concurrent requests through a pooler whose few server connections are shared by
many clients, subscriptions on a direct listen URL, and the named prepared statements that
fail there without `CLIENTGRAPH_PGBOUNCER`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from clientgraph.app import create_app
from clientgraph.db.engine import Database
from clientgraph.settings import Settings
from websockets.asyncio.client import connect

from tests.conftest import postgresql_url
from tests.live_server import serve
from tests.pgbouncer import PgBouncer, running_pgbouncer
from tests.support import APP_ROLE, OWNER_URLS, Api, asyncpg_dsn, new_firm, settings_for
from tests.test_sign_in import PASSWORD, give_password, login

POOL_SIZE = 2
"""Server connections PgBouncer keeps per database and user: fewer than the app's clients."""
CLIENTS = 24
WAIT_S = 15.0
ACCOUNTS = "{ accounts(first: 10) { totalCount nodes { id name owner { name } tags } } }"


@pytest.fixture(scope="module")
async def direct_url() -> AsyncIterator[str]:
    """A database of this module's own: the tables' owner, straight to PostgreSQL."""
    async with postgresql_url() as url:
        yield url


@pytest.fixture(scope="module")
async def bouncer(direct_url: str) -> AsyncIterator[PgBouncer]:
    async with running_pgbouncer(
        direct_url, users=("postgres", APP_ROLE), pool_size=POOL_SIZE
    ) as running:
        yield running


def app_url(direct_url: str) -> str:
    return settings_for(direct_url).server_database_url()


def settings_behind(bouncer: PgBouncer, direct_url: str) -> Settings:
    """A server's settings behind `bouncer`: migrations on the direct URL, requests through
    the pooler, subscriptions listening on the direct URL."""
    return settings_for(
        direct_url,
        app_database_url=bouncer.url(app_url(direct_url)),
        pgbouncer=True,
        listen_database_url=app_url(direct_url),
    )


@contextlib.asynccontextmanager
async def database_behind(
    bouncer: PgBouncer, direct_url: str, *, pgbouncer: bool = True
) -> AsyncIterator[Database]:
    """The app's database through `bouncer`, with a pool larger than PgBouncer's."""
    settings = settings_behind(bouncer, direct_url)
    url = settings.server_database_url()
    OWNER_URLS[url] = direct_url
    db = Database(
        url, pool_size=CLIENTS, pgbouncer=pgbouncer, listen_url=settings.listen_database_url
    )
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
async def bounced(bouncer: PgBouncer, direct_url: str) -> AsyncIterator[Database]:
    async with database_behind(bouncer, direct_url) as db:
        yield db


@pytest.fixture
async def api(bounced: Database, bouncer: PgBouncer, direct_url: str) -> AsyncIterator[Api]:
    async with new_firm(bounced, settings=settings_behind(bouncer, direct_url)) as client:
        yield client


async def server_connections(direct_url: str) -> int:
    """The app role's connections to the database, as PostgreSQL counts them."""
    admin = await asyncpg.connect(asyncpg_dsn(direct_url))
    try:
        return await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND usename = $1",
            APP_ROLE,
        )
    finally:
        await admin.close()


async def test_a_user_signs_in_and_refreshes_through_pgbouncer(api: Api) -> None:
    email = await give_password(api.db, api.firm_id, api.user_id, PASSWORD)

    signed_in = await login(api.http, email, PASSWORD)
    assert signed_in.status_code == 200, signed_in.text
    tokens = signed_in.json()
    refreshed = await api.http.post("/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert refreshed.status_code == 200, refreshed.text
    viewer = await api.data("{ viewer { user { id } } }", token=refreshed.json()["accessToken"])
    assert viewer["viewer"]["user"]["id"]


async def test_a_planned_read_answers_through_pgbouncer(api: Api) -> None:
    await api.enable_ownership()
    owner = await api.add_owner(name="Nina Nord")
    await api.create_account("Fjord Fiskeri", ownerId=owner, tags=["vip"])

    response = await api.post(ACCOUNTS)

    assert response.status_code == 200, response.text
    assert response.headers["X-Read-Path"] == "planned"
    accounts = response.json()["data"]["accounts"]
    assert accounts["totalCount"] == 1
    assert accounts["nodes"][0]["owner"] == {"name": "Nina Nord"}
    assert accounts["nodes"][0]["tags"] == ["vip"]


async def test_mutations_write_and_are_read_back_through_pgbouncer(api: Api) -> None:
    account = await api.create_account("Acme")
    renamed = await api.ok(
        "updateAccount",
        {"accountId": account["id"], "name": "Acme Ltd", "expectedVersion": account["version"]},
        "account { name version }",
    )

    assert renamed["account"] == {"name": "Acme Ltd", "version": account["version"] + 1}
    history = await api.data(
        "query($id: ID!) { node(id: $id) { ... on Account { history(first: 5) "
        "{ nodes { action } } } } }",
        {"id": account["id"]},
    )
    actions = [node["action"] for node in history["node"]["history"]["nodes"]]
    assert len(actions) == 2


async def test_concurrent_requests_share_pgbouncers_few_server_connections(
    api: Api, direct_url: str
) -> None:
    """More clients at once than PgBouncer has server connections: each request's transactions
    land on whichever server connection is free, and every one answers right."""
    created = await asyncio.gather(
        *(api.create_account(f"Concurrent {index}") for index in range(CLIENTS // 2))
    )
    reads = await asyncio.gather(*(api.post(ACCOUNTS) for _ in range(CLIENTS)))

    assert len({account["id"] for account in created}) == CLIENTS // 2
    assert [response.status_code for response in reads] == [200] * CLIENTS
    assert {response.json()["data"]["accounts"]["totalCount"] for response in reads} == {
        CLIENTS // 2
    }
    pool = api.db.engine.pool
    assert pool.checkedin() + pool.checkedout() > POOL_SIZE  # type: ignore[attr-defined]
    assert await server_connections(direct_url) <= POOL_SIZE


async def test_a_subscriber_on_the_listen_url_hears_a_change_made_through_pgbouncer(
    api: Api, bouncer: PgBouncer, direct_url: str
) -> None:
    """The serving app is built from the settings alone, as `clientgraph serve` builds it:
    requests through PgBouncer, the listening connection on the direct URL."""
    app = create_app(settings_behind(bouncer, direct_url))
    async with (
        serve(app) as port,
        connect(f"ws://127.0.0.1:{port}/graphql", subprotocols=["graphql-transport-ws"]) as socket,
    ):
        init = {"type": "connection_init", "payload": {"token": api.token}}
        await socket.send(json.dumps(init))
        assert json.loads(await asyncio.wait_for(socket.recv(), WAIT_S))["type"] == "connection_ack"
        subscription = "subscription { accountChanged { action account { name } } }"
        await socket.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": subscription}})
        )

        heard = None
        async with asyncio.timeout(WAIT_S * 2):
            while heard is None:
                await api.create_account(f"Heard {uuid.uuid4().hex[:6]}")
                with contextlib.suppress(TimeoutError):
                    heard = json.loads(await asyncio.wait_for(socket.recv(), 0.5))

    assert heard["type"] == "next", heard
    assert heard["payload"]["data"]["accountChanged"]["action"] == "account.created"


ROUNDS = 3


async def test_a_server_built_from_the_settings_answers_every_request_through_pgbouncer(
    api: Api, bouncer: PgBouncer, direct_url: str
) -> None:
    """`CLIENTGRAPH_PGBOUNCER` and the URLs reach the engine the app makes for itself."""
    await api.create_account("Acme")
    app = create_app(settings_behind(bouncer, direct_url))
    statuses = []
    async with (
        serve(app) as port,
        httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {api.token}"}
        ) as http,
    ):
        for _ in range(ROUNDS):
            responses = await asyncio.gather(
                *(http.post("/graphql", json={"query": ACCOUNTS}) for _ in range(CLIENTS))
            )
            statuses += [response.status_code for response in responses]

    assert statuses == [200] * ROUNDS * CLIENTS


async def concurrent_reads(db: Database, bouncer: PgBouncer, direct_url: str) -> list[int]:
    """Statuses of ROUNDS times CLIENTS planned reads by one firm's owner through `bouncer`,
    CLIENTS at a time, so the app's pooled connections each run several transactions, on
    whichever of PgBouncer's server connections is free."""
    async with new_firm(db, settings=settings_behind(bouncer, direct_url)) as client:
        await client.create_account("Acme")
        statuses = []
        for _ in range(ROUNDS):
            responses = await asyncio.gather(*(client.post(ACCOUNTS) for _ in range(CLIENTS)))
            statuses += [response.status_code for response in responses]
    return statuses


async def test_without_the_setting_a_prepared_statement_is_missing_on_another_server_connection(
    bouncer: PgBouncer, direct_url: str
) -> None:
    """asyncpg prepares named statements (`__asyncpg_stmt_…`) and runs them again by name: the
    next transaction of the same client connection may run on another server connection,
    where that statement does not exist."""
    async with database_behind(bouncer, direct_url, pgbouncer=False) as db:
        statuses = await concurrent_reads(db, bouncer, direct_url)

    assert set(statuses) != {200}


async def test_with_the_setting_every_request_answers_whichever_server_connection_it_gets(
    bouncer: PgBouncer, direct_url: str
) -> None:
    async with database_behind(bouncer, direct_url) as db:
        statuses = await concurrent_reads(db, bouncer, direct_url)

    assert statuses == [200] * ROUNDS * CLIENTS
