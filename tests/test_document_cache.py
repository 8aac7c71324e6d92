"""Parsed and validated documents are cached per process (Strawberry's ParserCache and a
validation cache), and every limit still holds for a document the caches already know: the
limits of the document alone (depth, aliases, tokens) are refused every time, and those that
depend on the variables (nodes, input lists) are counted for each request's variables."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from clientgraph.app import create_app

from tests.support import Api, served_with, settings_for

NESTED = (
    "query($first: Int) { accounts(first: $first) "
    "{ nodes { relatedAccounts { relatedAccounts { name } } } } }"
)
"""`first` pages of up to 100 related accounts of up to 100 related accounts each."""
WITHIN_NODE_LIMIT = {"first": 1}  # 1 + 100 + 10,000 nodes
OVER_NODE_LIMIT = {"first": 50}  # 50 + 2,500 + 125,000 nodes > 50,000
DEEP = "{ accounts { nodes { " + "relatedAccounts { " * 12 + "name" + " }" * 12 + " } } }"
ALIASED = "{ " + " ".join(f"a{number}: __typename" for number in range(101)) + " }"
TOKENS = "{ " + "__typename " * 5001 + "}"
TAGS = "query($tags: [String!]) { accounts(filter: {tags: $tags}) { totalCount } }"


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


@pytest.mark.parametrize(
    "order",
    [(WITHIN_NODE_LIMIT, OVER_NODE_LIMIT), (OVER_NODE_LIMIT, WITHIN_NODE_LIMIT)],
    ids=["accepted-then-refused", "refused-then-accepted"],
)
async def test_the_node_limit_counts_each_request_of_a_cached_document_by_its_variables(
    api: Api, order: tuple[dict[str, int], dict[str, int]]
) -> None:
    answers = [await api.execute(NESTED, variables) for variables in order]

    for variables, body in zip(order, answers, strict=True):
        if variables is OVER_NODE_LIMIT:
            assert codes(body) == ["QUERY_TOO_COMPLEX"]
            assert body["data"] is None
        else:
            assert codes(body) == []
            assert body["data"] == {"accounts": {"nodes": []}}


@pytest.mark.parametrize("document", [DEEP, ALIASED, TOKENS], ids=["depth", "aliases", "tokens"])
async def test_a_document_over_a_limit_is_refused_each_time_it_is_sent(
    api: Api, document: str
) -> None:
    answers = [await api.execute(document) for _ in range(3)]

    assert [codes(body) for body in answers] == [["QUERY_TOO_COMPLEX"]] * 3
    assert all(body.get("data") is None for body in answers)


async def test_an_input_list_limit_counts_each_request_of_a_cached_document(api: Api) -> None:
    short, long = {"tags": ["vip"]}, {"tags": ["vip"] * 251}

    first, second, third = [
        await api.execute(TAGS, variables) for variables in (short, long, short)
    ]

    assert codes(first) == [] and codes(third) == []
    assert codes(second) == ["BAD_USER_INPUT"]
    assert second["errors"][0]["extensions"]["reason"] == "TOO_LONG"


async def test_a_list_written_in_a_cached_document_is_refused_each_time_it_is_sent(
    api: Api,
) -> None:
    tags = ", ".join(['"vip"'] * 251)
    document = (
        f'mutation {{ createAccount(input: {{name: "Acme", tags: [{tags}]}}) '
        "{ account { id } } }"
    )

    answers = [await api.execute(document) for _ in range(3)]

    assert [codes(body) for body in answers] == [["BAD_USER_INPUT"]] * 3
    assert {body["errors"][0]["extensions"]["reason"] for body in answers} == {"TOO_LONG"}
    assert (await api.data("{ accounts { totalCount } }"))["accounts"]["totalCount"] == 0


async def test_a_document_valid_for_one_schema_is_validated_again_for_another(api: Api) -> None:
    """Introspection off is a rule of its own: the cache of an app with introspection on must
    not answer for an app with it off."""
    query = "{ __schema { queryType { name } } }"
    assert codes(await api.execute(query)) == []
    closed = create_app(settings_for(api.db.url, introspection=False), api.db)
    transport = httpx.ASGITransport(app=closed)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.post(
            "/graphql",
            json={"query": query},
            headers={"Authorization": f"Bearer {api.token}"},
        )

    assert set(codes(response.json())) == {"FORBIDDEN"}


NOTHING_FITS = {"document_cache_bytes": 1, "plan_cache_bytes": 1}
"""Budgets no entry fits in: every document, validation and plan is too large to keep."""


@pytest.mark.parametrize("planned", [True, False], ids=["planned path", "generic path"])
async def test_documents_too_large_for_every_cache_are_answered_each_time(
    api: Api, planned: bool
) -> None:
    settings = settings_for(api.db.url, planned_reads=planned, **NOTHING_FITS)
    async with served_with(api, settings) as uncached:
        valid = [await uncached.post("{ viewer { user { name } } }") for _ in range(2)]
        invalid = [await uncached.execute("{ viewer { nope } }") for _ in range(2)]

    assert [answer.json()["data"] for answer in valid] == [
        {"viewer": {"user": {"name": "Firm Owner"}}}
    ] * 2
    read_path = "planned" if planned else "generic"
    assert [answer.headers.get("X-Read-Path", "generic") for answer in valid] == [read_path] * 2
    assert [codes(body) for body in invalid] == [["GRAPHQL_VALIDATION_FAILED"]] * 2
