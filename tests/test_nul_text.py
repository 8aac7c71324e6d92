"""NUL (U+0000) is found in the decoded text of a request, not in its raw bytes (issue 14 point
5): a backslash followed by `u0000` is valid text and is stored as sent, while a NUL however it
is written — a JSON escape, a GraphQL escape (`\\u0000`, `\\u{0}`), an escaped escape — is
BAD_USER_INPUT before anything runs, on the planned and the generic read path alike."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from clientgraph.db.engine import Database

from tests.support import Api, new_firm, settings_for

CREATE = (
    "mutation($input: CreateAccountInput!) { createAccount(input: $input) "
    "{ account { name } userErrors { code } } }"
)
SEARCH = "query($search: String) { accounts(filter: {search: $search}) { totalCount } }"
BACKSLASH_U0000 = "C:\\u0000\\dir"
"""A backslash, `u0000`, a backslash, `dir`: text without any NUL."""


@pytest.fixture(params=["planned", "generic"])
async def reader(database: Database, request: pytest.FixtureRequest) -> AsyncIterator[Api]:
    settings = settings_for(database.url, planned_reads=request.param == "planned")
    async with new_firm(database, settings=settings) as api:
        yield api


def codes(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [error["extensions"]["code"] for error in response.json().get("errors", [])]


async def post_raw(api: Api, body: str) -> httpx.Response:
    """`body` as the exact JSON text sent."""
    return await api.http.post(
        "/graphql",
        content=body.encode(),
        headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"},
    )


async def test_a_backslash_and_u0000_in_a_variable_is_stored_as_sent(api: Api) -> None:
    response = await api.post(CREATE, {"input": {"name": BACKSLASH_U0000}})

    assert codes(response) == []
    assert response.json()["data"]["createAccount"]["account"] == {"name": BACKSLASH_U0000}
    found = await api.data(SEARCH, {"search": BACKSLASH_U0000})
    assert found["accounts"]["totalCount"] == 1


async def test_an_escaped_backslash_before_u0000_in_a_query_literal_is_text(
    reader: Api,
) -> None:
    response = await reader.post('{ accounts(filter: {search: "C:\\\\u0000"}) { totalCount } }')

    assert codes(response) == []
    assert response.json()["data"] == {"accounts": {"totalCount": 0}}


async def test_a_block_string_holding_u0000_is_text(reader: Api) -> None:
    response = await reader.post('{ accounts(filter: {search: """\\u0000"""}) { totalCount } }')

    assert codes(response) == []


NUL_REQUESTS: dict[str, dict[str, Any]] = {
    "in a variable": {"query": SEARCH, "variables": {"search": "a\x00b"}},
    "deep in a variable": {
        "query": CREATE.replace("mutation", "mutation Create"),
        "variables": {"input": {"name": "N", "tags": ["ok", "n\x00l"]}},
    },
    "in a variable's name": {"query": SEARCH, "variables": {"sea\x00rch": "x"}},
    "in the operation name": {
        "query": "query Search { accounts { totalCount } }",
        "operationName": "Search\x00",
    },
    "as a GraphQL escape in a literal": {
        "query": '{ accounts(filter: {search: "a\\u0000b"}) { totalCount } }'
    },
    "as a braced GraphQL escape in a literal": {
        "query": '{ accounts(filter: {search: "a\\u{0}b"}) { totalCount } }'
    },
    "raw in the document": {"query": '{ accounts(filter: {search: "a\x00b"}) { totalCount } }'},
}


@pytest.mark.parametrize("payload", NUL_REQUESTS.values(), ids=NUL_REQUESTS.keys())
async def test_a_nul_however_written_is_bad_user_input(
    reader: Api, payload: dict[str, Any]
) -> None:
    response = await post_raw(reader, json.dumps(payload))

    assert codes(response) == ["BAD_USER_INPUT"]
    assert response.json()["data"] is None


async def test_a_graphql_escape_whose_backslash_is_json_escaped_is_a_nul(reader: Api) -> None:
    """JSON `\\u005c` is a backslash: the document reads `"a\\u0000b"`, a NUL to GraphQL,
    though the raw body holds no `\\u0000`."""
    body = '{"query": "{ accounts(filter: {search: \\"a\\u005cu0000b\\"}) { totalCount } }"}'

    response = await post_raw(reader, body)

    assert codes(response) == ["BAD_USER_INPUT"]


async def test_nothing_is_stored_when_a_nested_variable_holds_a_nul(api: Api) -> None:
    response = await api.post(CREATE, {"input": {"name": "N", "tags": ["ok", "n\x00l"]}})

    assert codes(response) == ["BAD_USER_INPUT"]
    data = await api.data("{ accounts(filter: {status: []}) { totalCount } }")
    assert data["accounts"]["totalCount"] == 0


@pytest.mark.parametrize(
    ("search", "expected"), [("a\x00b", ["BAD_USER_INPUT"]), (BACKSLASH_U0000, [])]
)
async def test_a_get_request_is_judged_on_its_decoded_variables(
    reader: Api, search: str, expected: list[str]
) -> None:
    response = await reader.http.get(
        "/graphql",
        params={"query": SEARCH, "variables": json.dumps({"search": search})},
        headers={"Authorization": f"Bearer {reader.token}"},
    )

    assert codes(response) == expected
