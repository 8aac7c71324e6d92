"""What the API tells a stranger about its schema (API.md §7): field suggestions ("Did you
mean …?") only in development mode, and introspection that can be switched off."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from clientgraph.app import create_app
from clientgraph.settings import Settings

from tests.support import SECRET, Api, without_cost

OpenClient = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]

MISSPELT = {
    "a field": ("{ viewer { user { nam } } }", None, "'name'"),
    "an argument": ("{ accounts(frist: 1) { totalCount } }", None, "'first'"),
    "an enum literal": (
        "{ accounts(filter: {status: [ACTIV]}) { totalCount } }",
        None,
        "'ACTIVE'",
    ),
    "a type in a variable definition": (
        "query($f: AccountFiltr) { accounts(filter: $f) { totalCount } }",
        None,
        "'AccountFilter'",
    ),
    "an enum value in a variable": (
        "query($s: [AccountStatus!]) { accounts(filter: {status: $s}) { totalCount } }",
        {"s": ["ACTIV"]},
        "'ACTIVE'",
    ),
    "an input field in a variable": (
        "mutation($input: CreateAccountInput!) { createAccount(input: $input) { account { id } } }",
        {"input": {"name": "Acme", "custmerNumber": "7"}},
        "'customerNumber'",
    ),
}
INTROSPECTION = {
    "__schema": "{ __schema { queryType { name } } }",
    "__type": '{ __type(name: "Account") { fields { name } } }',
    "__schema in a fragment": "query { ...q } fragment q on Query { __schema { types { name } } }",
}


@pytest.fixture
def client_with(api: Api) -> OpenClient:
    """Opens a client on an app of the test's database with the given settings."""

    @asynccontextmanager
    async def open_client(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        settings = Settings(database_url=api.db.url, secret=SECRET, **overrides)
        transport = httpx.ASGITransport(app=create_app(settings, api.db))
        headers = {"Authorization": f"Bearer {api.token}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", headers=headers
        ) as http:
            yield http

    return open_client


async def errors_of(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    response = await http.post("/graphql", json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body.get("data") is None, body
    return body["errors"]


# --- suggestions -----------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "variables", "suggested"), MISSPELT.values(), ids=MISSPELT)
async def test_a_misspelt_name_gets_no_suggestion_by_default(
    client_with: OpenClient, query: str, variables: dict[str, Any] | None, suggested: str
) -> None:
    async with client_with() as http:
        errors = await errors_of(http, query, variables)

    assert errors
    for error in errors:
        assert "Did you mean" not in error["message"]
        assert suggested not in error["message"]


@pytest.mark.parametrize(("query", "variables", "suggested"), MISSPELT.values(), ids=MISSPELT)
async def test_a_misspelt_name_gets_a_suggestion_in_development_mode(
    client_with: OpenClient, query: str, variables: dict[str, Any] | None, suggested: str
) -> None:
    async with client_with(dev=True) as http:
        errors = await errors_of(http, query, variables)

    assert any(
        "Did you mean" in error["message"] and suggested in error["message"] for error in errors
    ), errors


async def test_a_misspelt_field_keeps_its_code_without_the_suggestion(
    client_with: OpenClient,
) -> None:
    async with client_with() as http:
        errors = await errors_of(http, "{ viewer { user { nam } } }")

    assert [(e["message"], e["extensions"]["code"]) for e in errors] == [
        ("Cannot query field 'nam' on type 'User'.", "GRAPHQL_VALIDATION_FAILED")
    ]


async def test_development_mode_is_the_dev_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIENTGRAPH_DEV", "1")

    assert Settings().dev is True
    assert Settings.model_fields["dev"].default is False


# --- introspection ---------------------------------------------------------------------------


async def test_introspection_is_on_by_default(client_with: OpenClient) -> None:
    async with client_with() as http:
        response = await http.post("/graphql", json={"query": INTROSPECTION["__schema"]})

    assert without_cost(response.json()) == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


@pytest.mark.parametrize("query", INTROSPECTION.values(), ids=INTROSPECTION)
async def test_introspection_switched_off_is_forbidden(client_with: OpenClient, query: str) -> None:
    async with client_with(introspection=False) as http:
        errors = await errors_of(http, query)

    assert errors
    assert {error["extensions"]["code"] for error in errors} == {"FORBIDDEN"}


async def test_typename_still_works_with_introspection_switched_off(
    client_with: OpenClient,
) -> None:
    async with client_with(introspection=False) as http:
        response = await http.post(
            "/graphql", json={"query": "{ __typename viewer { __typename user { __typename } } }"}
        )

    assert without_cost(response.json()) == {
        "data": {
            "__typename": "Query",
            "viewer": {"__typename": "Viewer", "user": {"__typename": "User"}},
        }
    }


async def test_introspection_is_the_introspection_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLIENTGRAPH_INTROSPECTION", "0")

    assert Settings().introspection is False
    assert Settings.model_fields["introspection"].default is True
