"""Browser apps on other origins (API.md §3, `CLIENTGRAPH_CORS_ORIGINS`): preflights from
allowed origins are answered, answers to them are readable, with credentials for `/auth/*`
only; any other origin gets no CORS header."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from clientgraph.app import create_app
from clientgraph.auth import authenticator

from tests.support import Api, settings_for

APP = "https://app.example.com"
OTHER_APP = "http://localhost:5173"
STRANGER = "https://evil.example"
VIEWER = "{ viewer { user { email } } }"


@asynccontextmanager
async def client(api: Api, origins: str | None) -> AsyncIterator[httpx.AsyncClient]:
    overrides = {} if origins is None else {"cors_origins": origins}
    app = create_app(settings_for(api.db.url, **overrides), api.db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def preflight(
    http: httpx.AsyncClient, origin: str, path: str = "/graphql", **headers: str
) -> httpx.Response:
    return await http.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
            **headers,
        },
    )


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {
        name: value
        for name, value in response.headers.items()
        if name.startswith("access-control-")
    }


def list_of(value: str) -> set[str]:
    return {item.strip() for item in value.split(",")}


@pytest.mark.parametrize("origin", [APP, OTHER_APP])
async def test_a_preflight_from_an_allowed_origin_is_answered_before_the_route(
    api: Api, origin: str
) -> None:
    async with client(api, f"{APP}, {OTHER_APP}/") as http:
        response = await preflight(http, origin, **{"X-Request-Id": "preflight-1"})
    assert response.status_code == 200, response.text
    headers = response.headers
    assert headers["access-control-allow-origin"] == origin
    assert list_of(headers["access-control-allow-methods"]) == {"GET", "POST", "OPTIONS"}
    assert list_of(headers["access-control-allow-headers"]) == {
        "Authorization",
        "Content-Type",
        "X-Request-Id",
        "Idempotency-Key",
    }
    assert "Origin" in list_of(headers["vary"])
    assert "access-control-allow-credentials" not in headers
    assert headers["x-request-id"] == "preflight-1"


async def test_a_preflight_from_another_origin_gets_no_cors_header(api: Api) -> None:
    async with client(api, APP) as http:
        response = await preflight(http, STRANGER)
    assert cors_headers(response) == {}
    assert response.status_code == 405


async def test_without_configured_origins_no_origin_gets_a_cors_header(api: Api) -> None:
    async with client(api, None) as http:
        refused = await preflight(http, APP)
        answered = await http.post(
            "/graphql",
            json={"query": VIEWER},
            headers={"Authorization": f"Bearer {api.token}", "Origin": APP},
        )
    assert refused.status_code == 405
    assert cors_headers(refused) == {}
    assert answered.status_code == 200
    assert cors_headers(answered) == {}


async def test_an_answer_to_an_allowed_origin_is_readable_with_its_request_id(api: Api) -> None:
    async with client(api, APP) as http:
        response = await http.post(
            "/graphql",
            json={"query": VIEWER},
            headers={"Authorization": f"Bearer {api.token}", "Origin": APP},
        )
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == APP
    exposed = list_of(response.headers["access-control-expose-headers"])
    assert {"X-Request-Id", "RateLimit-Remaining", "Retry-After", "Idempotent-Replayed"} <= exposed
    assert "access-control-allow-credentials" not in response.headers
    assert "Origin" in list_of(response.headers["vary"])


async def test_an_answer_to_another_origin_carries_no_cors_header(api: Api) -> None:
    async with client(api, APP) as http:
        response = await http.post(
            "/graphql",
            json={"query": VIEWER},
            headers={"Authorization": f"Bearer {api.token}", "Origin": STRANGER},
        )
    assert response.status_code == 200
    assert cors_headers(response) == {}


async def test_an_error_answer_is_readable_by_the_allowed_origin(api: Api) -> None:
    """A 401 the page cannot read looks like a network failure to it."""
    async with client(api, APP) as http:
        response = await http.post("/graphql", json={"query": VIEWER}, headers={"Origin": APP})
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == APP


async def test_the_masked_500_is_readable_by_the_allowed_origin(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(authenticator, "load_viewer", broken)
    async with client(api, APP) as http:
        response = await http.post(
            "/graphql",
            json={"query": VIEWER},
            headers={"Authorization": f"Bearer {api.token}", "Origin": APP},
        )
    assert response.status_code == 500
    assert response.headers["access-control-allow-origin"] == APP
    assert "X-Request-Id" in response.headers["access-control-expose-headers"]


@pytest.mark.parametrize("path", ["/auth/login", "/auth/refresh"])
async def test_sign_in_routes_allow_credentials_to_named_origins(api: Api, path: str) -> None:
    async with client(api, APP) as http:
        response = await preflight(http, APP, path)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == APP
    assert response.headers["access-control-allow-credentials"] == "true"


async def test_the_api_never_allows_credentials(api: Api) -> None:
    async with client(api, APP) as http:
        response = await preflight(http, APP, "/graphql")
    assert "access-control-allow-credentials" not in response.headers


async def test_any_origin_may_call_the_api_but_never_with_credentials(api: Api) -> None:
    async with client(api, "*") as http:
        api_preflight = await preflight(http, STRANGER, "/graphql")
        sign_in_preflight = await preflight(http, STRANGER, "/auth/login")
        answer = await http.post(
            "/graphql",
            json={"query": VIEWER},
            headers={"Authorization": f"Bearer {api.token}", "Origin": STRANGER},
        )
    assert api_preflight.status_code == 200
    assert api_preflight.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in api_preflight.headers
    assert cors_headers(sign_in_preflight) == {}
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in answer.headers


async def test_a_named_origin_beside_any_origin_keeps_its_credentials_on_sign_in(
    api: Api,
) -> None:
    async with client(api, f"*, {APP}") as http:
        response = await preflight(http, APP, "/auth/login")
    assert response.headers["access-control-allow-origin"] == APP
    assert response.headers["access-control-allow-credentials"] == "true"


@pytest.mark.parametrize(
    "origins", ["null", "app.example.com", "https://app.example.com/path", "HTTPS://APP.COM"]
)
def test_a_setting_that_is_not_a_list_of_origins_is_refused(origins: str) -> None:
    with pytest.raises(ValueError, match="CLIENTGRAPH_CORS_ORIGINS"):
        settings_for("sqlite+aiosqlite:///unused.db", cors_origins=origins)
