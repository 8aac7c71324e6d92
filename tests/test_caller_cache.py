"""The caller cache (auth/caller_cache.py): each server process keeps the users behind user
tokens and the callers of API keys while PostgreSQL tells it of every change to them, so that
a change made anywhere (by a mutation through another process, by the CLI, by hand in SQL)
holds for the next request in every process. Real `clientgraph serve` processes: two on
PostgreSQL, one on SQLite (where nothing is kept)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from clientgraph.auth.api_keys import KeyCaller, PresentedKey, key_hash
from clientgraph.auth.caller_cache import APPLICATION_NAME, CallerCache
from clientgraph.auth.viewer import Viewer, user_viewer
from clientgraph.db.engine import Database
from clientgraph.settings import Settings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support import SECRET, Api, asyncpg_dsn, new_firm_served, owner_url
from tests.test_serve import two_processes

PERMISSIONS = "query { viewer { permissions } }"
WAIT_S = 5.0
"""Far more than a notification takes to arrive: a change must hold at the latest by then."""


@pytest.fixture(scope="module")
def ports(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[int]]:
    """Two processes on PostgreSQL (a change made through one is seen by the other), the same
    one twice on SQLite."""
    with two_processes(database, tmp_path_factory.mktemp("caller_cache"), {}) as served:
        yield served


@pytest.fixture
async def firm(database: Database, ports: list[int]) -> AsyncIterator[Api]:
    """A new firm's owner, talking HTTP to the first process."""
    async with new_firm_served(database, ports[0]) as owner:
        yield owner


@contextlib.asynccontextmanager
async def second_process(ports: list[int]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports[1]}") as http:
        yield http


async def permissions(http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.post(
        "/graphql",
        json={"query": PERMISSIONS},
        headers={"Authorization": f"Bearer {token}"},
    )


async def within(deadline_s: float, check: Callable[[], Awaitable[bool]]) -> float:
    """Seconds until `check` holds; fails past `deadline_s`."""
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < deadline_s, "the change was not seen in time"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def sql(database: Database, statement: str, **values: object) -> None:
    """A change made by hand, as an operator would, beside the service (as the tables' owner,
    whom row-level security does not bind to a firm)."""
    engine = create_async_engine(owner_url(database))
    try:
        async with engine.begin() as connection:
            await connection.execute(text(statement), values)
    finally:
        await engine.dispose()


async def test_rights_changed_by_hand_in_the_database_hold_for_the_next_request(
    firm: Api, ports: list[int]
) -> None:
    _, token = await firm.staff("VIEW_ALL_ACCOUNTS", name="Changed by hand")
    async with second_process(ports) as other:
        assert (await permissions(other, token)).json()["data"]["viewer"]["permissions"] == [
            "VIEW_ALL_ACCOUNTS"
        ]

        await sql(
            firm.db,
            "UPDATE users SET permissions = :permissions WHERE name = :name",
            permissions='["CREATE_ACCOUNTS"]',
            name="Changed by hand",
        )

        async def changed() -> bool:
            body = (await permissions(other, token)).json()
            return body["data"]["viewer"]["permissions"] == ["CREATE_ACCOUNTS"]

        assert await within(WAIT_S, changed) < 1.0


async def listeners(connection: asyncpg.Connection) -> set[int]:
    """The backends of the processes' caller caches that listen now."""
    rows = await connection.fetch(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'",
        APPLICATION_NAME,
    )
    return {row["pid"] for row in rows}


async def test_a_change_made_while_the_listening_connection_was_down_is_not_missed(
    firm: Api, ports: list[int], database: Database
) -> None:
    if database.dialect != "postgresql":
        pytest.skip("SQLite keeps no callers: there is no listening connection")
    user_id, token = await firm.staff(name="Changed while deaf")
    admin = await asyncpg.connect(asyncpg_dsn(owner_url(database)))
    try:
        async with second_process(ports) as other:
            assert (await permissions(other, token)).status_code == 200
            before = await listeners(admin)
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = $1",
                APPLICATION_NAME,
            )
            await firm.ok("updateUser", {"userId": user_id, "isActive": False})

            async def listening_again() -> bool:
                return len((await listeners(admin)) - before) == len(before)

            await within(WAIT_S, listening_again)
            assert (await permissions(other, token)).status_code == 401
    finally:
        await admin.close()


async def api_key(api: Api) -> tuple[str, str]:
    """(id, bearer token) of a new key of the firm's owner."""
    payload = await api.ok(
        "createApiKey",
        {"name": "Partner", "permissions": ["VIEW_ALL_ACCOUNTS"]},
        "apiKey { id } key",
    )
    return payload["apiKey"]["id"], payload["key"]


Change = Callable[[], Awaitable[object]]


async def user_deactivated(firm: Api) -> tuple[str, Change]:
    user_id, token = await firm.staff("VIEW_ALL_ACCOUNTS")
    return token, lambda: firm.ok("updateUser", {"userId": user_id, "isActive": False})


async def user_deleted_by_hand(firm: Api) -> tuple[str, Change]:
    name = f"Deleted by hand {uuid.uuid4().hex[:6]}"
    _, token = await firm.staff(name=name)
    return token, lambda: sql(firm.db, "DELETE FROM users WHERE name = :name", name=name)


async def key_revoked(firm: Api) -> tuple[str, Change]:
    key_id, token = await api_key(firm)
    return token, lambda: firm.ok("revokeApiKey", {"apiKeyId": key_id})


async def key_creator_deactivated(firm: Api) -> tuple[str, Change]:
    user_id, user_token = await firm.staff(role="ADMIN")
    _, token = await api_key(replace(firm, token=user_token))
    return token, lambda: firm.ok("updateUser", {"userId": user_id, "isActive": False})


@pytest.mark.parametrize(
    "scenario", [user_deactivated, user_deleted_by_hand, key_revoked, key_creator_deactivated]
)
async def test_a_caller_changed_through_one_process_is_refused_by_the_other_at_once(
    firm: Api, ports: list[int], scenario: Callable[[Api], Awaitable[tuple[str, Change]]]
) -> None:
    token, change = await scenario(firm)
    async with second_process(ports) as other:
        assert (await permissions(other, token)).status_code == 200

        await change()

        async def refused() -> bool:
            return (await permissions(other, token)).status_code == 401

        assert await within(WAIT_S, refused) < 1.0


async def test_a_kept_key_is_refused_with_another_secret(firm: Api, ports: list[int]) -> None:
    _, token = await api_key(firm)
    async with second_process(ports) as other:
        assert (await permissions(other, token)).status_code == 200

        forged = await permissions(other, token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB"))

        assert forged.status_code == 401


def cache(*, listening: bool = True) -> CallerCache:
    """A process's cache whose listening connection is up (or not), without a database."""
    users = CallerCache("postgresql+asyncpg://nowhere/db", ttl_s=60)
    if listening:
        users.connected.set()
    return users


def staff_viewer(session_id: uuid.UUID | None = None) -> Viewer:
    return user_viewer(uuid.uuid4(), uuid.uuid4(), "Ann", "STAFF", [], session_id=session_id)


def test_a_kept_user_is_the_caller_of_any_of_their_sign_ins() -> None:
    users, viewer = cache(), staff_viewer()
    users.keep_user(viewer, users.mark())
    session_id = uuid.uuid4()

    assert users.user(viewer.user_id, viewer.firm_id, session_id) == replace(
        viewer, session_id=session_id
    )


def test_a_token_naming_another_firm_finds_no_kept_user() -> None:
    users, viewer = cache(), staff_viewer()
    users.keep_user(viewer, users.mark())

    assert users.user(viewer.user_id, uuid.uuid4(), None) is None


@pytest.mark.parametrize(
    "meanwhile",
    [
        pytest.param(lambda users: users.heard_change(f"user:{uuid.uuid4()}"), id="a-change-heard"),
        pytest.param(lambda users: users.listening_again(), id="a-reconnection"),
        pytest.param(
            lambda users: (users.connected.clear(), users.listening_again(), users.connected.set()),
            id="the-connection-lost-and-back",
        ),
    ],
)
def test_a_user_read_while_something_happened_is_not_kept(
    meanwhile: Callable[[CallerCache], object],
) -> None:
    users, viewer = cache(), staff_viewer()
    mark = users.mark()
    meanwhile(users)
    users.keep_user(viewer, mark)

    assert users.user(viewer.user_id, viewer.firm_id, None) is None


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(
            lambda users, viewer: users.heard_change(f"user:{viewer.user_id}"), id="changed"
        ),
        pytest.param(lambda users, viewer: users.listening_again(), id="reconnected"),
    ],
)
def test_a_kept_user_is_dropped_when(event: Callable[[CallerCache, Viewer], object]) -> None:
    users, viewer = cache(), staff_viewer()
    users.keep_user(viewer, users.mark())
    event(users, viewer)

    assert users.user(viewer.user_id, viewer.firm_id, None) is None


def test_nothing_kept_is_used_while_the_connection_is_down() -> None:
    users, viewer = cache(), staff_viewer()
    users.keep_user(viewer, users.mark())
    users.connected.clear()

    assert users.user(viewer.user_id, viewer.firm_id, None) is None


@pytest.mark.parametrize(
    ("pgbouncer", "listen_url", "kept_s"),
    [
        (False, None, 60.0),
        (True, None, 0.0),
        (True, "postgresql+asyncpg://app@direct:5432/clientgraph", 60.0),
    ],
)
def test_behind_a_pooler_callers_are_kept_only_with_a_direct_listen_url(
    pgbouncer: bool, listen_url: str | None, kept_s: float
) -> None:
    settings = Settings(
        database_url="postgresql+asyncpg://app@pgbouncer:6432/clientgraph",
        secret=SECRET,
        pgbouncer=pgbouncer,
        listen_database_url=listen_url,
    )

    assert settings.caller_cache_ttl_s() == kept_s


def key_caller(secret: str = "s3cret", expires_at: datetime | None = None) -> KeyCaller:
    viewer = staff_viewer()
    key = PresentedKey(
        uuid.uuid4(), viewer.firm_id, viewer.user_id, [], None, key_hash(secret), expires_at
    )
    return KeyCaller(key, replace(viewer, api_key_id=key.id))


def test_a_kept_key_is_the_caller_of_its_own_secret_only() -> None:
    users, caller = cache(), key_caller("s3cret")
    users.keep_key(caller, users.mark())

    assert users.key(caller.key.id, "s3cret") == caller
    assert users.key(caller.key.id, "another") is None


def test_an_expired_kept_key_is_looked_up_again() -> None:
    users = cache()
    caller = key_caller(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    users.keep_key(caller, users.mark())

    assert users.key(caller.key.id, "s3cret") is None


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda caller: f"key:{caller.key.id}", id="the-key-changed"),
        pytest.param(lambda caller: f"user:{caller.viewer.user_id}", id="its-creator-changed"),
    ],
)
def test_a_kept_key_is_dropped_when(change: Callable[[KeyCaller], str]) -> None:
    users, caller = cache(), key_caller()
    users.keep_key(caller, users.mark())
    users.heard_change(change(caller))

    assert users.key(caller.key.id, "s3cret") is None
