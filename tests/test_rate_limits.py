"""Rate limits (API.md §3, §7): a budget of nodes per minute for each caller, failed
authentications throttled per client address, each 429 RATE_LIMITED with Retry-After, and
RateLimit-* headers on every /graphql answer; counted in memory, or in Redis shared by every
app instance."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from clientgraph.app import create_app
from clientgraph.settings import Settings

from tests.support import SECRET, Api

OpenClient = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]

TYPENAME = "{ __typename }"
ENABLE_OWNERSHIP = (
    "mutation { updateFirmSettings(input: {clientOwnershipEnabled: true}) "
    "{ settings { clientOwnershipEnabled } } }"
)
OWNERSHIP = "{ viewer { firm { settings { clientOwnershipEnabled } } } }"


@pytest.fixture(params=["memory", "redis"])
def storage(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The settings that choose where counters live: this process, or Redis under a key
    prefix of the test's own."""
    if request.param == "memory":
        return {"redis_url": None}
    return {
        "redis_url": request.getfixturevalue("redis_url"),
        "redis_key_prefix": request.getfixturevalue("redis_key_prefix"),
    }


@asynccontextmanager
async def open_client(
    api: Api, storage: dict[str, Any], address: str = "127.0.0.1", **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A client on a new app instance of the test's database, counting in `storage`, with the
    given settings, calling from `address`."""
    settings = Settings(database_url=api.db.url, secret=SECRET, **{**storage, **overrides})
    transport = httpx.ASGITransport(app=create_app(settings, api.db), client=(address, 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
def client_with(api: Api, storage: dict[str, Any]) -> OpenClient:
    return lambda *args, **overrides: open_client(api, storage, *args, **overrides)


@pytest.fixture
def shared_redis(redis_url: str, redis_key_prefix: str) -> dict[str, Any]:
    return {"redis_url": redis_url, "redis_key_prefix": redis_key_prefix}


async def post(http: httpx.AsyncClient, token: str | None, query: str = TYPENAME) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return await http.post("/graphql", json={"query": query}, headers=headers)


def budget(response: httpx.Response) -> tuple[int, int, int]:
    """(RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset) of an answer."""
    return (
        int(response.headers["ratelimit-limit"]),
        int(response.headers["ratelimit-remaining"]),
        int(response.headers["ratelimit-reset"]),
    )


def assert_rate_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.json() == {
        "errors": [
            {
                "message": response.json()["errors"][0]["message"],
                "extensions": {"code": "RATE_LIMITED"},
            }
        ]
    }
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert budget(response)[1] == 0


def requested_nodes(response: httpx.Response) -> int:
    """What the request asked for, as `extensions.cost` reports it; 1 where nothing does."""
    cost = response.json().get("extensions", {}).get("cost", {})
    return max(1, cost.get("requestedNodes", 1))


# --- the node budget -------------------------------------------------------------------------


async def test_every_answer_tells_the_callers_node_budget(
    api: Api, client_with: OpenClient
) -> None:
    async with client_with(rate_limit_nodes_per_minute=1000) as http:
        first = await post(http, api.token)
        second = await post(http, api.token, "{ accounts(first: 40) { nodes { name } } }")

    assert first.status_code == second.status_code == 200
    limit, remaining, reset = budget(first)
    assert (limit, remaining) == (1000, 1000 - requested_nodes(first))
    assert 1 <= reset <= 60
    assert budget(second)[1] == remaining - requested_nodes(second)


async def test_a_caller_whose_node_budget_is_spent_gets_429_rate_limited(
    api: Api, client_with: OpenClient
) -> None:
    async with client_with(rate_limit_nodes_per_minute=3) as http:
        allowed = [await post(http, api.token) for _ in range(3)]
        refused = await post(http, api.token)

    assert [response.status_code for response in allowed] == [200, 200, 200]
    assert [budget(response)[1] for response in allowed] == [2, 1, 0]
    assert_rate_limited(refused)


async def test_a_spent_budget_refuses_a_mutation_before_it_runs(
    api: Api, client_with: OpenClient
) -> None:
    async with client_with(rate_limit_nodes_per_minute=1) as http:
        assert (await post(http, api.token)).status_code == 200
        refused = await post(http, api.token, ENABLE_OWNERSHIP)

    assert_rate_limited(refused)
    data = await api.data(OWNERSHIP)
    assert data["viewer"]["firm"]["settings"]["clientOwnershipEnabled"] is False


async def test_every_token_of_one_user_spends_the_same_budget(
    api: Api, client_with: OpenClient
) -> None:
    async with client_with(rate_limit_nodes_per_minute=2) as http:
        assert (await post(http, api.token)).status_code == 200
        assert (await post(http, api.token_for(api.user_id))).status_code == 200
        refused = await post(http, api.token_for(api.user_id))

    assert_rate_limited(refused)


async def test_another_user_has_a_budget_of_their_own(api: Api, client_with: OpenClient) -> None:
    _, staff_token = await api.staff()
    async with client_with(rate_limit_nodes_per_minute=1) as http:
        assert (await post(http, api.token)).status_code == 200
        assert (await post(http, api.token)).status_code == 429
        response = await post(http, staff_token)

    assert response.status_code == 200
    assert budget(response)[:2] == (1, 0)


async def test_a_refused_request_is_not_charged(api: Api, client_with: OpenClient) -> None:
    async with client_with(rate_limit_nodes_per_minute=1) as http:
        assert (await post(http, api.token)).status_code == 200
        refusals = [await post(http, api.token) for _ in range(3)]

    assert [budget(response)[:2] for response in refusals] == [(1, 0)] * 3


async def test_the_node_budget_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIENTGRAPH_RATE_LIMIT_NODES_PER_MINUTE", "1234")

    assert Settings().rate_limit_nodes_per_minute == 1234
    assert Settings.model_fields["rate_limit_nodes_per_minute"].default == 250_000


# --- failed authentication -------------------------------------------------------------------


async def test_unauthenticated_answers_tell_the_address_failure_budget(
    client_with: OpenClient,
) -> None:
    async with client_with(rate_limit_failed_auth_per_minute=5) as http:
        first = await post(http, None)
        second = await post(http, "forged")

    assert first.status_code == second.status_code == 401
    assert budget(first)[:2] == (5, 4)
    assert budget(second)[:2] == (5, 3)


async def test_an_address_past_its_failed_authentications_gets_429_even_with_a_good_token(
    api: Api, client_with: OpenClient
) -> None:
    async with client_with(rate_limit_failed_auth_per_minute=3) as http:
        failures = [await post(http, "forged") for _ in range(3)]
        refused = await post(http, "forged")
        refused_good = await post(http, api.token)

    assert [response.status_code for response in failures] == [401, 401, 401]
    assert_rate_limited(refused)
    assert_rate_limited(refused_good)


async def test_another_address_is_not_throttled_by_ones_failures(
    api: Api, client_with: OpenClient
) -> None:
    async with client_with("192.0.2.1", rate_limit_failed_auth_per_minute=2) as attacker:
        for _ in range(3):
            await post(attacker, "forged")
        assert (await post(attacker, "forged")).status_code == 429
    async with client_with("192.0.2.2", rate_limit_failed_auth_per_minute=2) as neighbour:
        response = await post(neighbour, api.token)

    assert response.status_code == 200


async def test_successful_requests_spend_nothing_of_the_failure_budget(
    api: Api, client_with: OpenClient
) -> None:
    async with client_with(rate_limit_failed_auth_per_minute=2) as http:
        responses = [await post(http, api.token) for _ in range(4)]
        failure = await post(http, "forged")

    assert [response.status_code for response in responses] == [200] * 4
    assert failure.status_code == 401
    assert budget(failure)[:2] == (2, 1)


async def test_the_failure_budget_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIENTGRAPH_RATE_LIMIT_FAILED_AUTH_PER_MINUTE", "7")

    assert Settings().rate_limit_failed_auth_per_minute == 7
    assert Settings.model_fields["rate_limit_failed_auth_per_minute"].default == 30


# --- other answers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body", [b"null", b"{ not json", b'{"query": "{ viewer { nope } }"}'], ids=str
)
async def test_answers_after_authentication_tell_the_node_budget(
    api: Api, client_with: OpenClient, body: bytes
) -> None:
    async with client_with(rate_limit_nodes_per_minute=100) as http:
        response = await http.post(
            "/graphql",
            content=body,
            headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"},
        )

    assert response.status_code in (200, 400)
    assert budget(response)[0] == 100


# --- across app instances --------------------------------------------------------------------


async def test_two_app_instances_on_one_redis_share_one_budget(
    api: Api, shared_redis: dict[str, Any]
) -> None:
    async with (
        open_client(api, shared_redis, rate_limit_nodes_per_minute=2) as one,
        open_client(api, shared_redis, rate_limit_nodes_per_minute=2) as other,
    ):
        assert (await post(one, api.token)).status_code == 200
        assert (await post(other, api.token)).status_code == 200
        refused_by_one = await post(one, api.token)
        refused_by_other = await post(other, api.token)

    assert_rate_limited(refused_by_one)
    assert_rate_limited(refused_by_other)


async def test_two_app_instances_on_one_redis_share_the_failure_budget(
    api: Api, shared_redis: dict[str, Any]
) -> None:
    async with (
        open_client(api, shared_redis, rate_limit_failed_auth_per_minute=1) as one,
        open_client(api, shared_redis, rate_limit_failed_auth_per_minute=1) as other,
    ):
        assert (await post(one, "forged")).status_code == 401
        refused = await post(other, "forged")

    assert_rate_limited(refused)


async def test_an_unreachable_redis_lets_requests_through_unlimited_and_logs_it(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(database_url=api.db.url, secret=SECRET, redis_url="redis://127.0.0.1:1/0")
    caplog.set_level(logging.ERROR, logger="clientgraph.rate_limits")
    transport = httpx.ASGITransport(app=create_app(settings, api.db))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await post(http, api.token)

    assert response.status_code == 200
    assert "ratelimit-remaining" not in response.headers
    assert any("rate limit store unreachable" in r.getMessage() for r in caplog.records)
