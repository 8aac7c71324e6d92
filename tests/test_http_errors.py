"""Every answer that is not an executed operation (API.md §3): JSON in the GraphQL-over-HTTP
shape with a code, a request id on every answer, the token checked before the body is read,
the body counted while it streams, and a pool that runs dry answering 503."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy.exc
from clientgraph.app import create_app
from clientgraph.auth import authenticator
from clientgraph.db.engine import Database
from clientgraph.resolvers import owners
from clientgraph.schema.extensions import error_code
from clientgraph.settings import Settings
from graphql import GraphQLError
from sqlalchemy import text

from tests.live_server import BodyMeter, post_endless_chunks, serve
from tests.support import SECRET, Api, new_firm, settings_for, without_cost

VIEWER = "{ viewer { user { name } } }"
SMALL_LIMIT = 64 * 1024
ENDLESS = 64 * 1024 * 1024


def assert_error(
    response: httpx.Response, status: int, code: str, **extensions: str
) -> dict[str, Any]:
    """`status`, and a JSON body holding exactly one error with a message, `code` and
    `extensions`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["errors"], body
    [error] = body["errors"]
    assert error["extensions"] == {"code": code, **extensions}
    assert isinstance(error["message"], str) and error["message"]
    return error


def authorized(api: Api, content_type: str = "application/json") -> dict[str, str]:
    return {"Authorization": f"Bearer {api.token}", "Content-Type": content_type}


# --- 400 -------------------------------------------------------------------------------------

BODIES_THAT_ARE_NOT_A_REQUEST = {
    "a bare string": b'"{viewer{user{name}}}"',
    "null": b"null",
    "a number": b"42",
    "true": b"true",
    "an empty list": b"[]",
    "a list of requests": b'[{"query": "{ __typename }"}]',
    "not JSON": b"{ viewer { user { name } } }",
    "truncated JSON": b'{"query": "{ __typename }"',
    "a query that is not a string": b'{"query": 42}',
    "variables that are not an object": b'{"query": "{ __typename }", "variables": [1]}',
}


@pytest.mark.parametrize(
    "body", BODIES_THAT_ARE_NOT_A_REQUEST.values(), ids=BODIES_THAT_ARE_NOT_A_REQUEST.keys()
)
async def test_a_body_that_is_not_a_graphql_request_is_400_bad_request(
    api: Api, body: bytes
) -> None:
    response = await api.http.post("/graphql", content=body, headers=authorized(api))

    assert_error(response, 400, "BAD_REQUEST")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
async def test_a_body_of_another_content_type_is_415_unsupported_media_type(
    api: Api, content_type: str
) -> None:
    response = await api.http.post(
        "/graphql", content=b'{"query": "{ __typename }"}', headers=authorized(api, content_type)
    )

    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")


async def test_a_mutation_by_get_is_400_bad_request(api: Api) -> None:
    response = await api.http.get(
        "/graphql",
        params={"query": "mutation { updateFirmSettings(input: {}) { userErrors { code } } }"},
        headers={"Authorization": f"Bearer {api.token}"},
    )

    assert_error(response, 400, "BAD_REQUEST")


# --- 401, 404, 405, 413 ----------------------------------------------------------------------


async def test_a_request_without_a_token_is_401_unauthenticated_with_a_bearer_challenge(
    api: Api,
) -> None:
    response = await api.http.post("/graphql", json={"query": VIEWER})

    assert_error(response, 401, "UNAUTHENTICATED", reason="MISSING")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_an_unknown_path_is_404_not_found(api: Api) -> None:
    response = await api.http.get("/graphq1")

    assert_error(response, 404, "NOT_FOUND")


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS"])
async def test_another_method_on_graphql_is_405_method_not_allowed(api: Api, method: str) -> None:
    response = await api.http.request(
        method, "/graphql", json={"query": VIEWER}, headers=authorized(api)
    )

    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "GET, POST"
    assert "ratelimit-remaining" in response.headers


async def test_a_body_above_the_limit_is_413_payload_too_large(api: Api) -> None:
    settings = Settings(database_url=api.db.url, secret=SECRET, max_body_bytes=1000)
    transport = httpx.ASGITransport(app=create_app(settings, api.db))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.post(
            "/graphql", json={"query": VIEWER + " " * 1000}, headers=authorized(api)
        )

    assert_error(response, 413, "PAYLOAD_TOO_LARGE")


# --- reading the body: token first, bytes counted as they stream -----------------------------


@pytest.fixture
async def metered_server(api: Api) -> AsyncIterator[tuple[int, BodyMeter]]:
    """A real uvicorn serving an app that accepts bodies up to 64 KiB, and a meter of the body
    bytes that app reads."""
    settings = Settings(database_url=api.db.url, secret=SECRET, max_body_bytes=SMALL_LIMIT)
    meter = BodyMeter(create_app(settings, api.db))
    async with serve(meter) as port:
        yield port, meter


async def test_an_endless_chunked_body_without_a_token_is_401_before_any_of_it_is_read(
    metered_server: tuple[int, BodyMeter],
) -> None:
    port, meter = metered_server

    answer = await post_endless_chunks(port, {}, up_to=ENDLESS)

    assert answer.status == 401
    assert b'"UNAUTHENTICATED"' in answer.body
    assert meter.bytes_read == 0
    assert answer.bytes_sent < ENDLESS


async def test_an_endless_chunked_body_with_a_bad_token_is_401_before_any_of_it_is_read(
    metered_server: tuple[int, BodyMeter],
) -> None:
    port, meter = metered_server

    answer = await post_endless_chunks(port, {"Authorization": "Bearer forged"}, up_to=ENDLESS)

    assert answer.status == 401
    assert meter.bytes_read == 0


async def test_an_endless_chunked_body_with_a_token_is_cut_off_at_the_limit_with_413(
    api: Api, metered_server: tuple[int, BodyMeter]
) -> None:
    port, meter = metered_server

    answer = await post_endless_chunks(
        port, {"Authorization": f"Bearer {api.token}"}, up_to=ENDLESS
    )

    assert answer.status == 413
    assert b'"PAYLOAD_TOO_LARGE"' in answer.body
    assert SMALL_LIMIT < meter.bytes_read <= SMALL_LIMIT + 256 * 1024
    assert answer.bytes_sent < ENDLESS


async def test_a_declared_length_above_the_limit_is_413_before_any_of_the_body_is_read(
    api: Api, metered_server: tuple[int, BodyMeter]
) -> None:
    port, meter = metered_server
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + api.token.encode() + b"\r\n"
        b"Content-Length: 300000000\r\n\r\n" + b" " * SMALL_LIMIT
    )

    head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=30)).decode()
    writer.close()

    assert head.startswith("HTTP/1.1 413 ")
    assert meter.bytes_read == 0


# --- 500 -------------------------------------------------------------------------------------


async def test_an_unexpected_exception_outside_the_operation_is_a_masked_json_500(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(authenticator, "load_viewer", broken)
    caplog.set_level(logging.ERROR, logger="clientgraph.errors")

    response = await api.http.post(
        "/graphql",
        json={"query": VIEWER},
        headers={**authorized(api), "X-Request-Id": "probe-500"},
    )

    error = assert_error(response, 500, "INTERNAL_SERVER_ERROR")
    assert error["message"] == "Internal server error."
    assert "secret detail" not in response.text
    assert response.headers["x-request-id"] == "probe-500"
    [logged] = [r for r in caplog.records if r.name == "clientgraph.errors"]
    assert "probe-500" in logged.getMessage()
    assert logged.exc_info is not None
    assert str(logged.exc_info[1]) == "secret detail"


# --- 503 -------------------------------------------------------------------------------------


@pytest.fixture
async def one_connection_db(api: Api) -> AsyncIterator[Database]:
    """The same PostgreSQL database behind a pool of exactly one connection, given up on
    after 0.5 s of waiting."""
    if api.db.dialect != "postgresql":
        pytest.skip("the connection pool wait is PostgreSQL's; SQLite keeps its own pool")
    db = Database(api.db.url, pool_size=1, max_overflow=0, pool_timeout=0.5)
    yield db
    await db.dispose()


async def test_a_pool_with_no_free_connection_is_503_service_unavailable_with_retry_after(
    api: Api, one_connection_db: Database
) -> None:
    settings = Settings(database_url=api.db.url, secret=SECRET)
    transport = httpx.ASGITransport(app=create_app(settings, one_connection_db))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        async with one_connection_db.engine.connect() as held:
            await held.execute(text("SELECT 1"))
            response = await http.post("/graphql", json={"query": VIEWER}, headers=authorized(api))
        after = await http.post("/graphql", json={"query": VIEWER}, headers=authorized(api))

    assert_error(response, 503, "SERVICE_UNAVAILABLE")
    assert int(response.headers["retry-after"]) >= 1
    assert after.status_code == 200
    assert without_cost(after.json()) == {"data": {"viewer": {"user": {"name": "Firm Owner"}}}}


async def test_a_pool_timeout_during_the_operation_is_a_service_unavailable_error() -> None:
    timeout = sqlalchemy.exc.TimeoutError("QueuePool limit of size 1 overflow 0 reached")

    error = GraphQLError("QueuePool limit", original_error=timeout)

    assert error_code(error) == "SERVICE_UNAVAILABLE"


async def test_the_pool_timeout_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIENTGRAPH_DB_POOL_TIMEOUT_S", "2.5")

    assert Settings().db_pool_timeout_s == 2.5
    assert Settings.model_fields["db_pool_timeout_s"].default == 5.0


# --- X-Request-Id ----------------------------------------------------------------------------


async def test_a_sane_request_id_from_the_client_comes_back(api: Api) -> None:
    response = await api.http.post(
        "/graphql", json={"query": VIEWER}, headers={**authorized(api), "X-Request-Id": "abc-123"}
    )

    assert response.status_code == 200
    assert response.headers["x-request-id"] == "abc-123"


@pytest.mark.parametrize("offered", ["x" * 129, "has space", "semi;colon", "ünï"])
async def test_an_implausible_request_id_is_replaced_by_a_new_one(api: Api, offered: str) -> None:
    headers: dict[str, Any] = authorized(api)
    response = await api.http.post(
        "/graphql",
        json={"query": VIEWER},
        headers={**headers, "X-Request-Id": offered.encode()},
    )

    assert response.status_code == 200
    assert response.headers["x-request-id"] not in ("", offered)
    assert len(response.headers["x-request-id"]) == 32


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("POST", "/graphql", 401), ("GET", "/nowhere", 404), ("GET", "/healthz", 200)],
)
async def test_every_answer_carries_a_new_request_id(
    api: Api, method: str, path: str, status: int
) -> None:
    first = await api.http.request(method, path)
    second = await api.http.request(method, path)

    assert first.status_code == second.status_code == status
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_the_request_id_names_a_masked_resolver_error_in_the_log(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(owners, "client_owners", broken)
    caplog.set_level(logging.ERROR, logger="clientgraph.errors")

    generic = settings_for(api.db.url, planned_reads=False)
    async with new_firm(api.db, settings=generic) as resolver_path:
        response = await resolver_path.http.post(
            "/graphql",
            json={"query": "{ clientOwners { totalCount } }"},
            headers={**authorized(resolver_path), "X-Request-Id": "trace-42"},
        )

    assert response.status_code == 200
    assert response.headers["x-request-id"] == "trace-42"
    [logged] = [r for r in caplog.records if r.name == "clientgraph.errors"]
    assert "trace-42" in logged.getMessage()
