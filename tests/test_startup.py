"""Starting before the database (issue 7, point 5; issue 13, point 7): every way to run the
service (`clientgraph serve`, uvicorn's `--factory`, gunicorn with uvicorn workers) starts
while PostgreSQL cannot be reached, answers 503 until it can, then migrates the database and
becomes ready; the outbox relay waits for the migrated database instead of polling before.

PostgreSQL only: the database goes down and comes up behind `Proxy` (tests/pg_proxy.py).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import httpx
import pytest
from clientgraph.app import create_app
from clientgraph.auth.access_tokens import issue_token
from clientgraph.db.engine import Database
from clientgraph.db.migrate import upgrade
from clientgraph.resolvers.firms import create_firm
from sqlalchemy.engine import make_url

from tests.pg_proxy import Proxy, direct_url, proxy
from tests.server_process import (
    BIN,
    CLIENTGRAPH,
    free_port,
    logging_process,
    server_environment,
    server_process,
)
from tests.support import APP_ROLE, SECRET, asyncpg_dsn, eventually, settings_for, without_cost
from tests.test_database_faults import assert_service_unavailable

__all__ = ["direct_url", "proxy"]

READY_IN_A_ROW = 10
"""Answers of /readyz in a row, each on a new connection, that make a server of several worker
processes ready: each connection goes to whichever worker accepts it."""


def serve(port: int) -> list[str]:
    return [CLIENTGRAPH, "serve", "--port", str(port)]


def uvicorn_factory(port: int) -> list[str]:
    return [str(BIN / "uvicorn"), "clientgraph.app:create_app", "--factory", "--port", str(port)]


def gunicorn_uvicorn_workers(port: int) -> list[str]:
    return [
        str(BIN / "gunicorn"),
        "--workers",
        "2",
        "--worker-class",
        "uvicorn_worker.UvicornWorker",
        "--bind",
        f"127.0.0.1:{port}",
        "--no-control-socket",
        "clientgraph.app:create_app()",
    ]


LAUNCHERS: dict[str, Callable[[int], list[str]]] = {
    "serve": serve,
    "uvicorn --factory": uvicorn_factory,
    "gunicorn, 2 uvicorn workers": gunicorn_uvicorn_workers,
}


@pytest.fixture
async def empty_database(direct_url: str) -> AsyncIterator[str]:
    """A database that exists but was never migrated."""
    name = f"clientgraph_start_{uuid.uuid4().hex[:12]}"
    server = await asyncpg.connect(asyncpg_dsn(direct_url))
    await server.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(direct_url).set(database=name).render_as_string(hide_password=False)
    finally:
        await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await server.close()


async def _ready_in_a_row(port: int) -> bool:
    for _ in range(READY_IN_A_ROW):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as fresh:
            if (await fresh.get("/readyz")).status_code != 200:
                return False
    return True


async def _owner_token(database_url: str) -> str:
    db = Database(database_url)
    try:
        firm_id, user_id = await create_firm(
            db, name="Late Firm", admin_email="late@example.com", admin_name="Late Owner"
        )
    finally:
        await db.dispose()
    return issue_token(SECRET, user_id=user_id, firm_id=firm_id, ttl_seconds=600)


@pytest.mark.parametrize("launcher", list(LAUNCHERS))
async def test_the_service_starts_while_the_database_is_down_and_is_ready_once_it_is_up(
    launcher: str, empty_database: str, proxy: Proxy, tmp_path: Path
) -> None:
    await proxy.close()
    port = free_port()
    env = server_environment(
        DATABASE_URL=proxy.url(empty_database),
        CLIENTGRAPH_SECRET=SECRET,
        CLIENTGRAPH_APP_ROLE=APP_ROLE,
        CLIENTGRAPH_OUTBOX_POLL_INTERVAL_S="0.1",
    )

    async with server_process(LAUNCHERS[launcher](port), port, env, tmp_path / "log") as server:
        assert_service_unavailable(await server.http.get("/readyz"))
        answer = await server.http.post("/graphql", json={"query": "{ __typename }"})
        assert_service_unavailable(answer)

        await proxy.open()
        await eventually(lambda: _ready_in_a_row(port), timeout=90)
        token = await _owner_token(empty_database)
        response = await server.http.post(
            "/graphql",
            json={"query": "{ viewer { user { name } } }"},
            headers={"Authorization": f"Bearer {token}"},
        )
        log = server.log_text()

    assert without_cost(response.json()) == {"data": {"viewer": {"user": {"name": "Late Owner"}}}}
    assert "database not reachable" in log
    assert "the outbox relay's round failed" not in log
    assert "Traceback" not in log


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


async def test_the_worker_starts_its_relay_once_the_database_is_migrated(
    empty_database: str, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    env = server_environment(
        DATABASE_URL=empty_database,
        CLIENTGRAPH_SECRET=SECRET,
        CLIENTGRAPH_APP_ROLE=APP_ROLE,
        CLIENTGRAPH_OUTBOX_POLL_INTERVAL_S="0.1",
    )

    async with logging_process([CLIENTGRAPH, "worker"], env, log) as worker:

        async def logged(text: str) -> bool:
            assert worker.poll() is None, log.read_text()
            return text in log.read_text()

        await eventually(lambda: logged("waits until the database is ready"))
        await asyncio.to_thread(upgrade, empty_database, app_role=APP_ROLE)
        await eventually(lambda: logged("No SMTP server is configured"))

    assert "the outbox relay's round failed" not in log.read_text()
