"""Registered persisted documents are planned at start-up (issue 17, item 4): the first request
of a registered document by a caller of a kind that existed when the server started finds its
plan cached, and is answered as the same request to a server that planned nothing ahead; a
caller of a kind that did not exist is planned for when they come."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from clientgraph.app import create_app
from clientgraph.web.persisted import register
from prometheus_client import REGISTRY

from tests.support import Api, served_with, settings_for

ACCOUNTS = """query RegisteredAccounts { accounts(first: 20, orderBy: {field: NAME, direction: ASC})
  { totalCount nodes { id name owner { name } teamMembers { name } } } }"""
ACCOUNT = """query RegisteredAccount($id: ID!) { account(id: $id)
  { id name customerNumber relatedAccounts { name } history(first: 5) { nodes { action } } } }"""
DOCUMENTS = {"a list of accounts": ACCOUNTS, "one account by its id": ACCOUNT}

PREPARED_WITHIN_S = 30.0
RARE_RIGHTS = (
    "VIEW_ASSIGNED_ACCOUNTS",
    "DELETE_CLIENT_USERS",
    "IMPORT_ACCOUNTS",
    "READ_AUDIT_FEED",
)
"""A kind of caller no other test makes, whose one user is deleted when the test ends: it does
not exist when the server starts."""
EVERY_KIND = {"plan_ahead_shapes": 10_000}
"""The suite's database holds every test's firms: plan for all their kinds."""

Caller = Callable[[Api], Awaitable[str]]
ENGINE_LOG = "sqlalchemy.engine.Engine"
"""Logs each statement it executes, then whether its compiled form came from the cache
("[cached since …]", "[compiled when planned]") or was made for it ("[generated in …]")."""


def lookups(result: str) -> float:
    return REGISTRY.get_sample_value("clientgraph_plan_cache_lookups_total", {"result": result})


@asynccontextmanager
async def started_with_registered(api: Api, directory: Path) -> AsyncIterator[Api]:
    """A server (its lifespan run) with `directory`'s documents registered, once it has
    planned them; `api`'s firm talking to it."""
    settings = settings_for(api.db.url, persisted_queries_dir=directory, **EVERY_KIND)
    app = create_app(settings, api.db)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as http,
    ):
        async with asyncio.timeout(PREPARED_WITHIN_S):
            while (await http.get("/readyz")).json().get("plans") != "prepared":
                await asyncio.sleep(0.05)
        yield dataclasses.replace(api, http=http)


async def variables_for(api: Api, document: str) -> dict[str, Any]:
    account = await api.create_account("Acme")
    await api.create_account("Bravo")
    return {"id": account["id"]} if "$id" in document else {}


async def the_owner(api: Api) -> str:
    return api.token


async def a_key(api: Api) -> str:
    payload = await api.ok(
        "createApiKey",
        {"name": "Bank feed", "permissions": ["VIEW_ALL_ACCOUNTS"]},
        "key",
    )
    return payload["key"]


async def assigned_only_staff(api: Api) -> str:
    return (await api.staff("VIEW_ASSIGNED_ACCOUNTS"))[1]


@pytest.mark.parametrize("document", DOCUMENTS.values(), ids=DOCUMENTS.keys())
@pytest.mark.parametrize(
    "caller", [the_owner, a_key, assigned_only_staff], ids=lambda caller: caller.__name__
)
async def test_a_first_registered_request_by_a_kind_of_caller_known_at_start_is_a_plan_cache_hit(
    api: Api, tmp_path: Path, document: str, caller: Caller
) -> None:
    register(tmp_path, [document])
    variables = await variables_for(api, document)
    token = await caller(api)

    async with started_with_registered(api, tmp_path) as served:
        misses, hits = lookups("miss"), lookups("hit")
        first = await served.post(document, variables, token)
        missed, hit = lookups("miss") - misses, lookups("hit") - hits
    async with served_with(api, settings_for(api.db.url)) as unregistered:
        expected = await unregistered.post(document, variables, token)

    assert (missed, hit) == (0, 1)
    assert first.headers["X-Read-Path"] == "planned"
    assert first.status_code == expected.status_code == 200
    assert first.json() == expected.json()


@pytest.mark.parametrize("document", DOCUMENTS.values(), ids=DOCUMENTS.keys())
async def test_the_statement_of_a_registered_documents_first_request_was_compiled_at_start(
    api: Api, tmp_path: Path, document: str, caplog: pytest.LogCaptureFixture
) -> None:
    register(tmp_path, [document])
    variables = await variables_for(api, document)

    async with started_with_registered(api, tmp_path) as served:
        caplog.set_level(logging.INFO, "sqlalchemy.engine.Engine")
        await served.post(document, variables)

    logged = [record.getMessage() for record in caplog.records if record.name == ENGINE_LOG]
    [planned] = [at for at, message in enumerate(logged) if message.startswith("SELECT CAST")]
    assert not logged[planned + 1].startswith("[generated in")


@pytest.mark.parametrize("document", DOCUMENTS.values(), ids=DOCUMENTS.keys())
async def test_a_caller_of_a_kind_that_did_not_exist_at_start_is_planned_for_and_answered(
    api: Api, tmp_path: Path, document: str
) -> None:
    register(tmp_path, [document])
    variables = await variables_for(api, document)

    async with started_with_registered(api, tmp_path) as served:
        user_id, token = await api.staff(*RARE_RIGHTS)
        misses = lookups("miss")
        first = await served.post(document, variables, token)
        missed = lookups("miss") - misses
    async with served_with(api, settings_for(api.db.url, planned_reads=False)) as generic:
        expected = await generic.post(document, variables, token)
    await api.ok("deleteUser", {"userId": user_id})

    assert missed == 1
    assert first.headers["X-Read-Path"] == "planned"
    assert first.status_code == expected.status_code == 200
    assert first.json()["data"] == expected.json()["data"]
    assert first.json()["data"] in ({"account": None}, {"accounts": {"totalCount": 0, "nodes": []}})


async def test_a_registered_document_that_does_not_validate_is_left_to_its_requests(
    api: Api, tmp_path: Path
) -> None:
    invalid = "query Invalid { accounts(first: 5) { nodes { noSuchField } } }"
    register(tmp_path, [invalid, ACCOUNTS])

    async with started_with_registered(api, tmp_path) as served:
        answered = await served.execute(invalid)
        listed = await served.post(ACCOUNTS)

    assert answered["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert listed.status_code == 200 and listed.headers["X-Read-Path"] == "planned"
