"""`/auth/*` refuses a browser's request from an origin it does not allow (issue 14 point 6):
with an `Origin` that is neither the service's own nor one named in `CLIENTGRAPH_CORS_ORIGINS`,
403 before the body, the refresh-token cookie or the database is touched."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from clientgraph.app import create_app

from tests.support import Api, count_statements, settings_for
from tests.test_sign_in import PASSWORD, give_password, login

APP = "https://app.example.com"
STRANGER = "https://evil.example"
OWN = "http://test"
ROUTES = ["/auth/login", "/auth/refresh", "/auth/logout", "/auth/set-password"]


@asynccontextmanager
async def client(
    api: Api, origins: str = "", base_url: str = OWN
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings_for(api.db.url, cors_origins=origins), api.db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
        yield http


@pytest.fixture
async def email(api: Api) -> str:
    return await give_password(api.db, api.firm_id, api.user_id, PASSWORD)


@pytest.fixture
async def refresh_token(api: Api, email: str) -> str:
    signed_in = await login(api.http, email, PASSWORD)
    assert signed_in.status_code == 200, signed_in.text
    return signed_in.json()["refreshToken"]


async def sign_in(http: httpx.AsyncClient, email: str, origin: str | None) -> httpx.Response:
    headers = {} if origin is None else {"Origin": origin}
    return await http.post(
        "/auth/login", json={"email": email, "password": PASSWORD}, headers=headers
    )


def body_for(path: str, email: str) -> dict[str, str]:
    return {
        "/auth/login": {"email": email, "password": PASSWORD},
        "/auth/refresh": {},
        "/auth/logout": {},
        "/auth/set-password": {"token": "a link", "password": "a long enough passphrase"},
    }[path]


@pytest.mark.parametrize("path", ROUTES)
async def test_a_foreign_origin_is_403_before_the_cookie_or_the_database_is_touched(
    api: Api, email: str, refresh_token: str, path: str
) -> None:
    async with client(api, origins=APP) as http:
        with count_statements(api.db) as statements:
            response = await http.post(
                path,
                json=body_for(path, email),
                headers={"Origin": STRANGER, "Cookie": f"clientgraph_refresh={refresh_token}"},
            )

    assert response.status_code == 403, response.text
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "FORBIDDEN", "reason": "ORIGIN_NOT_ALLOWED"}
    assert "CLIENTGRAPH_CORS_ORIGINS" in error["message"]
    assert "set-cookie" not in response.headers
    assert statements == []
    still = await api.http.post("/auth/refresh", json={"refreshToken": refresh_token})
    assert still.status_code == 200, "neither refreshed nor signed out"


@pytest.mark.parametrize(
    "origin",
    [
        "null",
        "https://test",
        "http://test:8080",
        "http://test.evil.example",
        "http://evil.test",
        "http://test/",
        "https://app.example.com.evil.example",
        "https://app.example.co",
    ],
)
async def test_a_look_alike_origin_is_refused(api: Api, email: str, origin: str) -> None:
    async with client(api, origins=APP) as http:
        response = await sign_in(http, email, origin)

    assert response.status_code == 403, response.text


@pytest.mark.parametrize(
    ("base_url", "origin"),
    [(OWN, OWN), ("http://test:8443", "http://test:8443"), ("https://test:443", "https://test")],
)
async def test_the_services_own_origin_signs_in(
    api: Api, email: str, base_url: str, origin: str
) -> None:
    async with client(api, base_url=base_url) as http:
        response = await sign_in(http, email, origin)

    assert response.status_code == 200, response.text


async def test_an_origin_named_in_the_setting_refreshes_with_the_cookie(
    api: Api, refresh_token: str
) -> None:
    async with client(api, origins=f"http://localhost:5173,{APP}") as http:
        response = await http.post(
            "/auth/refresh",
            json={},
            headers={"Origin": APP, "Cookie": f"clientgraph_refresh={refresh_token}"},
        )

    assert response.status_code == 200, response.text


async def test_any_origin_in_the_setting_does_not_open_auth_to_every_origin(
    api: Api, email: str
) -> None:
    async with client(api, origins="*") as http:
        response = await sign_in(http, email, STRANGER)

    assert response.status_code == 403


async def test_a_request_without_origin_is_not_a_browsers_and_passes(api: Api, email: str) -> None:
    async with client(api, origins=APP) as http:
        response = await sign_in(http, email, None)

    assert response.status_code == 200, response.text
