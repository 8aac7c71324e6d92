"""Single sign-on (API.md §3): bearer JWTs of the configured OIDC identity provider, signed
with RS256 or ES256 by a key of its JWKS, sign in the user whose e-mail they carry. The
provider is a real HTTP server on 127.0.0.1 serving keys the tests make."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import jwt
import pytest
from clientgraph.app import create_app
from clientgraph.ids import encode_id
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.oidc_provider import (
    AUDIENCE,
    Provider,
    SigningKey,
    hs256_token,
    serve_provider,
    unsigned_token,
)
from tests.support import Api, asyncpg_dsn, settings_for
from tests.test_token_errors import ANSWER, LIBRARY_PHRASES

VIEWER = "{ viewer { user { email } firm { id } } }"


@pytest.fixture(scope="module")
def rsa_key() -> SigningKey:
    return SigningKey.new("RS256")


@pytest.fixture(scope="module")
def ec_key() -> SigningKey:
    return SigningKey.new("ES256")


@pytest.fixture
def provider(rsa_key: SigningKey, ec_key: SigningKey) -> Iterator[Provider]:
    with serve_provider(rsa_key, ec_key) as running:
        yield running


@asynccontextmanager
async def sso_client(
    api: Api, provider: Provider, address: str = "127.0.0.1", **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a new app instance (so a key cache of its own) that trusts `provider`."""
    settings = settings_for(
        api.db.url, oidc_issuer=provider.issuer, oidc_audience=AUDIENCE, **overrides
    )
    transport = httpx.ASGITransport(app=create_app(settings, api.db), client=(address, 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def ask(http: httpx.AsyncClient, token: str, query: str = VIEWER) -> httpx.Response:
    return await http.post(
        "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"}
    )


async def email_of_owner(api: Api) -> str:
    return (await api.data(VIEWER))["viewer"]["user"]["email"]


def assert_unauthorized(response: httpx.Response, reason: str, words: str = "") -> None:
    assert response.status_code == 401, response.text
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "UNAUTHENTICATED", "reason": reason}
    assert words.lower() in error["message"].lower(), error["message"]
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
async def test_a_provider_token_signs_in_the_user_with_its_email(
    api: Api, provider: Provider, rsa_key: SigningKey, ec_key: SigningKey, algorithm: str
) -> None:
    email = await email_of_owner(api)
    key = rsa_key if algorithm == "RS256" else ec_key
    async with sso_client(api, provider) as http:
        response = await ask(http, provider.token(key, email))
    assert response.status_code == 200, response.text
    assert response.json()["data"]["viewer"] == {
        "user": {"email": email},
        "firm": {"id": encode_id("Firm", api.firm_id)},
    }


async def test_the_email_matches_whatever_its_case(
    api: Api, provider: Provider, rsa_key: SigningKey
) -> None:
    email = await email_of_owner(api)
    async with sso_client(api, provider) as http:
        response = await ask(http, provider.token(rsa_key, email.upper()))
    assert response.json()["data"]["viewer"]["user"]["email"] == email


async def test_our_own_tokens_still_work_beside_the_provider(api: Api, provider: Provider) -> None:
    async with sso_client(api, provider) as http:
        response = await ask(http, api.token)
    assert response.status_code == 200, response.text
    assert provider.hits == {"discovery": 0, "jwks": 0}


async def test_keys_are_fetched_once_and_then_kept(
    api: Api, provider: Provider, rsa_key: SigningKey, ec_key: SigningKey
) -> None:
    email = await email_of_owner(api)
    async with sso_client(api, provider) as http:
        for key in (rsa_key, ec_key, rsa_key, ec_key):
            assert (await ask(http, provider.token(key, email))).status_code == 200
    assert provider.hits == {"discovery": 1, "jwks": 1}


async def test_a_configured_jwks_url_is_used_without_discovery(
    api: Api, provider: Provider, rsa_key: SigningKey
) -> None:
    email = await email_of_owner(api)
    async with sso_client(api, provider, oidc_jwks_url=provider.jwks_url) as http:
        assert (await ask(http, provider.token(rsa_key, email))).status_code == 200
    assert provider.hits == {"discovery": 0, "jwks": 1}


REFUSED_CLAIMS = {
    "another audience": (
        {"aud": "someone-else"},
        "WRONG_AUDIENCE",
        f"whose audience (`aud`) is `{AUDIENCE}`",
    ),
    "expired": (
        {"exp": int(time.time()) - 3600},
        "EXPIRED",
        "has expired: get a new one from your identity provider",
    ),
    "not yet valid": ({"nbf": int(time.time()) + 3600}, "MALFORMED", "not valid yet"),
    "issued in the future": ({"iat": int(time.time()) + 3600}, "MALFORMED", "not valid yet"),
    "no expiry": ({"exp": None}, "MALFORMED", "lacks the `exp` claim"),
    "no audience": ({"aud": None}, "MALFORMED", "lacks the `aud` claim"),
    "unverified e-mail": ({"email_verified": False}, "MALFORMED", "not verified"),
    "no e-mail": ({"email": None}, "MALFORMED", "no usable `email` claim"),
}


@pytest.mark.parametrize("case", list(REFUSED_CLAIMS))
async def test_a_provider_token_with_bad_claims_is_refused(
    api: Api, provider: Provider, rsa_key: SigningKey, case: str
) -> None:
    claims, reason, words = REFUSED_CLAIMS[case]
    email = await email_of_owner(api)
    async with sso_client(api, provider) as http:
        response = await ask(http, provider.token(rsa_key, email, **claims))
    assert_unauthorized(response, reason, words)


async def test_a_token_of_another_issuer_is_refused(
    api: Api, provider: Provider, rsa_key: SigningKey
) -> None:
    email = await email_of_owner(api)
    async with sso_client(api, provider) as http:
        response = await ask(
            http, provider.token(rsa_key, email, iss="https://idp.attacker.example")
        )
    assert_unauthorized(response, "MALFORMED")


async def test_an_hs256_token_keyed_with_the_providers_public_key_is_refused(
    api: Api, provider: Provider, rsa_key: SigningKey
) -> None:
    """The classic confusion: the public key, which anyone can fetch, used as an HMAC secret."""
    email = await email_of_owner(api)
    public_pem = rsa_key.private.public_key().public_bytes(
        Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
    )
    token = hs256_token(
        {"alg": "HS256", "typ": "JWT", "kid": rsa_key.kid}, provider.claims(email), public_pem
    )
    async with sso_client(api, provider) as http:
        response = await ask(http, token)
    assert_unauthorized(response, "MALFORMED", "RS256 or ES256")


async def test_an_unsigned_token_is_refused(api: Api, provider: Provider) -> None:
    email = await email_of_owner(api)
    token = unsigned_token({"alg": "none", "typ": "JWT"}, provider.claims(email))
    async with sso_client(api, provider) as http:
        response = await ask(http, token)
    assert_unauthorized(response, "MALFORMED", "RS256 or ES256")


async def test_a_token_signed_by_a_key_the_provider_does_not_publish_is_refused(
    api: Api, provider: Provider
) -> None:
    email = await email_of_owner(api)
    stranger = SigningKey.new("ES256")
    async with sso_client(api, provider) as http:
        response = await ask(http, provider.token(stranger, email))
    assert_unauthorized(response, "MALFORMED", "a key the identity provider does not publish")


async def test_a_forged_signature_under_a_published_key_id_is_refused(
    api: Api, provider: Provider, ec_key: SigningKey
) -> None:
    email = await email_of_owner(api)
    forger = SigningKey.new("ES256")
    async with sso_client(api, provider) as http:
        response = await ask(http, provider.token(forger, email, kid=ec_key.kid))
    assert_unauthorized(response, "MALFORMED", "valid signature")


async def test_a_key_the_provider_rotates_in_is_fetched_once_and_accepted(
    api: Api, provider: Provider, rsa_key: SigningKey
) -> None:
    email = await email_of_owner(api)
    async with sso_client(api, provider, oidc_jwks_min_refresh_interval_s=0) as http:
        assert (await ask(http, provider.token(rsa_key, email))).status_code == 200
        rotated = SigningKey.new("ES256")
        provider.keys = [rotated]
        for _ in range(3):
            response = await ask(http, provider.token(rotated, email))
            assert response.status_code == 200, response.text
    assert provider.hits["jwks"] == 2


async def test_unknown_key_ids_do_not_refetch_the_keys_on_every_request(
    api: Api, provider: Provider
) -> None:
    email = await email_of_owner(api)
    stranger = SigningKey.new("ES256")
    async with sso_client(api, provider, rate_limit_failed_auth_per_minute=1000) as http:
        for _ in range(20):
            token = provider.token(stranger, email, kid=uuid.uuid4().hex)
            assert_unauthorized(
                await ask(http, token), "MALFORMED", "a key the identity provider does not publish"
            )
    assert provider.hits == {"discovery": 1, "jwks": 1}


async def test_failed_provider_tokens_spend_the_addresss_failed_authentication_budget(
    api: Api, provider: Provider, rsa_key: SigningKey
) -> None:
    email = await email_of_owner(api)
    async with sso_client(
        api, provider, address="10.9.8.7", rate_limit_failed_auth_per_minute=2
    ) as http:
        for _ in range(2):
            assert_unauthorized(
                await ask(http, provider.token(rsa_key, email, aud="other")), "WRONG_AUDIENCE"
            )
        response = await ask(http, provider.token(rsa_key, email))
    assert response.status_code == 429, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_an_unreachable_provider_answers_503_and_never_lets_the_token_in(
    api: Api, provider: Provider, rsa_key: SigningKey
) -> None:
    email = await email_of_owner(api)
    provider.up = False
    async with sso_client(api, provider) as http:
        response = await ask(http, provider.token(rsa_key, email))
    assert response.status_code == 503, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert response.headers["Retry-After"]


async def test_keys_held_keep_working_while_the_provider_is_down(
    api: Api, provider: Provider, rsa_key: SigningKey
) -> None:
    email = await email_of_owner(api)
    async with sso_client(api, provider, oidc_jwks_max_age_s=0.001) as http:
        assert (await ask(http, provider.token(rsa_key, email))).status_code == 200
        provider.up = False
        response = await ask(http, provider.token(rsa_key, email))
    assert response.status_code == 200, response.text


async def test_a_discovery_document_naming_another_issuer_is_not_trusted(
    api: Api, provider: Provider, rsa_key: SigningKey
) -> None:
    """The issuer configured is `…/` (one character more), so the document, which names the
    issuer without it, describes someone else (OpenID Connect Discovery §4.3)."""
    email = await email_of_owner(api)
    settings = settings_for(api.db.url, oidc_issuer=provider.issuer + "/", oidc_audience=AUDIENCE)
    transport = httpx.ASGITransport(app=create_app(settings, api.db))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        token = provider.token(rsa_key, email, iss=provider.issuer + "/")
        response = await ask(http, token)
    assert response.status_code == 503, response.text
    assert provider.hits == {"discovery": 1, "jwks": 0}


async def test_an_email_that_is_no_user_is_refused(
    api: Api, provider: Provider, rsa_key: SigningKey
) -> None:
    async with sso_client(api, provider) as http:
        response = await ask(http, provider.token(rsa_key, f"{uuid.uuid4().hex}@example.com"))
    assert_unauthorized(response, "REVOKED", "no active user")


@pytest.mark.parametrize("change", ["deactivated", "deleted"])
async def test_a_deactivated_or_deleted_user_cannot_sign_in(
    api: Api, provider: Provider, rsa_key: SigningKey, change: str
) -> None:
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    created = await api.ok(
        "createUser",
        {"name": "Leaver", "email": email, "role": "STAFF", "permissions": []},
        "user { id }",
    )
    user_id = created["user"]["id"]
    async with sso_client(api, provider) as http:
        assert (await ask(http, provider.token(rsa_key, email))).status_code == 200
        if change == "deactivated":
            await api.ok("updateUser", {"userId": user_id, "isActive": False})
        else:
            await api.ok("deleteUser", {"userId": user_id})
        response = await ask(http, provider.token(rsa_key, email))
    assert_unauthorized(response, "REVOKED", "no active user")


async def _same_person_in(firm: Api, email: str) -> None:
    await firm.ok(
        "createUser",
        {"name": "Shared Person", "email": email, "role": "ADMIN", "permissions": []},
        "user { id }",
    )


async def test_an_email_in_several_firms_without_a_firm_claim_is_refused(
    api: Api, other_firm: Api, provider: Provider, rsa_key: SigningKey
) -> None:
    email = await email_of_owner(api)
    await _same_person_in(other_firm, email)
    async with sso_client(api, provider) as http:
        response = await ask(http, provider.token(rsa_key, email))
    assert_unauthorized(response, "MALFORMED", "several firms")
    assert "`firm` claim" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("spelling", ["uuid", "global id"])
async def test_the_firm_claim_chooses_the_firm(
    api: Api, other_firm: Api, provider: Provider, rsa_key: SigningKey, spelling: str
) -> None:
    email = await email_of_owner(api)
    await _same_person_in(other_firm, email)
    async with sso_client(api, provider) as http:
        for firm in (other_firm, api):
            claim = str(firm.firm_id) if spelling == "uuid" else encode_id("Firm", firm.firm_id)
            response = await ask(http, provider.token(rsa_key, email, firm=claim))
            assert response.status_code == 200, response.text
            viewer = response.json()["data"]["viewer"]
            assert viewer["firm"]["id"] == encode_id("Firm", firm.firm_id)


async def test_a_firm_claim_naming_a_firm_where_the_email_is_no_user_is_refused(
    api: Api, other_firm: Api, provider: Provider, rsa_key: SigningKey
) -> None:
    email = await email_of_owner(api)
    async with sso_client(api, provider) as http:
        response = await ask(http, provider.token(rsa_key, email, firm=str(other_firm.firm_id)))
    assert_unauthorized(response, "REVOKED", "`firm` claim")


async def test_a_deactivated_membership_leaves_the_only_active_firm(
    api: Api, other_firm: Api, provider: Provider, rsa_key: SigningKey
) -> None:
    email = await email_of_owner(api)
    created = await other_firm.ok(
        "createUser",
        {"name": "Former Admin", "email": email, "role": "ADMIN", "permissions": []},
        "user { id }",
    )
    await other_firm.ok("updateUser", {"userId": created["user"]["id"], "isActive": False})
    async with sso_client(api, provider) as http:
        response = await ask(http, provider.token(rsa_key, email))
    assert response.status_code == 200, response.text
    assert response.json()["data"]["viewer"]["firm"]["id"] == encode_id("Firm", api.firm_id)


async def test_a_malformed_firm_claim_is_refused(
    api: Api, provider: Provider, rsa_key: SigningKey
) -> None:
    email = await email_of_owner(api)
    async with sso_client(api, provider) as http:
        response = await ask(http, provider.token(rsa_key, email, firm="not-a-firm"))
    assert_unauthorized(response, "MALFORMED", "`firm` claim")


@pytest.mark.parametrize(
    "setting", [{"oidc_issuer": "http://idp.example"}, {"oidc_jwks_url": "http://idp.example/jwks"}]
)
async def test_keys_from_elsewhere_over_plain_http_are_refused_at_start(
    api: Api, setting: dict[str, str]
) -> None:
    """Anyone on the way could swap them; plain HTTP is for a provider on this machine."""
    settings = settings_for(
        api.db.url, **{"oidc_issuer": "https://idp.example", "oidc_audience": AUDIENCE, **setting}
    )
    with pytest.raises(ValueError, match="https://"):
        create_app(settings, api.db)


async def test_the_issuer_needs_an_audience() -> None:
    with pytest.raises(ValueError, match="CLIENTGRAPH_OIDC_AUDIENCE"):
        settings_for("sqlite+aiosqlite:///unused.db", oidc_issuer="https://idp.example")


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_under_row_level_security_an_email_shows_its_users_and_nothing_else(
    api: Api, other_firm: Api
) -> None:
    """How a request finds a provider token's user before it knows the firm (the sign-in
    lookup of migration 0005), seen as the app role in plain SQL: that e-mail's rows of
    `users` in every firm, read-only."""
    email = await email_of_owner(api)
    await _same_person_in(other_firm, email)
    await other_firm.create_account("Not visible by e-mail")
    connection = await asyncpg.connect(asyncpg_dsn(api.db.url))
    try:
        async with connection.transaction():
            await connection.execute(
                "SELECT set_config('app.sign_in_email', $1, true)", email.casefold()
            )
            users = await connection.fetch("SELECT firm_id, email FROM users")
            accounts = await connection.fetchval("SELECT count(*) FROM accounts")
            changed = await connection.execute("UPDATE users SET name = 'x'")
    finally:
        await connection.close()
    assert sorted((row["firm_id"], row["email"]) for row in users) == sorted(
        [(api.firm_id, email), (other_firm.firm_id, email)]
    )
    assert accounts == 0
    assert changed == "UPDATE 0"


async def test_a_token_without_a_key_id_is_checked_against_the_providers_only_key(
    api: Api, ec_key: SigningKey, rsa_key: SigningKey
) -> None:
    email = await email_of_owner(api)
    with serve_provider(ec_key) as single:
        token = jwt.encode(single.claims(email), ec_key.private, algorithm="ES256")
        async with sso_client(api, single) as http:
            response = await ask(http, token)
    assert response.status_code == 200, response.text
    with serve_provider(ec_key, rsa_key) as several:
        token = jwt.encode(several.claims(email), ec_key.private, algorithm="ES256")
        async with sso_client(api, several) as http:
            assert_unauthorized(
                await ask(http, token), "MALFORMED", "a key the identity provider does not publish"
            )


def provider_token_family(provider: Provider, rsa_key: SigningKey, email: str) -> dict[str, str]:
    """Provider tokens broken in every way PyJWT or the user lookup could have words for."""
    family = {
        case: provider.token(rsa_key, email, **claims)
        for case, (claims, _, _) in REFUSED_CLAIMS.items()
    }
    good = provider.token(rsa_key, email)
    header, payload, signature = good.split(".")
    return {
        **family,
        "a key it does not publish": provider.token(SigningKey.new("ES256"), email),
        "forged under its key id": provider.token(SigningKey.new("RS256"), email, kid=rsa_key.kid),
        "unsigned": unsigned_token({"alg": "none"}, provider.claims(email)),
        "a key id that is a number": unsigned_token(
            {"alg": "RS256", "kid": 7}, provider.claims(email), b"x" * 256
        ),
        "a signature cut short": f"{header}.{payload}.{signature[:8]}",
        "a signature not base64": f"{header}.{payload}.!!!",
        "a firm claim that is no id": provider.token(rsa_key, email, firm="nordlys"),
        "an e-mail that is no user": provider.token(rsa_key, f"{uuid.uuid4().hex}@example.com"),
        "an e-mail claim that is a number": provider.token(rsa_key, email, email=42),
        "an expiry that is text": provider.token(rsa_key, email, exp="soon"),
        "an audience list": provider.token(rsa_key, email, aud=["a", "b"]),
    }


def pyjwt_words(token: str, key: SigningKey, issuer: str) -> str:
    try:
        jwt.decode(
            token,
            key.private.public_key(),
            algorithms=["RS256", "ES256"],
            audience=AUDIENCE,
            issuer=issuer,
            options={"require": ["iss", "aud", "exp", "iat"]},
        )
    except (jwt.PyJWTError, TypeError, ValueError) as error:
        return str(error)
    return ""


async def test_no_library_wording_reaches_the_client_of_a_provider_token(
    api: Api, provider: Provider, rsa_key: SigningKey
) -> None:
    email = await email_of_owner(api)
    offenders = {}
    async with sso_client(api, provider, rate_limit_failed_auth_per_minute=1000) as http:
        for name, token in provider_token_family(provider, rsa_key, email).items():
            response = await ask(http, token)
            assert response.status_code == 401, (name, response.text)
            error = response.json()["errors"][0]
            said = pyjwt_words(token, rsa_key, provider.issuer)
            leaked = [p for p in LIBRARY_PHRASES if p in error["message"]]
            if said and said in error["message"]:
                leaked.append(said)
            if leaked or not ANSWER.match(error["message"]) or "reason" not in error["extensions"]:
                offenders[name] = (error["message"], leaked)

    assert offenders == {}
