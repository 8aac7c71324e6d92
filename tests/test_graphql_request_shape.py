"""A malformed GraphQL request is told in our words what to send (issue 13 point 4: no
library's wording reaches a client), on the planned and the generic read path, over POST and
GET alike."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.support import Api
from tests.test_content_types import graphql_api

__all__ = ["graphql_api"]

STRAWBERRY_WORDINGS = ("No GraphQL query found", "must be a string or null, if provided")
MALFORMED_BODIES: dict[str, tuple[dict[str, Any], str]] = {
    "no query": ({}, "no GraphQL document"),
    "a null query": ({"query": None}, "no GraphQL document"),
    "only variables": ({"variables": {"id": "x"}}, "no GraphQL document"),
    "a query that is a number": ({"query": 7}, "`query` must be a string"),
    "a query that is a list": ({"query": ["{ viewer { firm { name } } }"]}, "`query` must be"),
    "variables that are a list": (
        {"query": "{ viewer { firm { name } } }", "variables": [1]},
        "`variables` must be a JSON object",
    ),
    "variables that are text": (
        {"query": "{ viewer { firm { name } } }", "variables": "{}"},
        "`variables` must be a JSON object",
    ),
    "an operation name that is a number": (
        {"query": "{ viewer { firm { name } } }", "operationName": 1},
        "`operationName` must be a string",
    ),
    "extensions that are text": (
        {"query": "{ viewer { firm { name } } }", "extensions": "x"},
        "`extensions` must be a JSON object",
    ),
}
MALFORMED_GETS: dict[str, tuple[dict[str, str], str]] = {
    "no query": ({}, "no GraphQL document"),
    "variables that are not JSON": (
        {"query": "{ viewer { firm { name } } }", "variables": "{not json"},
        "`variables` must be a JSON object",
    ),
}


def refusal(response: Any) -> str:
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert not any(wording in error["message"] for wording in STRAWBERRY_WORDINGS)
    return error["message"]


@pytest.mark.parametrize("body,words", MALFORMED_BODIES.values(), ids=MALFORMED_BODIES.keys())
async def test_a_malformed_post_is_refused_in_words_that_say_what_to_send(
    graphql_api: Api,
    body: dict[str, Any],
    words: str,
) -> None:
    response = await graphql_api.http.post(
        "/graphql",
        content=orjson.dumps(body),
        headers={
            "Authorization": f"Bearer {graphql_api.token}",
            "Content-Type": "application/json",
        },
    )

    assert words in refusal(response)


@pytest.mark.parametrize("params,words", MALFORMED_GETS.values(), ids=MALFORMED_GETS.keys())
async def test_a_malformed_get_is_refused_in_words_that_say_what_to_send(
    graphql_api: Api,
    params: dict[str, str],
    words: str,
) -> None:
    response = await graphql_api.http.get(
        "/graphql",
        params=params,
        headers={"Authorization": f"Bearer {graphql_api.token}", "Accept": "application/json"},
    )

    assert words in refusal(response)


async def test_a_well_formed_get_still_answers(graphql_api: Api) -> None:
    response = await graphql_api.http.get(
        "/graphql",
        params={"query": "{ viewer { firm { name } } }", "variables": "{}"},
        headers={"Authorization": f"Bearer {graphql_api.token}", "Accept": "application/json"},
    )

    assert response.status_code == 200, response.text
    assert response.json()["data"]["viewer"]["firm"]["name"]
