"""Staff sign-in (issue 9 point 1, API.md §8): /auth/login, /auth/refresh, /auth/logout, on
SQLite and PostgreSQL (where the lookups before the firm is known pass row-level security)."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import argon2
import httpx
import jwt
import pytest
from clientgraph import passwords
from clientgraph.app import create_app
from clientgraph.db import models
from clientgraph.db.engine import Database
from clientgraph.ids import decode_id, encode_id
from clientgraph.settings import Settings

from tests.support import Api, expire_every, settings_for

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

    wrong_password, unknown_email = [], []
    for round_ in range(4):  # interleaved, below the lockout, medians against a busy machine
        wrong_password.append(await timed(owner_email, f"not the password {round_}"))
        unknown_email.append(await timed(f"nobody-{uuid.uuid4().hex}@example.com", PASSWORD))

    responses = [response for response, _ in wrong_password + unknown_email]
    assert {response.status_code for response in responses} == {401}
    assert {response.text for response in responses} == {responses[0].text}
    assert error_of(responses[0]) == {
        "message": "Wrong e-mail or password.",
        "extensions": {"code": "UNAUTHENTICATED", "reason": "WRONG_CREDENTIALS"},
    }
    # Both verify one argon2 hash (~0.1 s); without the dummy hash the unknown e-mail would
    # answer in a few milliseconds.
    ratio = statistics.median(s for _, s in unknown_email) / statistics.median(
        s for _, s in wrong_password
    )
    assert 1 / 3 < ratio < 3


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


# --- refresh and logout ----------------------------------------------------------------------


async def refresh_with(http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.post("/auth/refresh", json={"refreshToken": token})


async def signed_in(api: Api, email: str) -> dict[str, Any]:
    response = await login(api.http, email, PASSWORD)
    assert response.status_code == 200, response.text
    return response.json()


async def test_refresh_answers_a_new_pair_and_spends_the_old_refresh_token(
    api: Api, owner_email: str
) -> None:
    first = await signed_in(api, owner_email)

    response = await refresh_with(api.http, first["refreshToken"])

    assert response.status_code == 200, response.text
    second = response.json()
    assert set(second) == {"accessToken", "expiresIn", "refreshToken"}
    assert second["refreshToken"] != first["refreshToken"]
    assert response.headers["set-cookie"].startswith(
        f"clientgraph_refresh={second['refreshToken']};"
    )
    assert (await viewer_with(api.http, second["accessToken"])).status_code == 200
    assert (await refresh_with(api.http, second["refreshToken"])).status_code == 200


async def test_refresh_takes_the_token_from_the_cookie(api: Api, owner_email: str) -> None:
    first = await signed_in(api, owner_email)

    response = await api.http.post(
        "/auth/refresh",
        json={},
        headers={"Cookie": f"clientgraph_refresh={first['refreshToken']}"},
    )

    assert response.status_code == 200, response.text
    assert response.json()["refreshToken"] != first["refreshToken"]


async def test_reusing_a_spent_refresh_token_revokes_the_whole_family(
    api: Api, owner_email: str
) -> None:
    first = await signed_in(api, owner_email)
    elsewhere = await signed_in(api, owner_email)
    second = (await refresh_with(api.http, first["refreshToken"])).json()

    replayed = await refresh_with(api.http, first["refreshToken"])
    successor = await refresh_with(api.http, second["refreshToken"])
    other_sign_in = await refresh_with(api.http, elsewhere["refreshToken"])

    assert replayed.status_code == 401
    assert error_of(replayed)["extensions"] == {"code": "UNAUTHENTICATED", "reason": "REVOKED"}
    assert "already used" in error_of(replayed)["message"]
    assert successor.status_code == 401, "the thief's (or the user's) newer token dies too"
    assert other_sign_in.status_code == 200, "another sign-in of the user is another family"


async def test_logout_revokes_the_sign_in_and_answers_204(api: Api, owner_email: str) -> None:
    first = await signed_in(api, owner_email)
    second = (await refresh_with(api.http, first["refreshToken"])).json()

    response = await api.http.post("/auth/logout", json={"refreshToken": second["refreshToken"]})

    assert response.status_code == 204
    assert 'clientgraph_refresh=""' in response.headers["set-cookie"]
    assert "max-age=0" in response.headers["set-cookie"].lower()
    assert (await refresh_with(api.http, second["refreshToken"])).status_code == 401


async def test_logout_takes_the_token_from_the_cookie(api: Api, owner_email: str) -> None:
    first = await signed_in(api, owner_email)

    response = await api.http.post(
        "/auth/logout",
        json={},
        headers={"Cookie": f"clientgraph_refresh={first['refreshToken']}"},
    )

    assert response.status_code == 204
    assert (await refresh_with(api.http, first["refreshToken"])).status_code == 401


async def test_an_unknown_or_missing_refresh_token_gets_401(api: Api) -> None:
    unknown = await refresh_with(api.http, "cgr_" + "x" * 43)
    missing = await api.http.post("/auth/refresh", json={})
    garbage = await refresh_with(api.http, "cgr_" + "x" * 5000)

    assert [r.status_code for r in (unknown, missing, garbage)] == [401, 401, 401]
    assert error_of(missing)["extensions"] == {"code": "UNAUTHENTICATED", "reason": "MISSING"}


async def test_an_expired_refresh_token_gets_401(api: Api, owner_email: str) -> None:
    first = await signed_in(api, owner_email)
    await expire_every(api, models.RefreshToken)

    response = await refresh_with(api.http, first["refreshToken"])

    assert response.status_code == 401
    assert "expired" in error_of(response)["message"]


async def test_a_sign_in_ends_after_its_session_lifetime_however_often_refreshed(
    api: Api, owner_email: str
) -> None:
    settings = settings_for(api.db.url, sign_in_session_ttl_s=2, refresh_token_ttl_s=3600)
    async with client(api.db, settings) as http:
        token = (await login(http, owner_email, PASSWORD)).json()["refreshToken"]
        refreshed = await refresh_with(http, token)
        await asyncio.sleep(2.1)
        late = await refresh_with(http, refreshed.json()["refreshToken"])

    assert refreshed.status_code == 200
    assert late.status_code == 401


@pytest.mark.parametrize("change", ["deactivated", "deleted"])
async def test_refresh_of_a_deactivated_or_deleted_user_gets_401(api: Api, change: str) -> None:
    user_id, _ = await api.staff("VIEW_ALL_ACCOUNTS")
    user_uuid = decode_id(user_id, "User")
    assert user_uuid is not None
    email = await give_password(api.db, api.firm_id, user_uuid, PASSWORD)
    first = await signed_in(api, email)
    if change == "deactivated":
        await api.ok("updateUser", {"userId": user_id, "isActive": False})
    else:
        await api.ok("deleteUser", {"userId": user_id})

    response = await refresh_with(api.http, first["refreshToken"])

    assert response.status_code == 401


# --- several firms ---------------------------------------------------------------------------


@pytest.fixture
async def two_firms_email(api: Api, other_firm: Api, owner_email: str) -> str:
    """The owner's e-mail is also a user of another firm, with the same password."""
    payload = await other_firm.ok(
        "createUser", {"name": "Same Person", "email": owner_email}, "user { id }"
    )
    user_uuid = decode_id(payload["user"]["id"], "User")
    assert user_uuid is not None
    await give_password(other_firm.db, other_firm.firm_id, user_uuid, PASSWORD)
    return owner_email


async def firm_name(api: Api) -> str:
    return (await api.data("{ viewer { firm { name } } }"))["viewer"]["firm"]["name"]


async def test_an_email_of_several_firms_without_firm_id_gets_409_with_the_firms(
    api: Api, other_firm: Api, two_firms_email: str
) -> None:
    response = await login(api.http, two_firms_email, PASSWORD)

    assert response.status_code == 409, response.text
    error = error_of(response)
    assert error["extensions"]["code"] == "CONFLICT"
    expected = [
        {"id": encode_id("Firm", api.firm_id), "name": await firm_name(api)},
        {"id": encode_id("Firm", other_firm.firm_id), "name": await firm_name(other_firm)},
    ]
    assert sorted(error["extensions"]["firms"], key=lambda f: f["name"]) == sorted(
        expected, key=lambda f: f["name"]
    )


async def test_firm_id_chooses_the_firm_to_sign_in_to(
    api: Api, other_firm: Api, two_firms_email: str
) -> None:
    response = await login(
        api.http, two_firms_email, PASSWORD, firmId=encode_id("Firm", other_firm.firm_id)
    )

    assert response.status_code == 200, response.text
    viewer = (await viewer_with(api.http, response.json()["accessToken"])).json()["data"]
    assert viewer["viewer"]["firm"]["id"] == encode_id("Firm", other_firm.firm_id)


async def test_the_firms_are_named_only_to_who_knows_the_password(
    api: Api, two_firms_email: str
) -> None:
    response = await login(api.http, two_firms_email, "a guess, not the password")

    assert response.status_code == 401
    assert "firms" not in error_of(response)["extensions"]


async def test_a_password_that_fits_one_of_the_firms_signs_in_to_that_one(
    api: Api, other_firm: Api, two_firms_email: str
) -> None:
    await give_password(api.db, api.firm_id, api.user_id, "the first firm's own password")

    response = await login(api.http, two_firms_email, PASSWORD)

    assert response.status_code == 200, response.text
    viewer = (await viewer_with(api.http, response.json()["accessToken"])).json()["data"]
    assert viewer["viewer"]["firm"]["id"] == encode_id("Firm", other_firm.firm_id)


async def test_a_firm_id_that_is_no_firm_gets_400(api: Api, owner_email: str) -> None:
    response = await login(api.http, owner_email, PASSWORD, firmId=encode_id("User", api.user_id))

    assert response.status_code == 400
    assert error_of(response)["extensions"] == {"code": "BAD_REQUEST"}


# --- lockout ---------------------------------------------------------------------------------


@pytest.fixture(params=["memory", "redis"])
def counters(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Where the failed sign-ins are counted: this process, or Redis (shared by every
    instance) under a key prefix of the test's own."""
    if request.param == "memory":
        return {"redis_url": None}
    return {
        "redis_url": request.getfixturevalue("redis_url"),
        "redis_key_prefix": request.getfixturevalue("redis_key_prefix"),
    }


@contextlib.asynccontextmanager
async def client(
    db: Database, settings: Settings, address: str = "127.0.0.1"
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a new app instance with `settings`, calling from `address`."""
    transport = httpx.ASGITransport(app=create_app(settings, db), client=(address, 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def test_five_failed_sign_ins_lock_the_email_from_that_address_with_429(
    api: Api, owner_email: str, counters: dict[str, Any]
) -> None:
    settings = settings_for(api.db.url, **counters)
    async with (
        client(api.db, settings, "10.0.0.1") as http,
        client(api.db, settings, "10.0.0.2") as elsewhere,
    ):
        failures = [await login(http, owner_email, f"wrong password {n}") for n in range(5)]
        locked = await login(http, owner_email, PASSWORD)
        other_address = await login(elsewhere, owner_email, PASSWORD)
        other_email = await login(http, f"x-{owner_email}", PASSWORD)

    assert [r.status_code for r in failures] == [401] * 5
    assert locked.status_code == 429, "even the right password waits out the lockout"
    assert error_of(locked)["extensions"] == {"code": "RATE_LIMITED"}
    assert 14 * 60 <= int(locked.headers["retry-after"]) <= 15 * 60
    assert other_address.status_code == 200
    assert other_email.status_code == 401


async def test_a_successful_sign_in_forgets_the_failures_before_it(
    api: Api, owner_email: str, counters: dict[str, Any]
) -> None:
    settings = settings_for(api.db.url, **counters)
    async with client(api.db, settings) as http:
        for n in range(4):
            await login(http, owner_email, f"wrong password {n}")
        assert (await login(http, owner_email, PASSWORD)).status_code == 200
        later = [await login(http, owner_email, f"wrong again {n}") for n in range(4)]
        still = await login(http, owner_email, PASSWORD)

    assert [r.status_code for r in later] == [401] * 4
    assert still.status_code == 200


async def test_instances_sharing_redis_share_the_lockout(
    api: Api, owner_email: str, redis_url: str, redis_key_prefix: str
) -> None:
    settings = settings_for(api.db.url, redis_url=redis_url, redis_key_prefix=redis_key_prefix)
    async with client(api.db, settings) as first, client(api.db, settings) as second:
        for n in range(3):
            await login(first, owner_email, f"wrong password {n}")
        for n in range(2):
            await login(second, owner_email, f"wrong password {n}")
        locked = await login(first, owner_email, PASSWORD)

    assert locked.status_code == 429


# --- bad requests ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/auth/login", "/auth/refresh", "/auth/logout", "/auth/set-password"]
)
async def test_auth_endpoints_take_only_post(api: Api, path: str) -> None:
    response = await api.http.get(path)

    assert response.status_code == 405
    assert error_of(response)["extensions"] == {"code": "METHOD_NOT_ALLOWED"}
    assert response.headers["x-request-id"]


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"[1, 2]", 400),
        (b"{not json", 400),
        (b'{"email": 5, "password": "x"}', 400),
        (b'{"email": "a@example.com"}', 400),
        (b'{"email": "a\\u0000@example.com", "password": "x"}', 400),
    ],
    ids=["not-an-object", "not-json", "email-not-a-string", "no-password", "nul"],
)
async def test_a_malformed_login_body_gets_a_clear_400(
    api: Api, content: bytes, status: int
) -> None:
    response = await api.http.post(
        "/auth/login", content=content, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == status
    assert error_of(response)["extensions"] == {"code": "BAD_REQUEST"}


async def test_a_huge_login_body_is_refused_before_anything_is_hashed(api: Api) -> None:
    started = time.perf_counter()
    response = await api.http.post(
        "/auth/login", json={"email": "a@example.com", "password": "p" * 10_000_000}
    )

    assert response.status_code == 413
    assert error_of(response)["extensions"] == {"code": "PAYLOAD_TOO_LARGE"}
    assert time.perf_counter() - started < 5


async def test_an_over_long_password_is_refused_without_hashing(api: Api, owner_email: str) -> None:
    response = await login(api.http, owner_email, "p" * 5000)

    assert response.status_code == 401


async def test_two_refreshes_racing_with_one_token_end_the_sign_in(
    api: Api, owner_email: str
) -> None:
    """The second to arrive presents a spent token: as if it had been copied."""
    first = await signed_in(api, owner_email)

    responses = await asyncio.gather(
        refresh_with(api.http, first["refreshToken"]), refresh_with(api.http, first["refreshToken"])
    )

    assert sorted(r.status_code for r in responses) == [200, 401]
    [winner] = [r for r in responses if r.status_code == 200]
    assert (await refresh_with(api.http, winner.json()["refreshToken"])).status_code == 401


async def test_the_access_token_lifetime_is_a_setting(api: Api, owner_email: str) -> None:
    settings = settings_for(api.db.url, access_token_ttl_s=60)
    async with client(api.db, settings) as http:
        response = await login(http, owner_email, PASSWORD)

    body = response.json()
    claims = jwt.decode(body["accessToken"], options={"verify_signature": False})
    assert body["expiresIn"] == 60
    assert claims["exp"] - claims["iat"] == 60


async def stored_hash(api: Api, replacement: str | None = None) -> str | None:
    """The owner's stored password hash, after replacing it with `replacement` if given."""

    async def work(session: Any) -> str | None:
        user = await session.get_one(models.User, api.user_id)
        if replacement is not None:
            user.password_hash = replacement
        return user.password_hash

    return await api.db.write(work, firm_id=api.firm_id)


async def test_a_password_hashed_with_older_parameters_is_rehashed_at_sign_in(
    api: Api, owner_email: str
) -> None:
    weaker = argon2.PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    old_hash = await stored_hash(api, weaker.hash(PASSWORD))
    assert old_hash is not None and passwords.needs_rehash(old_hash)

    response = await login(api.http, owner_email, PASSWORD)

    new_hash = await stored_hash(api)
    assert response.status_code == 200
    assert new_hash is not None and new_hash != old_hash
    assert not passwords.needs_rehash(new_hash)
    assert (await login(api.http, owner_email, PASSWORD)).status_code == 200
