"""A streaming read replica (issue 17, point 5): with `CLIENTGRAPH_REPLICA_URL` a query's reads
go to a hot standby made with `pg_basebackup` (tests/replica.py), while the caller who just
wrote reads from the primary until the replica shows their write; a replica that lags too far
or stops sends every read to the primary, and no request fails for it.

Each scenario serves the app from its settings alone, as `clientgraph serve` does, with its
lifespan (the replica's watcher runs there), and talks HTTP to it."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from clientgraph.app import create_app
from clientgraph.db.engine import Database
from clientgraph.settings import Settings

from tests.conftest import postgresql_url
from tests.live_server import serve
from tests.replica import StreamingReplica, running_replica
from tests.server_process import free_port
from tests.support import APP_ROLE, OWNER_URLS, Api, eventually, new_firm_served, settings_for
from tests.test_metrics import count, scrape
from tests.test_serve import Served, clientgraph_serve

ACCOUNTS = "{ accounts(first: 50) { totalCount nodes { name } } }"
CHECK_INTERVAL_S = 0.1
MAX_LAG_S = 3.0
REPLICA_LOGGER = "clientgraph.db"


@pytest.fixture(scope="module")
async def direct_url() -> AsyncIterator[str]:
    """A database of this module's own: the tables' owner, straight to the primary."""
    async with postgresql_url() as url:
        yield url


@pytest.fixture(scope="module")
async def replica(direct_url: str) -> AsyncIterator[StreamingReplica]:
    async with running_replica(direct_url) as running:
        yield running


@pytest.fixture(scope="module")
async def primary(direct_url: str) -> AsyncIterator[Database]:
    """The app role's connections to the primary, for setting up firms."""
    url = settings_for(direct_url).server_database_url()
    OWNER_URLS[url] = direct_url
    db = Database(url)
    yield db
    await db.dispose()


def replica_settings(direct_url: str, replica: StreamingReplica, **overrides: Any) -> Settings:
    overrides.setdefault("replica_check_interval_s", CHECK_INTERVAL_S)
    overrides.setdefault("replica_max_lag_s", MAX_LAG_S)
    overrides.setdefault("metrics_allow_ips", "127.0.0.1")
    return settings_for(
        direct_url, replica_url=replica.url(direct_url), outbox_relay=False, **overrides
    )


@contextlib.asynccontextmanager
async def served_firm(primary: Database, settings: Settings) -> AsyncIterator[Api]:
    """A firm of its own, its owner talking HTTP to a server built from `settings`, once the
    server's watcher finds the replica serving."""
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        serve(app) as port,
        new_firm_served(primary, port) as api,
    ):
        await eventually(lambda: replica_state(api, "serving"), timeout=10)
        yield api


async def replica_state(api: Api, state: str) -> bool:
    response = await api.http.get("/readyz")
    return response.json().get("replica") == state


@pytest.fixture
async def api(primary: Database, replica: StreamingReplica, direct_url: str) -> AsyncIterator[Api]:
    await replica.caught_up(direct_url)
    async with served_firm(primary, replica_settings(direct_url, replica)) as client:
        yield client


async def colleague_of(api: Api, replica: StreamingReplica, direct_url: str) -> str:
    """A token of a new user of `api`'s firm who sees every account and has written nothing,
    once the replica shows them."""
    _, token = await api.staff("VIEW_ALL_ACCOUNTS")
    await replica.caught_up(direct_url)
    return token


async def account_names(api: Api, token: str | None = None) -> list[str]:
    accounts = (await api.data(ACCOUNTS, token=token))["accounts"]
    return sorted(node["name"] for node in accounts["nodes"])


READS = "clientgraph_replica_reads_total"


async def replica_reads(api: Api, server: str, reason: str) -> float:
    """Queries this process sent to `server` for `reason`, as `/metrics` counts them."""
    return count(await scrape(api), READS, server=server, reason=reason)


async def test_a_planned_read_is_served_by_the_replica(
    api: Api, replica: StreamingReplica, direct_url: str
) -> None:
    colleague = await colleague_of(api, replica, direct_url)
    await api.create_account("Fjord Fiskeri")
    await replica.caught_up(direct_url)
    scans_before = await replica.tables_read(direct_url)

    response = await api.post(ACCOUNTS, token=colleague)

    assert response.status_code == 200, response.text
    assert response.headers["X-Read-Path"] == "planned"
    assert response.json()["data"]["accounts"]["nodes"] == [{"name": "Fjord Fiskeri"}]

    async def read_again_counted_on_replica() -> bool:
        """A standby's backend reports its scans at most once a second, at a transaction's
        end, and ten seconds after it falls idle: each read gives it the chance."""
        assert (await api.post(ACCOUNTS, token=colleague)).status_code == 200
        return await more_scans(replica, direct_url, scans_before)

    await eventually(read_again_counted_on_replica)


async def more_scans(replica: StreamingReplica, direct_url: str, than: int) -> bool:
    return await replica.tables_read(direct_url) > than


async def test_operators_see_the_replica_serving_a_read_and_how_far_behind_it_is(
    api: Api, replica: StreamingReplica, direct_url: str
) -> None:
    colleague = await colleague_of(api, replica, direct_url)
    served_before = await replica_reads(api, "replica", "serving")

    assert (await api.post(ACCOUNTS, token=colleague)).status_code == 200

    text = await scrape(api)
    assert count(text, READS, server="replica", reason="serving") == served_before + 1
    assert count(text, "clientgraph_replica_state", state="serving") == 1
    assert count(text, "clientgraph_replica_state", state="lagging") == 0
    assert 0 <= count(text, "clientgraph_replica_lag_seconds") <= MAX_LAG_S


async def test_a_caller_reads_their_own_write_at_once_while_others_read_the_replica(
    api: Api, replica: StreamingReplica, direct_url: str
) -> None:
    """Replay paused before the write: the replica cannot show it, so the writer's payload and
    next read came from the primary, while a colleague at the same moment was served by the
    replica (within the lag it may have), without the write."""
    colleague = await colleague_of(api, replica, direct_url)
    await replica.pause_replay(direct_url)
    try:
        payload = await api.create_account("Written Just Now")
        own_read = await account_names(api)
        colleagues_read = await account_names(api, colleague)
    finally:
        await replica.resume_replay(direct_url)

    assert payload["name"] == "Written Just Now"
    assert own_read == ["Written Just Now"]
    assert colleagues_read == []


async def test_a_writers_read_sent_to_the_primary_is_counted_as_read_your_writes(
    api: Api, replica: StreamingReplica, direct_url: str
) -> None:
    await replica.pause_replay(direct_url)
    try:
        await api.create_account("Counted")
        before = await replica_reads(api, "primary", "read_your_writes")
        await account_names(api)
        after = await replica_reads(api, "primary", "read_your_writes")
    finally:
        await replica.resume_replay(direct_url)

    assert after == before + 1


async def test_the_writer_reads_from_the_replica_again_once_it_shows_the_write(
    api: Api, replica: StreamingReplica, direct_url: str
) -> None:
    await api.create_account("Replayed")
    await replica.caught_up(direct_url)
    scans_before = await replica.tables_read(direct_url)

    async def read_on_replica() -> bool:
        assert await account_names(api) == ["Replayed"]
        return await more_scans(replica, direct_url, scans_before)

    await eventually(read_on_replica)


async def test_reads_go_to_the_primary_while_the_replica_lags(
    api: Api, replica: StreamingReplica, direct_url: str
) -> None:
    colleague = await colleague_of(api, replica, direct_url)
    await replica.pause_replay(direct_url)
    try:
        await api.create_account("Written While Paused")
        await eventually(lambda: replica_state(api, "lagging"), timeout=MAX_LAG_S + 10)
        lagging_before = await replica_reads(api, "primary", "lagging")
        colleagues_read = await account_names(api, colleague)
        text = await scrape(api)
    finally:
        await replica.resume_replay(direct_url)

    assert colleagues_read == ["Written While Paused"]
    assert count(text, READS, server="primary", reason="lagging") == lagging_before + 1
    assert count(text, "clientgraph_replica_state", state="lagging") == 1
    assert count(text, "clientgraph_replica_lag_seconds") > MAX_LAG_S


async def test_reads_answer_from_the_primary_when_the_replica_stops(
    primary: Database,
    replica: StreamingReplica,
    direct_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The watcher checks rarely here, so the replica is still taken for serving when it
    stops: the read fails there and runs again on the primary, and the replica is set aside
    (logged once) until a check reaches it again."""
    settings = replica_settings(
        direct_url, replica, replica_check_interval_s=30.0, replica_max_lag_s=60.0
    )
    async with served_firm(primary, settings) as api:
        colleague = await colleague_of(api, replica, direct_url)
        await api.create_account("Still Here")
        await replica.caught_up(direct_url)
        assert await account_names(api, colleague) == ["Still Here"]
        fallbacks_before = count(await scrape(api), "clientgraph_replica_fallbacks_total")
        await replica.stop()
        try:
            with caplog.at_level(logging.WARNING, logger=REPLICA_LOGGER):
                reads = [await account_names(api, colleague) for _ in range(3)]
            set_aside = await replica_state(api, "unreachable")
            text = await scrape(api)
        finally:
            await replica.start()

    assert reads == [["Still Here"]] * 3
    assert set_aside
    assert count(text, "clientgraph_replica_fallbacks_total") == fallbacks_before + 1
    assert count(text, READS, server="primary", reason="unreachable") >= 2
    unreachable = [
        record for record in caplog.records if "read replica: unreachable" in record.getMessage()
    ]
    assert len(unreachable) == 1, [record.getMessage() for record in caplog.records]


async def test_reads_go_to_the_primary_once_the_replica_is_promoted(
    primary: Database, direct_url: str
) -> None:
    """A standby of this test's own, since a promoted one follows the primary no more: once
    promoted, the account written afterwards on the primary is in a colleague's read, which
    the former replica would not have; each read is counted with the reason."""
    async with contextlib.AsyncExitStack() as stack:
        promoted = await stack.enter_async_context(running_replica(direct_url))
        settings = replica_settings(direct_url, promoted)
        api = await stack.enter_async_context(served_firm(primary, settings))
        _, colleague = await api.staff("VIEW_ALL_ACCOUNTS")
        await promoted.promote(direct_url)
        await eventually(lambda: replica_state(api, "not_in_recovery"), timeout=10)
        await api.create_account("After The Promotion")
        before = await replica_reads(api, "primary", "not_in_recovery")
        colleagues_read = await account_names(api, colleague)
        text = await scrape(api)

    assert colleagues_read == ["After The Promotion"]
    assert count(text, READS, server="primary", reason="not_in_recovery") == before + 1
    assert count(text, "clientgraph_replica_state", state="not_in_recovery") == 1


SHARED_MAX_LAG_S = 20.0
"""Long enough for a paused replica to go on serving the colleague throughout the test."""


@pytest.fixture(scope="module")
def two_processes(
    direct_url: str,
    replica: StreamingReplica,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[list[Served]]:
    """Two `clientgraph serve` processes reading from the replica, sharing one Redis under a
    key prefix of their own."""
    env = {
        "DATABASE_URL": direct_url,
        "CLIENTGRAPH_APP_ROLE": APP_ROLE,
        "REDIS_URL": redis_url,
        "CLIENTGRAPH_REDIS_KEY_PREFIX": f"clientgraph-test-{uuid.uuid4().hex[:12]}",
        "CLIENTGRAPH_REPLICA_URL": replica.url(direct_url),
        "CLIENTGRAPH_REPLICA_CHECK_INTERVAL_S": str(CHECK_INTERVAL_S),
        "CLIENTGRAPH_REPLICA_MAX_LAG_S": str(SHARED_MAX_LAG_S),
    }
    directory = tmp_path_factory.mktemp("replica-processes")
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(clientgraph_serve(directory, env=env)) for _ in range(2)]


async def test_a_write_through_one_process_is_read_through_another_from_the_primary(
    primary: Database, replica: StreamingReplica, direct_url: str, two_processes: list[Served]
) -> None:
    """Replay paused: the second process, which did not see the write, learns it from Redis
    and reads the writer's query on the primary, while it serves a colleague from the
    replica, without the write."""
    first, second = (served.port for served in two_processes)
    async with (
        new_firm_served(primary, first) as writer,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{second}") as http,
    ):
        reader = dataclasses.replace(writer, http=http)
        for api in (writer, reader):
            await eventually(lambda api=api: replica_state(api, "serving"), timeout=10)
        colleague = await colleague_of(writer, replica, direct_url)
        await replica.pause_replay(direct_url)
        try:
            await writer.create_account("Written On The First")
            own_read = await account_names(reader)
            colleagues_read = await account_names(reader, colleague)
        finally:
            await replica.resume_replay(direct_url)

    assert own_read == ["Written On The First"]
    assert colleagues_read == []


async def test_reads_go_to_the_primary_while_redis_cannot_tell_who_wrote(
    primary: Database, replica: StreamingReplica, direct_url: str
) -> None:
    settings = replica_settings(direct_url, replica, redis_url=f"redis://127.0.0.1:{free_port()}")
    async with served_firm(primary, settings) as api:
        colleague = await colleague_of(api, replica, direct_url)
        before = await replica_reads(api, "primary", "writes_unknown")
        assert await account_names(api, colleague) == []
        after = await replica_reads(api, "primary", "writes_unknown")

    assert after == before + 1


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"database_url": "sqlite+aiosqlite:///./x.db"}, "needs a PostgreSQL DATABASE_URL"),
        ({"replica_url": "mysql://replica/clientgraph"}, "must be a PostgreSQL URL"),
        ({"replica_check_interval_s": 5.0, "replica_max_lag_s": 5.0}, "must be shorter"),
    ],
)
def test_a_replica_setting_that_cannot_work_is_refused(
    overrides: dict[str, Any], problem: str
) -> None:
    values = {
        "database_url": "postgresql+asyncpg://owner@primary/clientgraph",
        "replica_url": "postgresql://replica:5433/clientgraph",
        **overrides,
    }
    with pytest.raises(ValueError, match=problem):
        Settings(secret="s" * 32, **values)


def test_the_replica_is_read_as_the_server_reads_the_primary() -> None:
    """Row-level security binds the app role: the replica's reads connect as the primary's
    do, through the same driver, whatever user its URL names."""
    settings = Settings(
        database_url="postgresql+asyncpg://owner:secret@primary:5432/clientgraph",
        app_role="clientgraph_app",
        app_role_password="app-password",
        replica_url="postgresql://someone@replica:5433",
        secret="s" * 32,
    )

    assert settings.server_replica_url() == (
        "postgresql+asyncpg://clientgraph_app:app-password@replica:5433/clientgraph"
    )


def test_without_a_replica_url_there_is_no_replica() -> None:
    settings = Settings(
        database_url="postgresql+asyncpg://owner@primary/clientgraph",
        replica_url="",
        secret="s" * 32,
    )

    assert settings.server_replica_url() is None
