"""Persisted documents (issue 8, point 5): Apollo's automatic persisted queries, and the
registered-only mode. Through HTTP, as an Apollo client sends them: POST with
`extensions.persistedQuery`, and GET with `extensions` in the query string."""

from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from clientgraph.app import create_app
from clientgraph.caches import ENTRY_OVERHEAD_BYTES

from tests.support import Api, settings_for

CLIENTGRAPH = str(Path(sys.executable).with_name("clientgraph"))
ACCOUNTS = "query Names { accounts(first: 5) { nodes { name } } }"
NESTED = (
    "query Nested($first: Int) { accounts(first: $first) "
    "{ nodes { relatedAccounts { relatedAccounts { name } } } } }"
)
NOT_FOUND = {
    "message": "PersistedQueryNotFound",
    "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
}

APOLLO_ACCEPT = "application/graphql-response+json,application/json;q=0.9"
"""What Apollo Client's GET sends; a browser's text/html (or */*) without a query gets
GraphiQL."""


def sha256(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def persisted(document: str, version: int = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": sha256(document)}}


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


class Client:
    """An app instance (one worker) of the test's database, as the firm's owner."""

    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {token}"}

    async def post(self, payload: dict[str, Any]) -> httpx.Response:
        return await self.http.post("/graphql", json=payload, headers=self.headers)

    async def by_hash(
        self, document: str, variables: dict[str, Any] | None = None
    ) -> httpx.Response:
        return await self.post({"extensions": persisted(document), "variables": variables or {}})

    async def with_document(
        self, document: str, variables: dict[str, Any] | None = None
    ) -> httpx.Response:
        payload = {"query": document, "extensions": persisted(document)}
        return await self.post({**payload, "variables": variables or {}})

    async def get(self, params: dict[str, str]) -> httpx.Response:
        headers = {**self.headers, "Accept": APOLLO_ACCEPT}
        return await self.http.get("/graphql", params=params, headers=headers)


@asynccontextmanager
async def app_for(api: Api, **overrides: Any) -> AsyncIterator[Client]:
    settings = settings_for(api.db.url, **overrides)
    transport = httpx.ASGITransport(app=create_app(settings, api.db))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield Client(http, api.token)


@pytest.fixture
async def client(api: Api) -> AsyncIterator[Client]:
    async with app_for(api) as opened:
        yield opened


@pytest.fixture
async def named_account(api: Api) -> str:
    await api.create_account("Acme")
    return "Acme"


async def test_a_hash_the_server_does_not_know_answers_persisted_query_not_found(
    client: Client,
) -> None:
    response = await client.by_hash(ACCOUNTS)

    assert response.status_code == 200
    assert response.json() == {"errors": [NOT_FOUND]}


async def test_a_document_sent_with_its_hash_is_kept_and_then_runs_from_the_hash_alone(
    client: Client, named_account: str
) -> None:
    assert (await client.by_hash(ACCOUNTS)).json() == {"errors": [NOT_FOUND]}

    registering = await client.with_document(ACCOUNTS)
    by_hash = await client.by_hash(ACCOUNTS)

    expected = {"accounts": {"nodes": [{"name": named_account}]}}
    assert registering.status_code == 200 and registering.json()["data"] == expected
    assert by_hash.status_code == 200 and by_hash.json()["data"] == expected


@pytest.mark.parametrize(
    ("planned_reads", "read_path"),
    [(True, "planned"), (False, "generic")],
    ids=["planned", "generic"],
)
async def test_a_document_run_from_its_hash_reaches_either_read_path(
    api: Api, named_account: str, planned_reads: bool, read_path: str
) -> None:
    async with app_for(api, planned_reads=planned_reads) as client:
        await client.with_document(ACCOUNTS)
        by_post = await client.by_hash(ACCOUNTS)
        by_get = await client.get({"extensions": orjson.dumps(persisted(ACCOUNTS)).decode()})

    for response in (by_post, by_get):
        assert response.headers["x-read-path"] == read_path
        assert response.json()["data"] == {"accounts": {"nodes": [{"name": named_account}]}}


async def test_a_document_whose_hash_does_not_match_is_refused_and_not_kept(
    client: Client,
) -> None:
    other = "{ __typename }"
    response = await client.post({"query": other, "extensions": persisted(ACCOUNTS)})

    assert response.status_code == 400
    assert codes(response.json()) == ["PERSISTED_QUERY_HASH_MISMATCH"]
    assert (await client.by_hash(ACCOUNTS)).json() == {"errors": [NOT_FOUND]}


@pytest.mark.parametrize(
    "extensions",
    [
        {"persistedQuery": {"version": 2, "sha256Hash": sha256(ACCOUNTS)}},
        {"persistedQuery": {"version": 1, "sha256Hash": "../../etc/passwd"}},
        {"persistedQuery": {"version": 1, "sha256Hash": sha256(ACCOUNTS).upper()}},
        {"persistedQuery": {"version": 1}},
        {"persistedQuery": "yes"},
    ],
    ids=["version-2", "not-a-hash", "uppercase", "no-hash", "not-an-object"],
)
async def test_a_malformed_persisted_query_is_a_bad_request(
    client: Client, extensions: dict[str, Any]
) -> None:
    response = await client.post({"extensions": extensions})

    assert response.status_code == 400
    assert codes(response.json()) == ["BAD_REQUEST"]


async def test_the_get_form_runs_a_kept_document_from_its_hash(
    client: Client, named_account: str
) -> None:
    await client.with_document(ACCOUNTS)

    response = await client.get(
        {"extensions": orjson.dumps(persisted(ACCOUNTS)).decode(), "operationName": "Names"}
    )

    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"accounts": {"nodes": [{"name": named_account}]}}


async def test_the_get_form_answers_not_found_for_an_unknown_hash(client: Client) -> None:
    response = await client.get({"extensions": orjson.dumps(persisted(ACCOUNTS)).decode()})

    assert response.status_code == 200
    assert response.json() == {"errors": [NOT_FOUND]}


async def test_a_kept_document_still_obeys_the_node_limit_for_its_variables(
    client: Client,
) -> None:
    assert codes((await client.with_document(NESTED, {"first": 1})).json()) == []

    refused = await client.by_hash(NESTED, {"first": 50})

    assert codes(refused.json()) == ["QUERY_TOO_COMPLEX"]
    assert refused.json()["data"] is None


async def test_a_kept_mutation_sent_by_hash_over_get_is_refused_as_any_get_mutation(
    client: Client,
) -> None:
    mutation = 'mutation { createAccount(input: {name: "Via GET"}) { account { id } } }'
    await client.with_document(mutation)
    created = await client.post({"query": "{ accounts { totalCount } }"})

    response = await client.get({"extensions": orjson.dumps(persisted(mutation)).decode()})

    assert response.status_code == 400
    assert codes(response.json()) == ["BAD_REQUEST"]
    after = await client.post({"query": "{ accounts { totalCount } }"})
    assert after.json()["data"] == created.json()["data"]


async def test_many_distinct_documents_keep_memory_bounded(api: Api) -> None:
    """An attacker sending ever new documents only evicts the oldest."""
    documents = [f"query Q{number} {{ __typename }}" for number in range(5)]
    async with app_for(api, persisted_queries_max_count=3) as client:
        for document in documents:
            assert (await client.with_document(document)).status_code == 200

        found = [(await client.by_hash(document)).json() for document in documents]

    assert [body == {"errors": [NOT_FOUND]} for body in found] == [True, True, False, False, False]


async def test_the_byte_bound_evicts_documents_as_well(api: Api) -> None:
    big = "query Big { __typename }" + " " * 460
    small = "query Small { __typename }"
    budget = len(big) + ENTRY_OVERHEAD_BYTES + 10
    async with app_for(api, persisted_queries_max_bytes=budget) as client:
        await client.with_document(small)
        await client.with_document(big)

        small_found = (await client.by_hash(small)).json()
        big_found = (await client.by_hash(big)).json()

    assert small_found == {"errors": [NOT_FOUND]}
    assert big_found["data"] == {"__typename": "Query"}


async def test_a_document_too_large_to_keep_runs_but_is_not_kept(api: Api) -> None:
    large = "query Large { __typename }" + " " * 200
    async with app_for(api, persisted_queries_max_document_bytes=200) as client:
        sent_whole = await client.with_document(large)
        by_hash = await client.by_hash(large)

    assert sent_whole.json()["data"] == {"__typename": "Query"}
    assert by_hash.json() == {"errors": [NOT_FOUND]}


async def test_two_workers_on_one_redis_share_kept_documents(
    api: Api, redis_url: str, redis_key_prefix: str, named_account: str
) -> None:
    shared = {"redis_url": redis_url, "redis_key_prefix": redis_key_prefix}
    async with app_for(api, **shared) as one, app_for(api, **shared) as other:
        await one.with_document(ACCOUNTS)

        response = await other.by_hash(ACCOUNTS)

    assert response.json()["data"] == {"accounts": {"nodes": [{"name": named_account}]}}


async def test_an_unreachable_redis_keeps_documents_in_the_process_and_logs_it(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="clientgraph.persisted")
    async with app_for(api, redis_url="redis://127.0.0.1:1/0") as client:
        await client.with_document("{ __typename }")
        response = await client.by_hash("{ __typename }")

    assert response.json()["data"] == {"__typename": "Query"}
    assert any("Redis unreachable" in record.getMessage() for record in caplog.records)


async def test_persisted_queries_switched_off_are_refused(api: Api) -> None:
    async with app_for(api, persisted_queries="off") as client:
        refused = await client.by_hash(ACCOUNTS)
        plain = await client.post({"query": "{ __typename }"})

    assert codes(refused.json()) == ["PERSISTED_QUERY_NOT_SUPPORTED"]
    assert plain.json()["data"] == {"__typename": "Query"}


# --- the registered-only mode ----------------------------------------------------------------


@pytest.fixture
def registered(tmp_path: Path) -> Path:
    """A directory with ACCOUNTS registered as `clientgraph register-documents` does it."""
    source = tmp_path / "names.graphql"
    source.write_text(ACCOUNTS)
    done = subprocess.run(
        [CLIENTGRAPH, "register-documents", str(source), "--dir", str(tmp_path / "registered")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.split() == [sha256(ACCOUNTS), str(source)]
    return tmp_path / "registered"


async def test_registered_only_mode_refuses_an_ad_hoc_document(api: Api, registered: Path) -> None:
    async with app_for(
        api, persisted_queries="registered", persisted_queries_dir=registered
    ) as client:
        plain = await client.post({"query": "{ __typename }"})
        with_hash = await client.with_document("{ __typename }")
        get = await client.get({"query": "{ __typename }"})
        then_by_hash = await client.by_hash("{ __typename }")

    for response in (plain, with_hash, get):
        assert response.status_code == 400
        assert codes(response.json()) == ["PERSISTED_QUERY_NOT_ALLOWED"]
    assert then_by_hash.json() == {"errors": [NOT_FOUND]}


async def test_registered_only_mode_runs_a_registered_document_by_hash_or_whole(
    api: Api, registered: Path, named_account: str
) -> None:
    async with app_for(
        api, persisted_queries="registered", persisted_queries_dir=registered
    ) as client:
        answers = [
            await client.by_hash(ACCOUNTS),
            await client.with_document(ACCOUNTS),
            await client.post({"query": ACCOUNTS}),
            await client.get({"extensions": orjson.dumps(persisted(ACCOUNTS)).decode()}),
        ]

    expected = {"accounts": {"nodes": [{"name": named_account}]}}
    assert [response.json().get("data") for response in answers] == [expected] * 4


async def test_a_document_registered_while_the_server_runs_is_known_at_once(
    api: Api, tmp_path: Path
) -> None:
    directory = tmp_path / "registered"
    async with app_for(
        api, persisted_queries="registered", persisted_queries_dir=directory
    ) as client:
        before = await client.by_hash("{ __typename }")
        source = tmp_path / "typename.graphql"
        source.write_text("{ __typename }")
        subprocess.run(
            [CLIENTGRAPH, "register-documents", str(source), "--dir", str(directory)],
            check=True,
            capture_output=True,
            timeout=60,
        )
        after = await client.by_hash("{ __typename }")

    assert before.json() == {"errors": [NOT_FOUND]}
    assert after.json()["data"] == {"__typename": "Query"}


async def test_an_apollo_manifest_registers_its_operations(
    api: Api, tmp_path: Path, named_account: str
) -> None:
    manifest = {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            {"id": sha256(ACCOUNTS), "name": "Names", "type": "query", "body": ACCOUNTS}
        ],
    }
    directory = tmp_path / "registered"
    directory.mkdir()
    (directory / "manifest.json").write_bytes(orjson.dumps(manifest))
    async with app_for(
        api, persisted_queries="registered", persisted_queries_dir=directory
    ) as client:
        response = await client.by_hash(ACCOUNTS)

    assert response.json()["data"] == {"accounts": {"nodes": [{"name": named_account}]}}


def test_a_manifest_whose_hash_does_not_match_its_document_is_not_registered(
    tmp_path: Path,
) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(orjson.dumps({sha256("{ a }"): "{ b }"}))

    done = subprocess.run(
        [CLIENTGRAPH, "register-documents", str(manifest), "--dir", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode != 0
    assert "is not the sha256 of its document" in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_registered_only_server_refuses_to_start_on_a_tampered_registration(
    tmp_path: Path,
) -> None:
    from clientgraph.web.persisted import InvalidRegistration, PersistedDocuments

    (tmp_path / f"{sha256('{ a }')}.graphql").write_text("{ b }")
    settings = settings_for(
        "sqlite+aiosqlite:///unused.db",
        persisted_queries="registered",
        persisted_queries_dir=tmp_path,
    )

    with pytest.raises(InvalidRegistration):
        PersistedDocuments(settings)
