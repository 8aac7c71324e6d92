"""Staff sign-in (issue 9 point 1, API.md §8): /auth/login, /auth/refresh, /auth/logout, on
SQLite and PostgreSQL (where the lookups before the firm is known pass row-level security)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest
from clientgraph import passwords
from clientgraph.db import models
from clientgraph.db.engine import Database
from clientgraph.ids import encode_id

from tests.support import Api

PASSWORD = "correct horse battery staple"
VIEWER = "{ viewer { user { id name } firm { id } } }"


async def give_password(db: Database, firm_id: uuid.UUID, user_id: uuid.UUID, password: str) -> str:
    """Set the user's password directly (setup, not the point); their e-mail."""

    async def work(session: Any) -> str:
        user = await session.get_one(models.User, user_id)
        user.password_hash = passwords.hash_sync(password)
        return user.email

    return await db.write(work, firm_id=firm_id)


async def login(http: httpx.AsyncClient, email: str, password: str, **extra: Any) -> httpx.Response:
    return await http.post("/auth/login", json={"email": email, "password": password, **extra})


async def viewer_with(http: httpx.AsyncClient, access_token: str) -> httpx.Response:
    return await http.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {access_token}"}
    )


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert list(body) == ["errors"] and len(body["errors"]) == 1, body
    return body["errors"][0]


@pytest.fixture
async def owner_email(api: Api) -> str:
    return await give_password(api.db, api.firm_id, api.user_id, PASSWORD)


async def test_login_answers_an_access_token_the_api_takes_and_a_refresh_token(
    api: Api, owner_email: str
) -> None:
    response = await login(api.http, owner_email, PASSWORD)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"accessToken", "expiresIn", "refreshToken"}
    assert body["expiresIn"] == 15 * 60
    assert response.headers["cache-control"] == "no-store"
    viewer = await viewer_with(api.http, body["accessToken"])
    assert viewer.json()["data"]["viewer"]["user"]["id"] == encode_id("User", api.user_id)


async def test_login_sets_the_refresh_token_as_a_strict_httponly_secure_cookie_on_auth(
    api: Api, owner_email: str
) -> None:
    response = await login(api.http, owner_email, PASSWORD)

    cookie = response.headers["set-cookie"]
    refresh_token = response.json()["refreshToken"]
    assert cookie.startswith(f"clientgraph_refresh={refresh_token};")
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite=strict", "path=/auth"} <= attributes


async def test_an_email_is_matched_whatever_its_case_and_spaces(api: Api, owner_email: str) -> None:
    response = await login(api.http, f"  {owner_email.upper()} ", PASSWORD)

    assert response.status_code == 200, response.text


async def test_unknown_email_and_wrong_password_get_the_same_401_in_the_same_time(
    api: Api, owner_email: str
) -> None:
    async def timed(email: str, password: str) -> tuple[httpx.Response, float]:
        started = time.perf_counter()
        response = await login(api.http, email, password)
        return response, time.perf_counter() - started

    wrong_password, wrong_password_s = await timed(owner_email, "not the password at all")
    unknown_email, unknown_email_s = await timed(f"nobody-{uuid.uuid4().hex}@example.com", PASSWORD)

    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json() == unknown_email.json()
    assert error_of(unknown_email) == {
        "message": "Wrong e-mail or password.",
        "extensions": {"code": "UNAUTHENTICATED"},
    }
    # Both verify one argon2 hash (~0.1 s); without the dummy hash the unknown e-mail would
    # answer in a few milliseconds.
    assert unknown_email_s > 0.5 * wrong_password_s
    assert wrong_password_s > 0.5 * unknown_email_s


async def test_a_user_without_a_password_cannot_sign_in(api: Api) -> None:
    user_id, _ = await api.staff("VIEW_ALL_ACCOUNTS")
    email = (await api.data(f'{{ node(id: "{user_id}") {{ ... on User {{ email }} }} }}'))["node"][
        "email"
    ]

    response = await login(api.http, email, "")
    other = await login(api.http, email, "any password at all")

    assert response.status_code == 400
    assert other.status_code == 401


@pytest.mark.parametrize("change", ["deactivated", "deleted"])
async def test_a_deactivated_or_deleted_user_cannot_sign_in(api: Api, change: str) -> None:
    user_id, _ = await api.staff("VIEW_ALL_ACCOUNTS")
    from clientgraph.ids import decode_id

    user_uuid = decode_id(user_id, "User")
    assert user_uuid is not None
    email = await give_password(api.db, api.firm_id, user_uuid, PASSWORD)
    assert (await login(api.http, email, PASSWORD)).status_code == 200
    if change == "deactivated":
        await api.ok("updateUser", {"userId": user_id, "isActive": False})
    else:
        await api.ok("deleteUser", {"userId": user_id})

    response = await login(api.http, email, PASSWORD)

    assert response.status_code == 401
    assert error_of(response)["message"] == "Wrong e-mail or password."
