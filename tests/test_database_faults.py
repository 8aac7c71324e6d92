"""When PostgreSQL fails (issue 7, point 5): lost connections are retried without applying a
mutation twice, an unreachable database answers 503 SERVICE_UNAVAILABLE with Retry-After, and
`clientgraph serve` starts before its database and becomes ready when the database does.

PostgreSQL only: SQLite is a local file that cannot drop a connection. The shared server is
never stopped; its faults are made with `pg_terminate_backend` from a second connection, and
with `Proxy`, a TCP proxy between the app and PostgreSQL that the test cuts, closes and reopens.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from clientgraph.app import create_app
from clientgraph.auth import issue_token
from clientgraph.db.engine import Database
from clientgraph.resolvers.firms import create_firm
from sqlalchemy.engine import make_url

from tests.conftest import _asyncpg_dsn, postgresql_url
from tests.support import SECRET, Api, new_firm, settings_for, without_cost

CLIENTGRAPH = str(Path(sys.executable).with_name("clientgraph"))
CREATE_ACCOUNT = (
    "mutation($name: String!) { createAccount(input: {name: $name}) "
    "{ account { name } userErrors { code } } }"
)
UPDATE_ACCOUNT = (
    "mutation($id: ID!, $name: String!) { updateAccount(input: {accountId: $id, name: $name}) "
    "{ account { name version } userErrors { code } } }"
)
ACCOUNT_NAMES = "{ accounts(first: 10) { nodes { name } } }"
UNAVAILABLE_CODE = {"code": "SERVICE_UNAVAILABLE"}


# --- the proxy -----------------------------------------------------------------------------


@dataclass(eq=False)
class Link:
    """One client connection through the proxy and its connection to PostgreSQL."""

    client: asyncio.StreamWriter
    server: asyncio.StreamWriter
    armed: bool = False

    def cut(self) -> None:
        self.server.close()
        self.client.transport.abort()


@dataclass
class Trigger:
    """Cut the link that sends `on` (after it sent `after`, when given): forwarding that
    message first or not, and closing the whole proxy too (the database goes down)."""

    on: bytes
    after: bytes | None = None
    forward: bool = False
    close_proxy: bool = False

    def fires(self, link: Link, data: bytes) -> bool:
        if (self.after is None or link.armed) and self.on in data:
            return True
        if self.after is not None and self.after in data:
            link.armed = True
        return False


@dataclass
class Proxy:
    target_host: str
    target_port: int
    port: int = 0
    trigger: Trigger | None = None
    links: set[Link] = field(default_factory=set)
    server: asyncio.Server | None = None

    async def open(self) -> None:
        """Listen (again, on the same port): the database is up."""
        self.server = await asyncio.start_server(
            self._serve, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop listening and cut every connection: the database is down."""
        if self.server is not None:
            self.server.close()
            self.server = None
        self.cut()

    def cut(self) -> None:
        """Cut every open connection, as a restart of PostgreSQL does."""
        for link in list(self.links):
            link.cut()

    def url(self, database_url: str) -> str:
        proxied = make_url(database_url).set(host="127.0.0.1", port=self.port)
        return proxied.render_as_string(hide_password=False)

    async def _serve(self, client_in: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        try:
            server_in, server = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            client.transport.abort()
            return
        link = Link(client, server)
        self.links.add(link)
        pumps = [
            asyncio.create_task(self._pump(client_in, server, link, upstream=True)),
            asyncio.create_task(self._pump(server_in, client, link, upstream=False)),
        ]
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            link.cut()
            self.links.discard(link)
            for pump in pumps:
                pump.cancel()

    async def _pump(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, link: Link, upstream: bool
    ) -> None:
        while data := await source.read(65536):
            trigger = self.trigger
            if upstream and trigger is not None and trigger.fires(link, data):
                self.trigger = None
                if trigger.forward:
                    sink.write(data)
                    await sink.drain()
                link.cut()
                if trigger.close_proxy:
                    await self.close()
                return
            sink.write(data)
            await sink.drain()


# --- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture(scope="module")
async def direct_url() -> AsyncIterator[str]:
    """A migrated PostgreSQL database of this module's own."""
    async with postgresql_url() as url:
        yield url


@pytest.fixture
async def admin(direct_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection of the test's own, beside the app's, to inspect and to kill with."""
    connection = await asyncpg.connect(_asyncpg_dsn(direct_url))
    yield connection
    await connection.close()


@pytest.fixture
async def proxy(direct_url: str) -> AsyncIterator[Proxy]:
    target = make_url(direct_url)
    running = Proxy(target.host or "127.0.0.1", target.port or 5432)
    await running.open()
    yield running
    await running.close()


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


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:
    """Wait until `check()` holds; fail if it does not within `timeout` seconds."""
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.05)


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


async def test_readyz_answers_503_json_while_the_schema_is_not_migrated(
    empty_database: str,
) -> None:
    db = Database(empty_database)
    app = create_app(settings_for(empty_database), db)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as http:
            response = await http.get("/readyz")
    finally:
        await db.dispose()

    assert_service_unavailable(response)
    assert "not migrated" in response.json()["errors"][0]["message"]


# --- clientgraph serve ---------------------------------------------------------------------


@pytest.fixture
async def empty_database(direct_url: str) -> AsyncIterator[str]:
    """A database that exists but was never migrated."""
    name = f"clientgraph_serve_{uuid.uuid4().hex[:12]}"
    server = await asyncpg.connect(_asyncpg_dsn(direct_url))
    await server.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(direct_url).set(database=name).render_as_string(hide_password=False)
    finally:
        await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await server.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.asynccontextmanager
async def serving(database_url: str, log: Path) -> AsyncIterator[httpx.AsyncClient]:
    """`clientgraph serve` in a subprocess, its output in `log`, stopped afterwards."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "CLIENTGRAPH_SECRET": SECRET}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [CLIENTGRAPH, "serve", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:

            async def healthy() -> bool:
                assert process.poll() is None, f"serve exited:\n{log.read_text()}"
                try:
                    return (await http.get("/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(healthy, timeout=30)
            yield http
    finally:
        process.terminate()
        try:
            await asyncio.to_thread(process.wait, 10)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)


async def test_serve_starts_while_the_database_is_down_and_becomes_ready_when_it_is_up(
    empty_database: str, proxy: Proxy, tmp_path: Path
) -> None:
    await proxy.close()
    log = tmp_path / "serve.log"

    async with serving(proxy.url(empty_database), log) as http:
        assert (await http.get("/healthz")).status_code == 200
        assert_service_unavailable(await http.get("/readyz"))
        assert_service_unavailable(await http.post("/graphql", json={"query": "{ __typename }"}))

        await proxy.open()

        async def ready() -> bool:
            return (await http.get("/readyz")).status_code == 200

        await eventually(ready, timeout=60)
        db = Database(empty_database)
        try:
            firm_id, user_id = await create_firm(
                db, name="Late Firm", admin_email="late@example.com", admin_name="Late Owner"
            )
        finally:
            await db.dispose()
        token = issue_token(SECRET, user_id=user_id, firm_id=firm_id, ttl_seconds=600)
        response = await http.post(
            "/graphql",
            json={"query": "{ viewer { user { name } } }"},
            headers={"Authorization": f"Bearer {token}"},
        )

    assert without_cost(response.json()) == {"data": {"viewer": {"user": {"name": "Late Owner"}}}}
    assert "database not reachable" in log.read_text()
