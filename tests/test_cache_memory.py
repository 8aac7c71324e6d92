"""Many distinct large documents leave a worker's memory within the caches' byte budgets: a
real `clientgraph serve` is sent 80 valid mutations of about 0.9 MB each, every one new, and
its resident memory is read before and after (issue 14 point 4: with the caches bounded by
count alone, the same run grew a worker by 144 MB)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import psutil
import pytest
from clientgraph.auth import issue_token
from clientgraph.db.engine import Database
from clientgraph.db.migrate import upgrade
from clientgraph.resolvers.firms import create_firm

from tests.support import SECRET
from tests.test_serve import clientgraph_serve

DOCUMENTS = 80
DOCUMENT_CHARACTERS = 900_000
RSS_GROWTH_LIMIT_MIB = 64
"""README's figure (Memory): what the caches may hold at their default budgets, and room for
the allocator's own."""
MIB = 1024 * 1024


@pytest.fixture(scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A directory whose `serve.db` is migrated and holds one firm; its owner's token."""
    directory = tmp_path_factory.mktemp("cache-memory")
    url = f"sqlite+aiosqlite:///{directory / 'serve.db'}"
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    try:
        firm_id, user_id = await create_firm(
            db, name="Cache memory", admin_email="caches@example.com", admin_name=None
        )
    finally:
        await db.dispose()
    return directory, issue_token(SECRET, user_id=user_id, firm_id=firm_id, ttl_seconds=3600)


def large_mutation(number: int) -> str:
    """A valid mutation of about 0.9 MB, different for every number: a first name far too
    long, which the mutation refuses (TOO_LONG) without writing anything."""
    name = f"{number:06d}" + "x" * DOCUMENT_CHARACTERS
    return (
        f'mutation {{ createContact(input: {{firstName: "{name}", lastName: "Large"}}) '
        "{ userErrors { code } } }"
    )


def resident_mib(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / MIB


def rss_growth_mib(directory: Path, token: str, env: dict[str, str]) -> tuple[float, list[str]]:
    """The worker's growth over the distinct documents, after one of them has warmed it up;
    and the first user error's code of each answer."""
    codes = []
    with (
        clientgraph_serve(directory, env=env) as server,
        httpx.Client(
            base_url=f"http://127.0.0.1:{server.port}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ) as http,
    ):

        def send(number: int) -> str:
            answer = http.post("/graphql", json={"query": large_mutation(number)})
            answer.raise_for_status()
            return str(answer.json()["data"]["createContact"]["userErrors"][0]["code"])

        pid = server.worker_pids()[0]
        send(DOCUMENTS)
        before = resident_mib(pid)
        codes = [send(number) for number in range(DOCUMENTS)]
        after = resident_mib(pid)
    return after - before, codes


def test_distinct_large_documents_grow_a_worker_less_than_the_stated_figure(
    served: tuple[Path, str],
) -> None:
    directory, token = served

    growth, codes = rss_growth_mib(directory, token, {})

    assert codes == ["TOO_LONG"] * DOCUMENTS
    assert growth < RSS_GROWTH_LIMIT_MIB
