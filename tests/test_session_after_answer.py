"""A read's session ends after its answer is sent (issue 17, point 2): its ROLLBACK is not a
round trip the client waits for, and its connection still goes back to the pool however the
request ends. A request that wrote ends its session before answering, as before.

PostgreSQL only: the pool counted is SQLAlchemy's queue pool of a server database."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
from clientgraph.app import create_app
from clientgraph.db.engine import Database
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.live_server import serve
from tests.support import Api, eventually, settings_for

ACCOUNTS = "{ accounts(first: 5) { nodes { name } } }"


def checked_out(db: Database) -> int:
    return db.engine.pool.checkedout()  # type: ignore[attr-defined]


class PoolAtAnswer:
    """The app, noting how many connections are checked out as the answer's last byte is
    about to be sent; with `fail_sending`, that send fails as a vanished client's would."""

    def __init__(self, app: ASGIApp, db: Database, *, fail_sending: bool = False) -> None:
        self.app = app
        self.db = db
        self.fail_sending = fail_sending
        self.seen: int | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def noting(message: Message) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                self.seen = checked_out(self.db)
                if self.fail_sending:
                    raise ConnectionResetError("the client is gone")
            await send(message)

        await self.app(scope, receive, noting)


@pytest.fixture
def postgresql(database: Database) -> Database:
    if database.is_sqlite:
        pytest.skip("the pool counted is PostgreSQL's")
    return database


@contextlib.asynccontextmanager
async def through(
    api: Api, *, fail_sending: bool = False
) -> AsyncIterator[tuple[Api, PoolAtAnswer]]:
    watched = PoolAtAnswer(
        create_app(settings_for(api.db.url), api.db), api.db, fail_sending=fail_sending
    )
    transport = httpx.ASGITransport(app=watched)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield dataclasses.replace(api, http=http), watched


async def test_a_read_returns_its_connection_after_its_answer_is_sent(
    postgresql: Database, api: Api
) -> None:
    await api.create_account("Read After")
    async with through(api) as (watched_api, watched):
        response = await watched_api.post(ACCOUNTS)

    assert response.status_code == 200, response.text
    assert response.json()["data"]["accounts"]["nodes"] == [{"name": "Read After"}]
    assert watched.seen == 1
    assert checked_out(postgresql) == 0


async def test_a_mutation_returns_its_connection_before_its_answer(
    postgresql: Database, api: Api
) -> None:
    async with through(api) as (watched_api, watched):
        created = await watched_api.create_account("Written Before")

    assert created["name"] == "Written Before"
    assert watched.seen == 0
    assert checked_out(postgresql) == 0


async def test_a_read_whose_answer_cannot_be_sent_still_returns_its_connection(
    postgresql: Database, api: Api
) -> None:
    async with through(api, fail_sending=True) as (watched_api, watched):
        with pytest.raises(ConnectionResetError):
            await watched_api.post(ACCOUNTS)

    assert watched.seen == 1
    assert checked_out(postgresql) == 0


async def test_a_read_served_over_a_socket_returns_its_connection_once_answered(
    postgresql: Database, api: Api
) -> None:
    """A real server: the client has its answer before the ROLLBACK, so the connection is
    waited for, not assumed back."""
    await api.create_account("Over A Socket")
    app = create_app(settings_for(api.db.url), api.db)
    async with (
        serve(app) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
    ):
        served = dataclasses.replace(api, http=http)
        names = [(await served.data(ACCOUNTS))["accounts"]["nodes"] for _ in range(3)]
        await eventually(lambda: checked_out(postgresql) == 0, timeout=5)

    assert names == [[{"name": "Over A Socket"}]] * 3
