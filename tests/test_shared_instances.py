"""Several instances of the service on one PostgreSQL database and one Redis (issue 17, point
5): real `clientgraph serve` processes on their own ports, one of them with two workers, share
the rate limits, the persisted documents and the sign-ins, whichever instance a request
reaches."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from clientgraph.auth.access_tokens import issue_token
from clientgraph.db.engine import Database
from clientgraph.resolvers.firms import create_firm

from tests.support import APP_ROLE, SECRET, owner_url
from tests.test_persisted_queries import persisted
from tests.test_serve import Served, clientgraph_serve
from tests.test_sign_in import PASSWORD, give_password

FAILED_AUTH_PER_MINUTE = 6
ACCOUNTS = "{ accounts(first: 5) { nodes { name } } }"


@pytest.fixture(scope="module")
def instances(
    database: Database, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[Served]]:
    """Two single-worker instances and one of two workers, on one database and one Redis
    under a key prefix of this module's own."""
    if database.dialect != "postgresql":
        pytest.skip("instances share a server database; SQLite is one process's file")
    directory = tmp_path_factory.mktemp("shared-instances")
    env = {
        "DATABASE_URL": owner_url(database),
        "CLIENTGRAPH_APP_ROLE": APP_ROLE,
        "REDIS_URL": redis_url,
        "CLIENTGRAPH_REDIS_KEY_PREFIX": f"clientgraph-test-{uuid.uuid4().hex[:12]}",
        "CLIENTGRAPH_RATE_LIMIT_FAILED_AUTH_PER_MINUTE": str(FAILED_AUTH_PER_MINUTE),
        "CLIENTGRAPH_FORWARDED_ALLOW_IPS": "127.0.0.1",
    }
    with contextlib.ExitStack() as stack:
        yield [
            stack.enter_context(clientgraph_serve(directory, env=env)),
            stack.enter_context(clientgraph_serve(directory, env=env)),
            stack.enter_context(clientgraph_serve(directory, workers=2, env=env)),
        ]


@pytest.fixture
async def clients(instances: list[Served]) -> AsyncIterator[list[httpx.AsyncClient]]:
    """One HTTP client per instance; a new connection per request, so that the two workers of
    the last instance both take requests (the kernel spreads connections over them)."""
    async with contextlib.AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{served.port}",
                    headers={"Connection": "close"},
                    timeout=30,
                )
            )
            for served in instances
        ]


@pytest.fixture
async def owner(database: Database) -> tuple[uuid.UUID, uuid.UUID, str]:
    """A new firm's owner: (firm id, user id, token)."""
    firm_id, user_id = await create_firm(
        database,
        name=f"Firm {uuid.uuid4().hex[:8]}",
        admin_email=f"owner-{uuid.uuid4().hex[:8]}@example.com",
        admin_name="Firm Owner",
    )
    return firm_id, user_id, issue_token(SECRET, user_id=user_id, firm_id=firm_id, ttl_seconds=3600)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_failed_authentications_on_every_instance_count_against_one_budget(
    clients: list[httpx.AsyncClient],
) -> None:
    """The address's budget of failed authentications is spent by the sum of the instances'
    requests: once spent on some, every instance refuses. The address is one of its own (the
    instances believe X-Forwarded-For from 127.0.0.1), so the other tests' is not spent."""
    address = {"X-Forwarded-For": f"192.0.2.{uuid.uuid4().int % 250 + 1}"}
    statuses = []
    for index in range(FAILED_AUTH_PER_MINUTE * 2):
        client = clients[index % len(clients)]
        response = await client.post(
            "/graphql", json={"query": "{ __typename }"}, headers=bearer("forged") | address
        )
        statuses.append(response.status_code)

    assert statuses[:FAILED_AUTH_PER_MINUTE] == [401] * FAILED_AUTH_PER_MINUTE
    assert statuses[FAILED_AUTH_PER_MINUTE:] == [429] * FAILED_AUTH_PER_MINUTE


async def test_a_users_node_budget_spent_on_one_instance_is_gone_on_the_others(
    clients: list[httpx.AsyncClient], owner: tuple[uuid.UUID, uuid.UUID, str]
) -> None:
    remaining = []
    for client in clients:
        response = await client.post("/graphql", json={"query": ACCOUNTS}, headers=bearer(owner[2]))
        assert response.status_code == 200, response.text
        remaining.append(int(response.headers["ratelimit-remaining"]))

    assert remaining == sorted(remaining, reverse=True)
    assert len(set(remaining)) == len(clients)


async def test_a_document_kept_by_one_instance_runs_from_its_hash_on_the_others(
    clients: list[httpx.AsyncClient], owner: tuple[uuid.UUID, uuid.UUID, str]
) -> None:
    document = f"query Shared{uuid.uuid4().hex[:8]} {ACCOUNTS}"
    first, *others = clients
    kept = await first.post(
        "/graphql",
        json={"query": document, "extensions": persisted(document)},
        headers=bearer(owner[2]),
    )
    assert kept.status_code == 200, kept.text

    answers = [
        await other.post(
            "/graphql", json={"extensions": persisted(document)}, headers=bearer(owner[2])
        )
        for other in others
    ]

    assert [answer.json() for answer in answers] == [kept.json()] * len(others)


async def test_a_sign_in_made_on_one_instance_is_refreshed_and_ended_on_others(
    database: Database,
    clients: list[httpx.AsyncClient],
    owner: tuple[uuid.UUID, uuid.UUID, str],
) -> None:
    firm_id, user_id, _ = owner
    email = await give_password(database, firm_id, user_id, PASSWORD)
    first, second, third = clients

    signed_in = await first.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    viewer = await second.post(
        "/graphql",
        json={"query": "{ viewer { user { id } } }"},
        headers=bearer(signed_in.json()["accessToken"]),
    )
    refreshed = await third.post(
        "/auth/refresh", json={"refreshToken": signed_in.json()["refreshToken"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    ended = await second.post(
        "/auth/logout", json={"refreshToken": refreshed.json()["refreshToken"]}
    )
    after_logout = await first.post(
        "/auth/refresh", json={"refreshToken": refreshed.json()["refreshToken"]}
    )

    assert viewer.status_code == 200 and viewer.json()["data"]["viewer"]["user"]["id"]
    assert ended.status_code == 204
    assert after_logout.status_code == 401
