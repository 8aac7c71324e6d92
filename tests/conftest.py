"""Fixtures: one migrated database per backend per test run, a fresh firm per test, and an
HTTP client on the ASGI app (httpx.ASGITransport)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio
from clientgraph.db.engine import Database
from clientgraph.db.migrate import upgrade
from sqlalchemy.engine import make_url

from tests.support import APP_ROLE, OWNER_URLS, Api, asyncpg_dsn, new_firm, settings_for

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
REQUIRE_POSTGRES = os.environ.get("CLIENTGRAPH_REQUIRE_POSTGRES") == "1"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379"
REQUIRE_REDIS = os.environ.get("CLIENTGRAPH_REQUIRE_REDIS") == "1"


async def _postgres_reachable(url: str) -> str | None:
    """None if PostgreSQL answers at `url`, else why not."""
    try:
        connection = await asyncio.wait_for(asyncpg.connect(asyncpg_dsn(url)), timeout=5)
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    await connection.close()
    return None


@contextlib.asynccontextmanager
async def sqlite_url(revision: str = "head") -> AsyncIterator[str]:
    with tempfile.TemporaryDirectory(prefix="clientgraph-test-") as directory:
        url = f"sqlite+aiosqlite:///{Path(directory) / 'test.db'}"
        await asyncio.to_thread(upgrade, url, revision)
        yield url


@contextlib.asynccontextmanager
async def postgresql_url(revision: str = "head") -> AsyncIterator[str]:
    """A database of its own for this run (migrated to `revision`), created on the server and
    dropped afterwards."""
    server_url = os.environ.get("TEST_DATABASE_URL", DEFAULT_POSTGRES_URL)
    problem = await _postgres_reachable(server_url)
    if problem is not None:
        message = f"PostgreSQL not reachable at {server_url}: {problem}"
        if REQUIRE_POSTGRES:
            pytest.fail(message + " (CLIENTGRAPH_REQUIRE_POSTGRES=1)")
        pytest.skip(message)
    name = f"clientgraph_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(asyncpg_dsn(server_url))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(upgrade, url, revision, app_role=APP_ROLE)
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


DATABASE_URLS = {"sqlite": sqlite_url, "postgresql": postgresql_url}


@pytest.fixture(scope="session", params=list(DATABASE_URLS))
async def database(request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    """Every behaviour test runs once per backend, each backend a database of its own.

    The database is the one the server uses: on PostgreSQL it connects as the app role, so
    row-level security binds every request and every direct setup (which names its firm).
    `owner_url(database)` is the tables' owner, for the CLI and for looking past the wall."""
    async with DATABASE_URLS[request.param]() as url:
        server_url = settings_for(url).server_database_url()
        OWNER_URLS[server_url] = url
        db = Database(server_url, pool_size=20)
        yield db
        await db.dispose()


@pytest.fixture
async def api(database: Database) -> AsyncIterator[Api]:
    """An API client acting as the OWNER of a brand-new firm."""
    async with new_firm(database) as client:
        yield client


@pytest.fixture
async def other_firm(database: Database) -> AsyncIterator[Api]:
    async with new_firm(database) as client:
        yield client


@pytest.fixture(scope="session")
async def redis_url() -> str:
    """Redis for the tests that share counters through it: a skip when it does not answer,
    a failure with CLIENTGRAPH_REQUIRE_REDIS=1 (as for PostgreSQL)."""
    url = os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS_URL)
    client = redis.asyncio.from_url(url, socket_connect_timeout=5, socket_timeout=5)
    try:
        await client.ping()
    except Exception as error:
        message = f"Redis not reachable at {url}: {type(error).__name__}: {error}"
        if REQUIRE_REDIS:
            pytest.fail(message + " (CLIENTGRAPH_REQUIRE_REDIS=1)")
        pytest.skip(message)
    finally:
        await client.aclose()
    return url


@pytest.fixture
async def redis_key_prefix(redis_url: str) -> AsyncIterator[str]:
    """A key prefix of this test's own, so parallel runs never share a counter; its keys are
    deleted afterwards."""
    prefix = f"clientgraph-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.asyncio.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
