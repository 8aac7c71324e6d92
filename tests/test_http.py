"""The HTTP contract (API.md §3, §5, §7): authentication, GET and GraphiQL, malformed bodies,
health checks, query limits and error masking, on every backend."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from clientgraph.app import create_app
from clientgraph.auth.access_tokens import issue_token
from clientgraph.resolvers import owners
from clientgraph.settings import Settings

from tests.support import SECRET, Api, new_firm, settings_for

VIEWER = "{ viewer { user { name } } }"
SETTINGS = "{ viewer { firm { settings { clientOwnershipEnabled } } } }"
ENABLE_OWNERSHIP = (
    "mutation { updateFirmSettings(input: {clientOwnershipEnabled: true}) "
    "{ settings { clientOwnershipEnabled } userErrors { code } } }"
)
VIEWER_DATA = {"viewer": {"user": {"name": "Firm Owner"}}}


def assert_unauthorized(response: httpx.Response) -> None:
    """401, and nothing of the firm in the body."""
    assert response.status_code == 401, response.text
    assert '"data"' not in response.text
    assert "Firm Owner" not in response.text


def nested_query(levels: int) -> str:
    """A query whose deepest field sits `levels` fields down: accounts { nodes { owner { ...

    Depth counts as graphql-depth-limit does (a top-level field is depth 0), so the default
    limit of 12 admits 13 levels of fields and refuses 14."""
    chain = ["accounts(first: 1)", "nodes", "owner"]
    fields = [chain[i % 3] for i in range(levels - 1)]
    return "{ " + " { ".join(fields) + " { __typename" + " }" * (levels - 1) + " }"


def only_error(body: dict[str, Any]) -> dict[str, Any]:
    assert body["data"] is None, body
    assert len(body["errors"]) == 1, body
    return body["errors"][0]


async def ownership_enabled(api: Api) -> bool:
    data = await api.data(SETTINGS)
    return data["viewer"]["firm"]["settings"]["clientOwnershipEnabled"]


@pytest.fixture
async def small_body_http(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    """A client on an app of the same database that accepts bodies of at most 1000 bytes."""
    settings = Settings(database_url=api.db.url, secret=SECRET, max_body_bytes=1000)
    app = create_app(settings, api.db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


# --- 401 -----------------------------------------------------------------------------------


async def test_a_request_without_authorization_header_is_401(api: Api) -> None:
    response = await api.http.post("/graphql", json={"query": VIEWER})

    assert_unauthorized(response)


async def test_a_basic_authorization_header_is_401(api: Api) -> None:
    response = await api.http.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": "Basic xyz"}
    )

    assert_unauthorized(response)


async def test_a_basic_scheme_carrying_a_valid_token_is_401(api: Api) -> None:
    response = await api.http.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Basic {api.token}"}
    )

    assert_unauthorized(response)


async def test_a_bearer_header_without_token_is_401(api: Api) -> None:
    response = await api.http.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": "Bearer "}
    )

    assert_unauthorized(response)


async def test_a_malformed_bearer_token_is_401(api: Api) -> None:
    response = await api.post(VIEWER, token="abc")

    assert_unauthorized(response)


async def test_an_expired_token_is_401(api: Api) -> None:
    response = await api.post(VIEWER, token=api.token_for(api.user_id, ttl_seconds=-10))

    assert_unauthorized(response)


async def test_a_token_signed_with_another_secret_is_401(api: Api) -> None:
    forged = issue_token(
        "another-secret-0123456789abcdef012345",
        user_id=api.user_id,
        firm_id=api.firm_id,
        ttl_seconds=3600,
    )

    response = await api.post(VIEWER, token=forged)

    assert_unauthorized(response)


async def test_a_token_for_an_unknown_user_is_401(api: Api) -> None:
    response = await api.post(VIEWER, token=api.token_for(uuid.uuid4()))

    assert_unauthorized(response)


async def test_a_token_pairing_a_user_with_another_firm_is_401(api: Api, other_firm: Api) -> None:
    token = issue_token(SECRET, user_id=api.user_id, firm_id=other_firm.firm_id, ttl_seconds=3600)

    response = await api.post(VIEWER, token=token)

    assert_unauthorized(response)


async def test_a_deleted_users_token_is_401(api: Api) -> None:
    user_id, token = await api.staff(name="Gone Staff")
    assert (await api.post(VIEWER, token=token)).status_code == 200
    deleted = await api.ok("deleteUser", {"userId": user_id}, "deletedUserId")
    assert deleted["deletedUserId"] == user_id

    response = await api.post(VIEWER, token=token)

    assert_unauthorized(response)
    assert "Gone Staff" not in response.text


async def test_a_deactivated_users_token_is_401(api: Api) -> None:
    user_id, token = await api.staff(name="Idle Staff")
    assert (await api.post(VIEWER, token=token)).status_code == 200
    updated = await api.ok(
        "updateUser", {"userId": user_id, "isActive": False}, "user { isActive }"
    )
    assert updated["user"] == {"isActive": False}

    response = await api.post(VIEWER, token=token)

    assert_unauthorized(response)
    assert "Idle Staff" not in response.text


# --- GET and GraphiQL ----------------------------------------------------------------------


async def test_a_browser_get_without_token_serves_graphiql(api: Api) -> None:
    response = await api.http.get("/graphql", headers={"Accept": "text/html"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


async def test_get_with_a_query_string_runs_the_query(api: Api) -> None:
    response = await api.http.get(
        "/graphql",
        params={"query": VIEWER},
        headers={"Authorization": f"Bearer {api.token}"},
    )

    assert response.status_code == 200
    assert "errors" not in response.json() and response.json()["data"] == VIEWER_DATA


async def test_get_with_a_query_string_needs_a_token(api: Api) -> None:
    response = await api.http.get("/graphql", params={"query": VIEWER})

    assert_unauthorized(response)


async def test_get_with_a_mutation_is_refused_and_changes_nothing(api: Api) -> None:
    response = await api.http.get(
        "/graphql",
        params={"query": ENABLE_OWNERSHIP},
        headers={"Authorization": f"Bearer {api.token}"},
    )

    assert response.status_code == 400
    assert '"data"' not in response.text
    assert await ownership_enabled(api) is False


async def test_the_same_mutation_by_post_does_change_the_settings(api: Api) -> None:
    body = await api.execute(ENABLE_OWNERSHIP)

    assert "errors" not in body
    assert body["data"] == {
        "updateFirmSettings": {"settings": {"clientOwnershipEnabled": True}, "userErrors": []}
    }
    assert await ownership_enabled(api) is True


# --- bodies that are not GraphQL -----------------------------------------------------------


async def test_a_body_that_is_not_json_is_400(api: Api) -> None:
    response = await api.http.post(
        "/graphql",
        content=b"{ viewer { user { name } } }",
        headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert "Firm Owner" not in response.text


async def test_a_json_body_without_query_is_400(api: Api) -> None:
    response = await api.http.post(
        "/graphql",
        json={"variables": {}},
        headers={"Authorization": f"Bearer {api.token}"},
    )

    assert response.status_code == 400


async def test_a_body_above_the_limit_is_413_and_not_executed(
    api: Api, small_body_http: httpx.AsyncClient
) -> None:
    query = ENABLE_OWNERSHIP + " " * 1000

    response = await small_body_http.post(
        "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {api.token}"}
    )

    assert response.status_code == 413
    assert await ownership_enabled(api) is False


async def test_a_chunked_body_above_the_limit_is_413(
    api: Api, small_body_http: httpx.AsyncClient
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "' + VIEWER.encode()
        yield b" " * 1000
        yield b'"}'

    response = await small_body_http.post(
        "/graphql",
        content=chunks(),
        headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"},
    )

    assert "content-length" not in response.request.headers
    assert response.status_code == 413


async def test_a_body_within_the_limit_is_executed(
    api: Api, small_body_http: httpx.AsyncClient
) -> None:
    query = VIEWER + " " * 900

    response = await small_body_http.post(
        "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {api.token}"}
    )

    assert len(response.request.content) < 1000
    assert response.status_code == 200
    assert "errors" not in response.json() and response.json()["data"] == VIEWER_DATA


# --- health checks -------------------------------------------------------------------------


async def test_healthz_answers_ok_without_token(api: Api) -> None:
    response = await api.http.get("/healthz")

    assert response.status_code == 200
    assert response.text == "ok"


async def test_readyz_answers_200_when_the_database_is_reachable(api: Api) -> None:
    response = await api.http.get("/readyz")

    assert response.status_code == 200


# --- limits --------------------------------------------------------------------------------


async def test_a_query_just_within_the_depth_limit_runs(api: Api) -> None:
    await api.create_account("Acme")

    body = await api.execute(nested_query(13))

    assert "errors" not in body and body["data"] == {"accounts": {"nodes": [{"owner": None}]}}


async def test_a_query_deeper_than_the_limit_is_too_complex(api: Api) -> None:
    response = await api.post(nested_query(14))

    assert response.status_code == 200
    error = only_error(response.json())
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def test_a_much_deeper_query_is_too_complex(api: Api) -> None:
    response = await api.post(nested_query(40))

    assert response.status_code == 200
    error = only_error(response.json())
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def test_a_query_with_100_aliases_runs(api: Api) -> None:
    query = "{ " + " ".join(f"a{i}: __typename" for i in range(100)) + " }"

    body = await api.execute(query)

    assert "errors" not in body and body["data"] == {f"a{i}": "Query" for i in range(100)}


async def test_a_query_with_more_than_100_aliases_is_too_complex(api: Api) -> None:
    query = "{ " + " ".join(f"a{i}: __typename" for i in range(101)) + " }"

    response = await api.post(query)

    assert response.status_code == 200
    error = only_error(response.json())
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def test_a_query_with_more_than_5000_tokens_is_too_complex(api: Api) -> None:
    query = "{ " + "__typename " * 5001 + "}"

    response = await api.post(query)

    assert response.status_code == 200
    error = only_error(response.json())
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def test_a_page_larger_than_100_is_bad_user_input(api: Api) -> None:
    response = await api.post("{ accounts(first: 500) { totalCount } }")

    assert response.status_code == 200
    error = only_error(response.json())
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["path"] == ["accounts"]


async def test_a_page_of_exactly_100_is_accepted(api: Api) -> None:
    body = await api.execute("{ accounts(first: 100) { totalCount } }")

    assert "errors" not in body and body["data"] == {"accounts": {"totalCount": 0}}


# --- GraphQL errors ------------------------------------------------------------------------


async def test_a_syntax_error_is_graphql_parse_failed(api: Api) -> None:
    response = await api.post("{ viewer { user { name }")

    assert response.status_code == 200
    error = only_error(response.json())
    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert error["message"].startswith("Syntax Error")


async def test_an_unknown_field_is_graphql_validation_failed(api: Api) -> None:
    response = await api.post("{ viewer { user { salary } } }")

    assert response.status_code == 200
    error = only_error(response.json())
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "salary" in error["message"]


async def test_a_variable_of_the_wrong_type_is_a_top_level_error(api: Api) -> None:
    response = await api.post(
        "query($first: Int) { accounts(first: $first) { totalCount } }", {"first": "x"}
    )

    assert response.status_code == 200
    error = only_error(response.json())
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "$first" in error["message"]


async def test_a_missing_required_variable_is_a_top_level_error(api: Api) -> None:
    response = await api.post("query($id: ID!) { account(id: $id) { name } }", {})

    assert response.status_code == 200
    error = only_error(response.json())
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_an_unexpected_exception_is_masked_and_logged(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(owners, "client_owners", broken)
    caplog.set_level(logging.ERROR, logger="clientgraph.errors")

    generic = settings_for(api.db.url, planned_reads=False)
    async with new_firm(api.db, settings=generic) as resolver_path:
        response = await resolver_path.post("{ clientOwners { totalCount } }")

    assert response.status_code == 200
    body = response.json()
    error = only_error(body)
    assert error["message"] == "Internal server error."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert error["path"] == ["clientOwners"]
    assert "secret detail" not in response.text
    assert "Traceback" not in response.text
    assert "RuntimeError" not in response.text
    logged = [r for r in caplog.records if r.name == "clientgraph.errors"]
    assert len(logged) == 1
    assert logged[0].levelno == logging.ERROR
    assert logged[0].exc_info is not None
    assert isinstance(logged[0].exc_info[1], RuntimeError)
    assert str(logged[0].exc_info[1]) == "secret detail"


async def test_a_nul_character_in_a_variable_is_bad_user_input_and_stores_nothing(
    api: Api,
) -> None:
    response = await api.post(
        "mutation($input: CreateAccountInput!) { createAccount(input: $input) { account { id } } }",
        {"input": {"name": "N\u0000ul"}},
    )

    assert response.status_code == 200
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["BAD_USER_INPUT"]
    data = await api.data("{ accounts(filter: {status: []}) { totalCount } }")
    assert data["accounts"]["totalCount"] == 0


async def test_a_nul_character_in_a_query_literal_is_bad_user_input(api: Api) -> None:
    response = await api.post('{ accounts(filter: {search: "a\\u0000b"}) { totalCount } }')

    assert response.status_code == 200
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["BAD_USER_INPUT"]


async def test_a_query_too_costly_to_validate_is_query_too_complex(api: Api) -> None:
    body = await api.execute("{ viewer { user { " + "name " * 1000 + "} } }")

    assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COMPLEX"]


async def test_filtering_by_more_than_fifty_tags_is_bad_user_input(api: Api) -> None:
    tags = [f"tag{i}" for i in range(51)]

    body = await api.execute(
        "query($tags: [String!]) { accounts(filter: {tags: $tags}) { totalCount } }",
        {"tags": tags},
    )

    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
