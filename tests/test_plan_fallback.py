"""What the planned read path leaves to Strawberry's executor, and how a request says which
path answered it (`X-Read-Path`)."""

from __future__ import annotations

from typing import Any

import pytest
from clientgraph.db.engine import Database

from tests.portal_support import login, portal_contact
from tests.support import Api, count_statements, new_firm, settings_for
from tests.test_plan_parity import (
    ACCOUNT_PAGE,
    DASHBOARD,
    answers,
    assert_same,
    seed_clients,
)

ACCOUNTS_PAGE = """query($first: Int, $after: String) {
  accounts(first: $first, after: $after) { nodes { name } } }"""

TOO_DEEP = (
    "{ " + " { ".join(["accounts", "nodes", "owner"] * 5) + " { __typename" + " }" * 15 + " }"
)
"""Sixteen fields deep: past the depth limit of 12."""


@pytest.fixture
async def clients(api: Api) -> dict[str, Any]:
    return await seed_clients(api)


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        ("{ accounts { nodes { nope } } }", {}, "GRAPHQL_VALIDATION_FAILED"),
        ("{ accounts { ", {}, "GRAPHQL_PARSE_FAILED"),
        (ACCOUNTS_PAGE, {"first": 101}, "BAD_USER_INPUT"),
        (ACCOUNTS_PAGE, {"first": -1}, "BAD_USER_INPUT"),
        (ACCOUNTS_PAGE, {"after": "bm90IGEgY3Vyc29y"}, "BAD_USER_INPUT"),
        (ACCOUNTS_PAGE, {"first": "ten"}, "BAD_USER_INPUT"),
        (
            "{ accounts(first: 100) { nodes { contacts { contact { accounts { "
            "account { contacts { roles } } } } } } } }",
            {},
            "QUERY_TOO_COMPLEX",
        ),
        (
            '{ accounts(filter: {search: "' + "x" * 201 + '"}) { totalCount } }',
            {},
            "BAD_USER_INPUT",
        ),
        (
            "{ " + " ".join(f"a{i}: viewer {{ permissions }}" for i in range(101)) + " }",
            {},
            "QUERY_TOO_COMPLEX",
        ),
        (TOO_DEEP, {}, "QUERY_TOO_COMPLEX"),
        ("{ __schema { queryType { name } } }", {}, None),
        (
            'mutation { createUser(input: {name: "A", email: "a@example.com"}) '
            "{ userErrors { code } } }",
            {},
            None,
        ),
    ],
)
async def test_what_would_give_an_error_or_is_not_a_plain_query_goes_to_the_generic_path(
    api: Api, clients: dict[str, Any], query: str, variables: dict[str, Any], code: str | None
) -> None:
    planned, generic = await answers(api, query, variables)
    assert planned.headers["X-Read-Path"] == "generic"
    assert planned.status_code == generic.status_code
    body = planned.json()
    if code is not None:
        assert body == generic.json()
        assert body["errors"][0]["extensions"]["code"] == code
    else:
        assert "errors" not in body


async def test_an_object_of_more_keys_than_one_sql_call_takes_goes_to_the_generic_path(
    api: Api, clients: dict[str, Any]
) -> None:
    aliases = " ".join(f"n{index}: name" for index in range(60))
    query = f"query($id: ID!) {{ account(id: $id) {{ {aliases} }} }}"
    planned, generic = await answers(api, query, {"id": clients["accounts"][0]})
    assert planned.headers["X-Read-Path"] == "generic"
    assert planned.json() == generic.json()
    assert planned.json()["data"]["account"]["n59"] == "Beta Limited"


async def test_a_get_request_is_planned(api: Api, clients: dict[str, Any]) -> None:
    response = await api.http.get(
        "/graphql",
        params={"query": ACCOUNTS_PAGE, "variables": '{"first": 2}'},
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert response.headers["X-Read-Path"] == "planned"
    assert [node["name"] for node in response.json()["data"]["accounts"]["nodes"]] == [
        "alpha corp",
        "Beta Limited",
    ]


async def test_an_unauthenticated_request_says_the_generic_path(api: Api) -> None:
    response = await api.http.post("/graphql", json={"query": DASHBOARD})
    assert response.status_code == 401
    assert response.headers["X-Read-Path"] == "generic"


async def test_an_api_key_caller_is_planned_and_identical(
    api: Api, clients: dict[str, Any]
) -> None:
    payload = await api.ok(
        "createApiKey", {"name": "Partner", "permissions": ["VIEW_ALL_ACCOUNTS"]}, "key"
    )
    await assert_same(api, DASHBOARD, token=payload["key"])
    await assert_same(
        api,
        "{ viewer { permissions apiKey { name permissions createdBy { name } } } }",
        token=payload["key"],
    )


async def test_switched_off_every_request_takes_the_generic_path(database: Database) -> None:
    settings = settings_for(database.url, planned_reads=False)
    async with new_firm(database, settings=settings) as api:
        body = await api.execute(DASHBOARD)
        response = await api.post(DASHBOARD)
        assert response.headers["X-Read-Path"] == "generic"
        assert body["data"]["accounts"]["totalCount"] == 0


@pytest.mark.parametrize("page_size", [10, 100])
async def test_the_dashboard_and_the_account_page_send_one_data_statement(
    database: Database, page_size: int
) -> None:
    """Besides BEGIN/COMMIT/ROLLBACK (and a pool's ping): the transaction's settings
    (PostgreSQL), the caller's user, and one statement for all the data. (A 100-account
    dashboard counts more nodes than the default limit allows.)"""
    settings = settings_for(database.url, max_nodes=1_000_000)
    async with new_firm(database, settings=settings) as api:
        clients = await seed_clients(api)
        dashboard = DASHBOARD.replace("first: 50", f"first: {page_size}")
        for query, variables in ((dashboard, {}), (ACCOUNT_PAGE, {"id": clients["accounts"][0]})):
            await api.execute(query, variables)
            with count_statements(api.db) as statements:
                response = await api.post(query, variables)
            assert response.headers["X-Read-Path"] == "planned"
            work = [
                statement
                for statement in statements
                if statement.split()[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK")
                and statement.strip().lower() != "select 1"
            ]
            assert len(work) == 2, work


async def test_a_portal_token_is_never_planned_and_reads_nothing_but_its_portal(
    api: Api, clients: dict[str, Any]
) -> None:
    _, email = await portal_contact(api)
    token = (await login(api, email)).json()["accessToken"]
    for query in (DASHBOARD, "{ viewer { permissions } }", "{ portal { __typename } }"):
        response = await api.post(query, token=token)
        assert response.headers["X-Read-Path"] == "generic"
        if "portal" not in query:
            assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
            assert response.json()["data"] is None
