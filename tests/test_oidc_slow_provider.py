"""A slow identity provider (issue 14, point 3): fetching its keys has one time limit for the
whole fetch (httpx's timeout is per read, and the provider here sends its JWKS a byte every
half second), the wait for them lies within the request's deadline, and a slow fetch holds no
other sign-in: a token whose key is held answers at once, one that needs the fetch gets 503
within about a second. GraphiQL's page, which reads the provider's discovery document, waits
no longer than the same limit."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from clientgraph.db.engine import Database

from tests.oidc_provider import AUDIENCE, Provider, SigningKey, serve_provider
from tests.support import Api, eventually, new_firm, settings_for
from tests.test_graphiql_page import BROWSER
from tests.test_oidc import ask, email_of_owner, sso_client

TRICKLE_S = 0.5
FETCH_LIMIT_S = 3.0
GIVE_UP_S = 30.0
"""How long the test waits for an answer at all (before, a trickling JWKS held a request for
as long as it took to send: minutes)."""
SLACK_S = 2.0
"""What a busy machine may add to a time the service keeps."""


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.new("ES256")


@pytest.fixture
def provider(key: SigningKey) -> Iterator[Provider]:
    with serve_provider(key) as running:
        yield running


async def timed(request: asyncio.Future[httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await asyncio.wait_for(request, GIVE_UP_S)
    return response, time.monotonic() - started


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert response.headers["Retry-After"]


async def test_a_trickling_key_fetch_stops_at_its_time_limit(
    api: Api, provider: Provider, key: SigningKey
) -> None:
    provider.seconds_per_byte = TRICKLE_S
    async with sso_client(api, provider, oidc_http_timeout_s=FETCH_LIMIT_S) as http:
        token = provider.token(key, await email_of_owner(api))
        response, seconds = await timed(asyncio.ensure_future(ask(http, token)))

    assert_unavailable(response)
    assert FETCH_LIMIT_S - 0.5 <= seconds <= FETCH_LIMIT_S + SLACK_S


async def test_the_wait_for_keys_ends_with_the_requests_deadline(
    api: Api, provider: Provider, key: SigningKey
) -> None:
    provider.seconds_per_byte = TRICKLE_S
    async with sso_client(
        api, provider, request_timeout_s=1.0, oidc_http_timeout_s=GIVE_UP_S
    ) as http:
        token = provider.token(key, await email_of_owner(api))
        response, seconds = await timed(asyncio.ensure_future(ask(http, token)))

    assert_unavailable(response)
    assert seconds <= 1.0 + SLACK_S


async def _during_a_slow_fetch(
    api: Api, provider: Provider, key: SigningKey, second_kid: str
) -> tuple[httpx.Response, float, bool]:
    """Keys fetched and held (and, at once, old enough to be fetched again); then the provider
    turns slow, a token naming a key it rotated in starts a fetch, and a second token, naming
    `second_kid`, is sent while that fetch runs: the second's answer, how long it took, and
    whether the first was still waiting then."""
    email = await email_of_owner(api)
    async with sso_client(
        api,
        provider,
        oidc_http_timeout_s=FETCH_LIMIT_S,
        oidc_jwks_max_age_s=0.001,
        oidc_jwks_min_refresh_interval_s=0,
    ) as http:
        assert (await ask(http, provider.token(key, email))).status_code == 200
        provider.seconds_per_byte = TRICKLE_S
        rotated = SigningKey.new("ES256")
        provider.keys = [key, rotated]
        fetches = provider.hits["jwks"]
        first = asyncio.ensure_future(ask(http, provider.token(rotated, email)))
        await eventually(lambda: provider.hits["jwks"] > fetches)
        second = provider.token(key, email, kid=second_kid)
        response, seconds = await timed(asyncio.ensure_future(ask(http, second)))
        first_still_waiting = not first.done()
        first.cancel()
        await asyncio.gather(first, return_exceptions=True)
    return response, seconds, first_still_waiting


async def test_during_a_slow_fetch_a_token_whose_key_is_held_answers_at_once(
    api: Api, provider: Provider, key: SigningKey
) -> None:
    response, seconds, first_still_waiting = await _during_a_slow_fetch(
        api, provider, key, second_kid=key.kid
    )

    assert response.status_code == 200, response.text
    assert seconds <= SLACK_S
    assert first_still_waiting


async def test_during_a_slow_fetch_a_token_naming_an_unknown_key_fails_fast_with_503(
    api: Api, provider: Provider, key: SigningKey
) -> None:
    response, seconds, first_still_waiting = await _during_a_slow_fetch(
        api, provider, key, second_kid=uuid.uuid4().hex
    )

    assert_unavailable(response)
    assert seconds <= 1.0 + SLACK_S
    assert first_still_waiting


async def test_graphiqls_page_waits_for_a_trickling_discovery_document_no_longer_than_the_limit(
    database: Database, provider: Provider
) -> None:
    """The page offers the provider's sign-in when its discovery document can be had; past
    the time limit it offers passwords only."""
    provider.seconds_per_byte = TRICKLE_S
    settings = settings_for(
        database.url,
        oidc_issuer=provider.issuer,
        oidc_audience=AUDIENCE,
        oidc_client_id=AUDIENCE,
        oidc_http_timeout_s=FETCH_LIMIT_S,
    )
    async with new_firm(database, settings=settings) as api:
        page = asyncio.ensure_future(api.http.get("/graphql", headers=BROWSER))
        response, seconds = await timed(page)

    assert response.status_code == 200
    assert 'type="password"' in response.text
    assert "data-oidc" not in response.text
    assert seconds <= FETCH_LIMIT_S + SLACK_S
