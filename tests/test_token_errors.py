"""Token errors a person can act on (issue 13 point 4, API.md §3): a refused bearer credential
— a user's access token, a partner API key, a portal token — answers 401 `UNAUTHENTICATED`
with `extensions.reason` (MISSING, MALFORMED, EXPIRED, REVOKED, WRONG_AUDIENCE) and a message
in the service's words saying what is wrong and what to do, on the planned and the generic
read path alike. No library's wording reaches the client."""

from __future__ import annotations

import asyncio
import base64
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from clientgraph.auth.portal_tokens import issue_portal_token
from clientgraph.db import models
from clientgraph.db.engine import Database
from clientgraph.resolvers.portal_sign_in import PortalClaims
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.portal_support import login, portal_contact
from tests.support import SECRET, UNTHROTTLED, Api, new_firm, settings_for

VIEWER = "{ viewer { user { name } } }"
PORTAL = "{ portal { contact { firstName } } }"
READ_PATHS = {"planned": True, "generic": False}
LIBRARY_PHRASES = (
    "Not enough segments",
    "Signature has expired",
    "Signature verification failed",
    "Invalid audience",
    "Audience doesn't match",
    "Invalid header",
    "Invalid payload",
    "Invalid crypto padding",
    "Invalid token type",
    "Token is missing",
    "is not yet valid",
    "The specified alg value is not allowed",
    "Issued At claim",
    "Expiration Time claim",
    "badly formed hexadecimal UUID string",
    "Unauthorized:",
    "asyncpg",
    "sqlalchemy",
    "Background on this error",
    "Traceback",
    "Error",
    "Exception",
)
"""PyJWT's, Python's, asyncpg's and SQLAlchemy's words, as they phrase refusals."""
ANSWER = re.compile(r"^(The |No ).+: .+\.$")
"""What is wrong, a colon, what to do."""


@pytest.fixture(params=list(READ_PATHS))
def read_path(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def caller(database: Database, read_path: str) -> AsyncIterator[Api]:
    """A firm served with the planned read path on or off, and no failed-authentication
    budget in the way of the many refusals a test sends."""
    settings = settings_for(
        database.url,
        planned_reads=READ_PATHS[read_path],
        rate_limit_failed_auth_per_minute=UNTHROTTLED,
    )
    async with new_firm(database, settings=settings) as api:
        yield api


def signed(claims: dict[str, Any], secret: str = SECRET, **headers: Any) -> str:
    return jwt.encode(claims, secret, algorithm="HS256", headers=headers or None)


def staff_claims(api: Api, **changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims = {
        "sub": str(api.user_id),
        "firm": str(api.firm_id),
        "aud": "clientgraph",
        "iat": now,
        "exp": now + timedelta(hours=1),
        **changes,
    }
    return {name: value for name, value in claims.items() if value is not None}


def unsigned(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        raw = jwt.api_jws.json.dumps(value, default=str).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


async def new_key(api: Api, **extra: Any) -> tuple[str, str]:
    payload = await api.ok(
        "createApiKey",
        {"name": "Bank feed", "permissions": ["VIEW_ALL_ACCOUNTS"], **extra},
        "apiKey { id } key",
    )
    return payload["apiKey"]["id"], payload["key"]


async def expire_key(api: Api, key: str) -> None:
    key_id = uuid.UUID(hex=key.removeprefix("cgk_").partition("_")[0])

    async def work(session: AsyncSession) -> None:
        await session.execute(
            update(models.ApiKey)
            .where(models.ApiKey.id == key_id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )

    await api.db.write(work, firm_id=api.firm_id)


def portal_claims(api: Api) -> PortalClaims:
    return PortalClaims(uuid.uuid4(), api.firm_id, uuid.uuid4())


async def revoked_portal_token(api: Api) -> str:
    contact_id, email = await portal_contact(api)
    token = (await login(api, email)).json()["accessToken"]
    await api.ok("revokePortalAccess", {"contactId": contact_id})
    return token


async def deleted_users_token(api: Api) -> str:
    user_id, token = await api.staff(name="Gone Staff")
    await api.ok("deleteUser", {"userId": user_id})
    return token


async def revoked_key(api: Api) -> str:
    key_id, key = await new_key(api)
    await api.ok("revokeApiKey", {"apiKeyId": key_id})
    return key


async def expired_key(api: Api) -> str:
    _, key = await new_key(api, expiresAt="2999-01-01T00:00:00Z")
    await expire_key(api, key)
    return key


async def key_of_a_creator_gone(api: Api) -> str:
    creator_id, creator_token = await api.staff(role="ADMIN")
    payload = await api.ok(
        "createApiKey",
        {"name": "Bank feed", "permissions": ["VIEW_ALL_ACCOUNTS"]},
        "key",
        token=creator_token,
    )
    await api.ok("updateUser", {"userId": creator_id, "isActive": False})
    return payload["key"]


async def key_with_a_wrong_secret(api: Api) -> str:
    _, key = await new_key(api)
    return key[: key.index("_", len("cgk_")) + 1] + "not-the-secret"


def bearer(make: Callable[[Api], str]) -> Callable[[Api], Awaitable[str | None]]:
    async def header(api: Api) -> str | None:
        return f"Bearer {make(api)}"

    return header


def bearer_after(make: Callable[[Api], Awaitable[str]]) -> Callable[[Api], Awaitable[str]]:
    async def header(api: Api) -> str:
        return f"Bearer {await make(api)}"

    return header


def header(value: str | None) -> Callable[[Api], Awaitable[str | None]]:
    async def fixed(_: Api) -> str | None:
        return value

    return fixed


CASES: dict[str, tuple[Callable[[Api], Awaitable[str | None]], str]] = {
    "no Authorization header": (header(None), "MISSING"),
    "a Bearer header without a token": (header("Bearer "), "MISSING"),
    "the Basic scheme": (header("Basic dXNlcjpwYXNz"), "MALFORMED"),
    "a token that is no JWT": (header("Bearer abc"), "MALFORMED"),
    "an access token signed with another key": (
        bearer(lambda api: signed(staff_claims(api), "another-secret-0123456789abcdef012345")),
        "MALFORMED",
    ),
    "an unsigned access token": (bearer(lambda api: unsigned(staff_claims(api))), "MALFORMED"),
    "an access token without expiry": (
        bearer(lambda api: signed(staff_claims(api, exp=None))),
        "MALFORMED",
    ),
    "an access token whose user is no id": (
        bearer(lambda api: signed(staff_claims(api, sub="astrid"))),
        "MALFORMED",
    ),
    "an expired access token": (
        bearer(lambda api: api.token_for(api.user_id, ttl_seconds=-10)),
        "EXPIRED",
    ),
    "a token for another audience": (
        bearer(lambda api: signed(staff_claims(api, aud="billing"))),
        "WRONG_AUDIENCE",
    ),
    "the access token of a deleted user": (bearer_after(deleted_users_token), "REVOKED"),
    "something shaped almost like an API key": (header("Bearer cgk_nothex_secret"), "MALFORMED"),
    "an API key of no key": (header(f"Bearer cgk_{uuid.uuid4().hex}_secret"), "MALFORMED"),
    "an API key with a wrong secret": (bearer_after(key_with_a_wrong_secret), "MALFORMED"),
    "an expired API key": (bearer_after(expired_key), "EXPIRED"),
    "a revoked API key": (bearer_after(revoked_key), "REVOKED"),
    "the API key of a deactivated creator": (bearer_after(key_of_a_creator_gone), "REVOKED"),
    "an expired portal token": (
        bearer(lambda api: issue_portal_token(SECRET, portal_claims(api), ttl_seconds=-10)),
        "EXPIRED",
    ),
    "a portal token signed with another key": (
        bearer(
            lambda api: issue_portal_token(
                "another-secret-0123456789abcdef012345", portal_claims(api), ttl_seconds=60
            )
        ),
        "MALFORMED",
    ),
    "a portal token of a contact whose access was revoked": (
        bearer_after(revoked_portal_token),
        "REVOKED",
    ),
}


async def ask(api: Api, authorization: str | None, query: str = VIEWER) -> httpx.Response:
    headers = {"Authorization": authorization.encode()} if authorization is not None else {}
    return await api.http.post("/graphql", json={"query": query}, headers=headers)


def refusal(response: httpx.Response) -> dict[str, Any]:
    """The one error of a 401, after checking its shape."""
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    return error


async def test_a_good_token_is_answered_by_the_read_path_under_test(
    caller: Api, read_path: str
) -> None:
    response = await caller.post(VIEWER)

    assert response.status_code == 200, response.text
    assert response.headers["x-read-path"] == read_path


async def test_a_token_answered_before_is_refused_once_it_expires(caller: Api) -> None:
    """A worker keeps the user tokens it checked lately; keeping one never outlives it."""
    token = caller.token_for(caller.user_id, ttl_seconds=2)
    expires_at = jwt.decode(token, options={"verify_signature": False})["exp"]
    assert (await ask(caller, f"Bearer {token}")).status_code == 200

    await asyncio.sleep(max(0.0, expires_at - time.time()) + 0.1)
    response = await ask(caller, f"Bearer {token}")

    assert refusal(response)["extensions"]["reason"] == "EXPIRED"


@pytest.mark.parametrize("case", list(CASES))
async def test_a_refused_credential_names_its_reason_and_what_to_do(caller: Api, case: str) -> None:
    make, reason = CASES[case]

    error = refusal(await ask(caller, await make(caller)))

    assert error["extensions"] == {"code": "UNAUTHENTICATED", "reason": reason}
    assert ANSWER.match(error["message"]), error["message"]


@pytest.mark.parametrize(
    ("case", "message"),
    [
        (
            "an expired access token",
            "The access token has expired: refresh it at /auth/refresh or sign in again.",
        ),
        (
            "an expired API key",
            "The API key has expired: ask an administrator of your firm for a new key.",
        ),
        (
            "an expired portal token",
            "The portal token has expired: sign in again at /portal/login.",
        ),
        (
            "no Authorization header",
            "No access token was sent: send `Authorization: Bearer <token>` with an access"
            " token (sign in at /auth/login) or an API key.",
        ),
    ],
)
async def test_the_message_tells_what_to_do(caller: Api, case: str, message: str) -> None:
    make, _ = CASES[case]

    error = refusal(await ask(caller, await make(caller)))

    assert error["message"] == message


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("an access token without expiry", "lacks the `exp` claim"),
        ("a revoked API key", "was revoked"),
        ("the access token of a deleted user", "deleted or deactivated"),
        ("a portal token of a contact whose access was revoked", "/portal/login"),
        ("a token for another audience", "another audience"),
    ],
)
async def test_the_message_says_what_is_wrong(caller: Api, case: str, words: str) -> None:
    make, _ = CASES[case]

    error = refusal(await ask(caller, await make(caller)))

    assert words in error["message"]


def broken_tokens(api: Api) -> dict[str, str]:
    """Tokens broken in every way PyJWT, uuid or the database could have words for."""
    good = staff_claims(api)
    portal = {
        "contact": str(uuid.uuid4()),
        "firm": str(api.firm_id),
        "cred": str(uuid.uuid4()),
        "aud": "clientgraph-portal",
        "exp": datetime.now(UTC) + timedelta(hours=1),
    }
    header, payload, signature = signed(good).split(".")
    return {
        "one segment": "abc",
        "two segments": "abc.def",
        "four segments": "a.b.c.d",
        "empty segments": "..",
        "bad base64": "!!!.@@@.###",
        "header not JSON": "bm90IGpzb24." + payload + "." + signature,
        "payload not JSON": header + ".bm90IGpzb24." + signature,
        "payload a JSON list": header + ".WzEsMiwzXQ." + signature,
        "signature cut short": header + "." + payload + "." + signature[:5],
        "HS512": jwt.encode(good, SECRET * 2, algorithm="HS512"),
        "alg none": unsigned(good),
        "another key": signed(good, "another-secret-0123456789abcdef012345"),
        "expired": signed(staff_claims(api, exp=datetime.now(UTC) - timedelta(minutes=5))),
        "not valid yet": signed(staff_claims(api, nbf=datetime.now(UTC) + timedelta(hours=1))),
        "issued in the future": signed(
            staff_claims(api, iat=datetime.now(UTC) + timedelta(hours=1))
        ),
        "expiry not a number": signed(staff_claims(api, exp="soon")),
        "issued-at not a number": signed(staff_claims(api, iat="today")),
        "no audience": signed(staff_claims(api, aud=None)),
        "another audience": signed(staff_claims(api, aud="billing")),
        "audience list": signed(staff_claims(api, aud=["billing", "crm"])),
        "no subject": signed(staff_claims(api, sub=None)),
        "no firm": signed(staff_claims(api, firm=None)),
        "subject not an id": signed(staff_claims(api, sub="astrid")),
        "subject a number": signed(staff_claims(api, sub=42)),
        "firm not an id": signed(staff_claims(api, firm="nordlys")),
        "sign-in not an id": signed(staff_claims(api, sid="yesterday")),
        "unknown user": signed(staff_claims(api, sub=str(uuid.uuid4()))),
        "unknown firm": signed(staff_claims(api, firm=str(uuid.uuid4()))),
        "portal token without credential": signed({**portal, "cred": None}),
        "portal token with a contact not an id": signed({**portal, "contact": "mette"}),
        "portal token of no contact": signed(portal),
        "portal token expired": signed({**portal, "exp": datetime.now(UTC) - timedelta(minutes=5)}),
        "key of no id": "cgk_nothex_secret",
        "key without secret": f"cgk_{uuid.uuid4().hex}_",
        "key of no key": f"cgk_{uuid.uuid4().hex}_secret",
        "key with a quote": f"cgk_{uuid.uuid4().hex}_'; select 1; --",
        "very long": "x" * 6000,
        "not ASCII": "tøkén",
    }


def library_words(token: str) -> list[str]:
    """What PyJWT itself says about `token`, read as a user token and as a portal token."""
    said = []
    for audience in ("clientgraph", "clientgraph-portal"):
        try:
            claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience=audience)
            for name in ("sub", "firm", "contact", "cred", "sid"):
                if name in claims:
                    uuid.UUID(claims[name])
        except (jwt.PyJWTError, ValueError, TypeError, AttributeError) as error:
            said.append(str(error))
    return [words for words in said if words]


async def test_no_library_wording_reaches_the_client(caller: Api) -> None:
    offenders = {}
    for name, token in broken_tokens(caller).items():
        response = await ask(caller, f"Bearer {token}")
        error = refusal(response)
        message = error["message"]
        leaked = [p for p in (*LIBRARY_PHRASES, *library_words(token)) if p in message]
        if leaked or not ANSWER.match(message) or error["extensions"].get("reason") is None:
            offenders[name] = (message, leaked)

    assert offenders == {}


@pytest.fixture
async def sign_in_routes(database: Database) -> AsyncIterator[Api]:
    settings = settings_for(database.url, rate_limit_failed_auth_per_minute=UNTHROTTLED)
    async with new_firm(database, settings=settings) as api:
        yield api


async def test_no_library_wording_reaches_the_client_of_a_sign_in_route(
    sign_in_routes: Api,
) -> None:
    api = sign_in_routes
    strings = {**broken_tokens(api), "refresh-shaped": "cgr_" + "x" * 43, "link-shaped": "a.b"}
    routes = {
        "/auth/refresh": lambda token: {"refreshToken": token},
        "/auth/set-password": lambda token: {"token": token, "password": "a long passphrase"},
        "/portal/accept": lambda token: {"token": token, "password": "a long passphrase"},
    }
    offenders = {}
    for path, body in routes.items():
        for name, token in strings.items():
            response = await api.http.post(path, json=body(token))
            [error] = response.json()["errors"]
            leaked = [p for p in (*LIBRARY_PHRASES, *library_words(token)) if p in error["message"]]
            if (
                response.status_code not in (400, 401)
                or leaked
                or "reason" not in error["extensions"]
            ):
                offenders[f"{path} {name}"] = (response.status_code, error["message"], leaked)

    assert offenders == {}
