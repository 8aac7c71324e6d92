"""Many distinct large documents leave a worker's memory within the caches' byte budgets: a
real `clientgraph serve` is sent valid mutations, every one new (80 of about 0.9 MB each, or
40 of 5,000 tokens each), and its resident memory is read before and after (issue 14 point 4:
with the caches bounded by count alone, 80 such mutations grew a worker by 144 MB in the
probe, by 208 MiB here)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import psutil
import pytest
from clientgraph.auth.access_tokens import issue_token
from clientgraph.db.engine import Database
from clientgraph.db.migrate import upgrade
from clientgraph.resolvers.firms import create_firm

from tests.support import SECRET
from tests.test_serve import clientgraph_serve

LARGE_DOCUMENTS = 80
DOCUMENT_CHARACTERS = 900_000
MANY_TOKEN_DOCUMENTS = 40
RSS_GROWTH_LIMIT_MIB = 80
"""README's figure (Caches): what the caches of documents and persisted queries may hold at
their default budgets (40 MiB of estimated bytes), with room for the allocator's own."""
MIB = 1024 * 1024


@pytest.fixture(scope="module")
async def server_directory(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
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
    long, which the mutation refuses (userError TOO_LONG) without writing anything."""
    name = f"{number:06d}" + "x" * DOCUMENT_CHARACTERS
    return (
        f'mutation {{ createContact(input: {{firstName: "{name}", lastName: "Large"}}) '
        "{ userErrors { code } } }"
    )


def many_token_mutation(number: int) -> str:
    """A valid mutation of about 5,000 tokens in 60 KB: a list of e-mail addresses far too
    long, which is refused before anything runs. Parsed with its locations, each token takes
    about 500 bytes: 2.5 MB per document in the generic path's cache."""
    emails = ", ".join(f'"{number}@example.com"' for _ in range(4900))
    return (
        f'mutation {{ createContact(input: {{firstName: "Many", lastName: "Tokens", '
        f"extraEmails: [{emails}]}}) {{ userErrors {{ code }} }} }}"
    )


def resident_mib(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / MIB


def rss_growth_mib(directory: Path, token: str, documents: list[str]) -> float:
    """A worker's growth over `documents`, after one document like them has warmed it up
    (every answer 200, in GraphQL's shape: data, or top-level errors)."""
    with (
        clientgraph_serve(directory) as server,
        httpx.Client(
            base_url=f"http://127.0.0.1:{server.port}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ) as http,
    ):

        def send(document: str) -> None:
            answer = http.post("/graphql", json={"query": document})
            assert answer.status_code == 200, answer.text
            assert answer.json().keys() & {"data", "errors"}

        pid = server.worker_pids()[0]
        send(documents[0])
        before = resident_mib(pid)
        for document in documents[1:]:
            send(document)
        return resident_mib(pid) - before


def test_distinct_large_documents_grow_a_worker_less_than_the_stated_figure(
    server_directory: tuple[Path, str],
) -> None:
    """Bounded by count alone, the caches grew this worker by 208 MiB."""
    directory, token = server_directory
    documents = [large_mutation(number) for number in range(LARGE_DOCUMENTS + 1)]

    growth = rss_growth_mib(directory, token, documents)

    assert growth < RSS_GROWTH_LIMIT_MIB, f"the worker grew by {growth:.0f} MiB"


def test_distinct_documents_of_many_tokens_grow_a_worker_less_than_the_stated_figure(
    server_directory: tuple[Path, str],
) -> None:
    """A document's memory goes by its tokens more than by its length: bounded by count
    alone, the caches grew this worker by 127 MiB."""
    directory, token = server_directory
    documents = [many_token_mutation(number) for number in range(MANY_TOKEN_DOCUMENTS + 1)]

    growth = rss_growth_mib(directory, token, documents)

    assert growth < RSS_GROWTH_LIMIT_MIB, f"the worker grew by {growth:.0f} MiB"
