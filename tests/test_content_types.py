"""One content-type rule for every route that takes a body (issue 14 point 6, issue 13 point
4): `/graphql` on the planned and the generic read path, `/auth/*` and `/portal/*` parse the
media type, take `application/json` (with `charset=utf-8` as the one parameter allowed), and
answer anything else 415 in one wording; an empty body is 400 before anything else. A body the
rule refuses changes nothing: no refresh, no sign-out, no cookie."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from clientgraph.db.engine import Database

from tests.support import UNTHROTTLED, Api, new_firm, settings_for
from tests.test_sign_in import PASSWORD, give_password, login

VIEWER = "{ viewer { user { name } } }"
VIEWER_DATA = {"viewer": {"user": {"name": "Firm Owner"}}}
BODIES: dict[str, dict[str, Any]] = {
    "/auth/login": {"email": "nobody@example.com", "password": "a wrong password"},
    "/auth/refresh": {"refreshToken": "cgr_" + "x" * 43},
    "/auth/logout": {"refreshToken": "cgr_" + "x" * 43},
    "/auth/set-password": {"token": "not a link", "password": "a long enough passphrase"},
    "/portal/accept": {"token": "not a link", "password": "a long enough passphrase"},
    "/portal/login": {"email": "nobody@example.com", "password": "a wrong password"},
}
"""A well-formed body for each sign-in route."""
REFUSED_TYPES = {
    "text/plain naming JSON as its charset": "text/plain; charset=application/json",
    "text/plain naming JSON in a parameter": "text/plain; a=application/json",
    "text/plain": "text/plain",
    "a form": "application/x-www-form-urlencoded",
    "a longer subtype": "application/jsonx",
    "JSON in another charset": "application/json; charset=latin-1",
    "JSON with another parameter": "application/json; a=b",
    "JSON with a charset of no value": "application/json; charset",
    "JSON with the charset twice": "application/json; charset=utf-8; charset=utf-8",
    "a list of types": "application/json, text/plain",
    "no content type": None,
}
ACCEPTED_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "Application/JSON; Charset=UTF-8",
    'application/json;charset="utf-8"',
]


@pytest.fixture(params=["planned", "generic"])
async def graphql_api(database: Database, request: pytest.FixtureRequest) -> AsyncIterator[Api]:
    settings = settings_for(
        database.url,
        planned_reads=request.param == "planned",
        rate_limit_failed_auth_per_minute=UNTHROTTLED,
    )
    async with new_firm(database, settings=settings) as api:
        yield api


def typed(content_type: str | None) -> dict[str, str]:
    return {} if content_type is None else {"Content-Type": content_type}


async def post_everywhere(
    api: Api, content_type: str | None, body: bytes | None = None
) -> dict[str, httpx.Response]:
    """path → the answer to a POST of `body` (else a well-formed body for the route) sent as
    `content_type`."""
    answers = {}
    graphql_body = orjson.dumps({"query": VIEWER}) if body is None else body
    answers["/graphql"] = await api.http.post(
        "/graphql",
        content=graphql_body,
        headers={"Authorization": f"Bearer {api.token}", **typed(content_type)},
    )
    for path, route_body in BODIES.items():
        content = orjson.dumps(route_body) if body is None else body
        answers[path] = await api.http.post(path, content=content, headers=typed(content_type))
    return answers


def outcome(response: httpx.Response) -> tuple[int, str, str]:
    [error] = response.json()["errors"]
    return response.status_code, error["extensions"]["code"], error["message"]


@pytest.mark.parametrize("content_type", REFUSED_TYPES.values(), ids=REFUSED_TYPES.keys())
async def test_another_media_type_is_415_in_one_wording_on_every_route(
    graphql_api: Api, content_type: str | None
) -> None:
    answers = await post_everywhere(graphql_api, content_type)

    outcomes = {path: outcome(response) for path, response in answers.items()}
    assert {status for status, _, _ in outcomes.values()} == {415}, outcomes
    assert {code for _, code, _ in outcomes.values()} == {"UNSUPPORTED_MEDIA_TYPE"}
    assert len({message for _, _, message in outcomes.values()}) == 1, outcomes
    assert "application/json" in outcomes["/graphql"][2]


async def test_multipart_is_taken_by_graphql_alone_for_uploads(graphql_api: Api) -> None:
    answers = await post_everywhere(graphql_api, "multipart/form-data; boundary=xyz")

    outcomes = {path: outcome(response) for path, response in answers.items()}
    graphql = outcomes.pop("/graphql")
    assert graphql[:2] == (400, "BAD_REQUEST"), graphql
    assert "multipart" in graphql[2]
    assert {status for status, _, _ in outcomes.values()} == {415}, outcomes


@pytest.mark.parametrize("content_type", ACCEPTED_TYPES)
async def test_json_with_at_most_a_utf8_charset_is_taken_on_every_route(
    graphql_api: Api, content_type: str
) -> None:
    answers = await post_everywhere(graphql_api, content_type)

    assert answers["/graphql"].status_code == 200, answers["/graphql"].text
    assert answers["/graphql"].json()["data"] == VIEWER_DATA
    refused = {path: r.status_code for path, r in answers.items() if r.status_code in (400, 415)}
    wrong_link = {"/auth/set-password", "/portal/accept"}
    assert set(refused) == wrong_link, "only the made-up link tokens are refused, as such"
    assert answers["/auth/login"].status_code == 401
    assert answers["/auth/logout"].status_code == 204


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", None])
async def test_an_empty_body_is_400_before_its_media_type_on_every_route(
    graphql_api: Api, content_type: str | None
) -> None:
    answers = await post_everywhere(graphql_api, content_type, body=b"")

    outcomes = {path: outcome(response) for path, response in answers.items()}
    assert {status for status, _, _ in outcomes.values()} == {400}, outcomes
    assert {code for _, code, _ in outcomes.values()} == {"BAD_REQUEST"}
    assert len({message for _, _, message in outcomes.values()}) == 1, outcomes


async def test_a_planned_read_sent_as_text_plain_is_not_run(graphql_api: Api) -> None:
    response = await graphql_api.http.post(
        "/graphql",
        content=orjson.dumps({"query": VIEWER}),
        headers={
            "Authorization": f"Bearer {graphql_api.token}",
            "Content-Type": "text/plain; charset=application/json",
        },
    )

    assert response.status_code == 415
    assert "data" not in response.json()


# --- with the refresh-token cookie ---------------------------------------------------------


@pytest.fixture
async def refresh_token(api: Api) -> str:
    email = await give_password(api.db, api.firm_id, api.user_id, PASSWORD)
    signed_in = await login(api.http, email, PASSWORD)
    assert signed_in.status_code == 200, signed_in.text
    return signed_in.json()["refreshToken"]


def cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"clientgraph_refresh={token}"}


async def still_refreshes(api: Api, token: str) -> bool:
    response = await api.http.post("/auth/refresh", json={"refreshToken": token})
    return response.status_code == 200


@pytest.mark.parametrize("path", ["/auth/refresh", "/auth/logout"])
@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"", "application/x-www-form-urlencoded", 400),
        (b"", None, 400),
        (b"{}", "text/plain; a=application/json", 415),
        (b"{}", "application/x-www-form-urlencoded", 415),
    ],
    ids=["empty form", "empty", "text/plain", "form"],
)
async def test_a_refused_body_with_the_cookie_leaves_the_sign_in_as_it_was(
    api: Api,
    refresh_token: str,
    path: str,
    content: bytes,
    content_type: str | None,
    status: int,
) -> None:
    response = await api.http.post(
        path, content=content, headers={**cookie(refresh_token), **typed(content_type)}
    )

    assert response.status_code == status, response.text
    assert "set-cookie" not in response.headers
    assert await still_refreshes(api, refresh_token)


async def test_the_cookie_is_used_with_an_empty_json_object(api: Api, refresh_token: str) -> None:
    response = await api.http.post("/auth/refresh", json={}, headers=cookie(refresh_token))

    assert response.status_code == 200, response.text
    assert response.json()["refreshToken"] != refresh_token


async def test_a_login_sent_as_text_plain_sets_no_cookie(api: Api) -> None:
    email = await give_password(api.db, api.firm_id, api.user_id, PASSWORD)

    response = await api.http.post(
        "/auth/login",
        content=orjson.dumps({"email": email, "password": PASSWORD}),
        headers={"Content-Type": "text/plain; a=application/json"},
    )

    assert response.status_code == 415
    assert "set-cookie" not in response.headers
