"""PostgreSQL backends killed under load (issue 13, point 7): a real `clientgraph serve`
answers concurrent reads (planned and generic) and writes while an admin connection keeps
terminating every connection it holds, and no request ends in a 500 or an internal error.

Terminating a backend reaches the server in every state a connection can be in: idle in the
pool, between two statements of a transaction, in the middle of a statement or of COMMIT, and
after the last statement of a request, while its session closes. Every one of them must end
as a retry on a fresh connection, a 503 that may be sent again, or (for a COMMIT whose outcome
the server cannot learn) COMMIT_OUTCOME_UNKNOWN.

PostgreSQL only: SQLite is a file, whose connections nobody can terminate.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import random
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from clientgraph.auth.access_tokens import issue_token
from clientgraph.db.engine import Database
from clientgraph.resolvers.firms import create_firm

from tests.conftest import postgresql_url
from tests.server_process import (
    CLIENTGRAPH,
    ServerProcess,
    free_port,
    server_environment,
    server_process,
)
from tests.support import APP_ROLE, SECRET, UNTHROTTLED, asyncpg_dsn, eventually

CLIENTS = 8
LOAD_S = 12.0
KILL_EVERY_S = (0.2, 0.7)
ACCOUNTS_SEEDED = 20

PLANNED_READ = "{ accounts(first: 20) { nodes { name owner { name } tags } } }"
GENERIC_READ = (
    '{ __type(name: "Account") { name } '
    "accounts(first: 20) { nodes { name owner { name } tags } } }"
)
"""Introspection is never planned: the same read, answered by Strawberry's executor."""
CREATE_ACCOUNT = (
    "mutation($name: String!) { createAccount(input: {name: $name}) "
    "{ account { name } userErrors { code } } }"
)
CLEAN_ERRORS = frozenset({"SERVICE_UNAVAILABLE", "COMMIT_OUTCOME_UNKNOWN"})
"""What a request may answer when the database fails it: send again (nothing was changed), or
read back first (the commit's outcome is unknown)."""
CONCURRENT_USE = "cannot perform operation: another operation is in progress"
"""asyncpg's error for two tasks using one connection at once. (A connection the server ended
while idle says "cannot switch to state …; another operation (2) is in progress": that is a
loss, retried or answered 503, and logged as one.)"""
KILL_ALL = (
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


@dataclass(frozen=True)
class Answer:
    kind: str
    status: int
    read_path: str | None
    codes: tuple[str, ...]
    has_data: bool


@pytest.fixture(scope="module")
async def owner_url() -> AsyncIterator[str]:
    async with postgresql_url() as url:
        yield url


@pytest.fixture
async def served(owner_url: str, tmp_path: Path) -> AsyncIterator[ServerProcess]:
    """`clientgraph serve` on the database, ready, with a small pool so connections are reused
    (and found dead) often."""
    port = free_port()
    env = server_environment(
        DATABASE_URL=owner_url,
        CLIENTGRAPH_SECRET=SECRET,
        CLIENTGRAPH_APP_ROLE=APP_ROLE,
        CLIENTGRAPH_DB_POOL_SIZE="4",
        CLIENTGRAPH_RATE_LIMIT_NODES_PER_MINUTE=str(UNTHROTTLED),
    )
    command = [CLIENTGRAPH, "serve", "--port", str(port)]
    async with server_process(command, port, env, tmp_path / "serve.log") as server:

        async def ready() -> bool:
            return (await server.http.get("/readyz")).status_code == 200

        await eventually(ready, timeout=60)
        yield server


async def _owner_token(owner_url: str) -> str:
    db = Database(owner_url)
    try:
        firm_id, user_id = await create_firm(
            db,
            name=f"Kills {uuid.uuid4().hex[:8]}",
            admin_email=f"owner-{uuid.uuid4().hex[:8]}@example.com",
            admin_name="Kills Owner",
        )
    finally:
        await db.dispose()
    return issue_token(SECRET, user_id=user_id, firm_id=firm_id, ttl_seconds=3600)


async def _send(http: httpx.AsyncClient, token: str, kind: str, number: int) -> Answer:
    if kind == "write":
        payload: dict[str, Any] = {
            "query": CREATE_ACCOUNT,
            "variables": {"name": f"Written under kills {number}"},
        }
    else:
        payload = {"query": PLANNED_READ if kind == "planned" else GENERIC_READ}
    response = await http.post(
        "/graphql", json=payload, headers={"Authorization": f"Bearer {token}"}
    )
    try:
        body = response.json()
    except ValueError:
        body = {}
    errors = body.get("errors") or []
    codes = tuple(str((error.get("extensions") or {}).get("code")) for error in errors)
    read_path = response.headers.get("x-read-path")
    return Answer(kind, response.status_code, read_path, codes, bool(body.get("data")))


async def _client(
    http: httpx.AsyncClient, token: str, start: int, stop: asyncio.Event, numbers: Any
) -> list[Answer]:
    answers = []
    kinds = itertools.islice(itertools.cycle(("planned", "generic", "write")), start, None)
    for kind in kinds:
        if stop.is_set():
            break
        answers.append(await _send(http, token, kind, next(numbers)))
    return answers


async def _killer(admin: asyncpg.Connection, stop: asyncio.Event) -> int:
    killed = 0
    while not stop.is_set():
        await asyncio.sleep(random.uniform(*KILL_EVERY_S))
        killed += await admin.fetchval(KILL_ALL)
    return killed


async def test_killed_backends_under_concurrent_reads_and_writes_end_cleanly(
    served: ServerProcess, owner_url: str
) -> None:
    token = await _owner_token(owner_url)
    for number in range(ACCOUNTS_SEEDED):
        seeded = await _send(served.http, token, "write", -number - 1)
        assert seeded.status == 200 and not seeded.codes, seeded
    admin = await asyncpg.connect(asyncpg_dsn(owner_url))
    stop = asyncio.Event()
    numbers = itertools.count()
    try:
        killing = asyncio.create_task(_killer(admin, stop))
        clients = [
            asyncio.create_task(_client(served.http, token, start, stop, numbers))
            for start in range(CLIENTS)
        ]
        started = time.monotonic()
        await asyncio.sleep(LOAD_S)
        stop.set()
        answers = [answer for done in await asyncio.gather(*clients) for answer in done]
        killed = await killing
        elapsed = time.monotonic() - started
    finally:
        await admin.close()

    statuses = collections.Counter(answer.status for answer in answers)
    codes = collections.Counter(code for answer in answers for code in answer.codes)
    paths = collections.Counter(
        (answer.kind, answer.read_path) for answer in answers if answer.has_data
    )
    summary = f"{len(answers)} requests in {elapsed:.1f} s, {killed} backends killed: "
    summary += f"statuses {dict(statuses)}, error codes {dict(codes)}, answered {dict(paths)}"
    log = served.log_text()
    assert killed >= LOAD_S, summary
    assert set(statuses) <= {200, 503}, summary
    assert set(codes) <= CLEAN_ERRORS, summary
    assert paths[("planned", "planned")] > 0, summary
    assert paths[("generic", "generic")] > 0, summary
    assert paths[("write", "generic")] > 0, summary
    assert CONCURRENT_USE not in log, log
    assert "Traceback" not in log, log
