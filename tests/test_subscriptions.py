"""Live updates: a real websocket client (`websockets`, graphql-transport-ws) against real
`clientgraph serve` processes. On PostgreSQL the change is made through one server and heard
through the other (LISTEN/NOTIFY between processes); on SQLite one process does both."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from clientgraph.app import create_app
from clientgraph.auth.access_tokens import issue_token
from clientgraph.db.engine import Database
from clientgraph.db.live import APPLICATION_NAME
from clientgraph.resolvers.register_csv.upload import BATCH_ACCOUNTS
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.live_server import serve
from tests.register_support import import_rows, several_batches
from tests.support import SECRET, Api, asyncpg_dsn, new_firm_served, owner_url, settings_for
from tests.test_serve import two_processes

PROTOCOL = "graphql-transport-ws"
ALLOWED_ORIGIN = "https://app.example.com"
WAIT_S = 15.0
INIT_TIMEOUT_S = 2
"""The servers' `CLIENTGRAPH_WS_CONNECTION_INIT_TIMEOUT_S`; the largest message they read is
the default `CLIENTGRAPH_WS_MAX_MESSAGE_BYTES`."""
MAX_MESSAGE_BYTES = 65536

ACCOUNT_CHANGED = """
subscription($filter: AccountFilter) {
  accountChanged(filter: $filter) { accountId action deleted account { id name status } }
}"""
NOTIFICATION_ADDED = "subscription { notificationAdded { id kind } }"
RENAME = """
mutation($id: ID!, $name: String!) {
  updateAccount(input: {accountId: $id, name: $name}) { userErrors { code } }
}"""


@pytest.fixture(scope="module")
def servers(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[int]]:
    """Ports of (the server changes are sent to, the server subscribers listen on)."""
    env = {
        "CLIENTGRAPH_CORS_ORIGINS": ALLOWED_ORIGIN,
        "CLIENTGRAPH_WS_CONNECTION_INIT_TIMEOUT_S": str(INIT_TIMEOUT_S),
    }
    with two_processes(database, tmp_path_factory.mktemp("subscriptions"), env) as ports:
        yield ports


@pytest.fixture
async def firm(database: Database, servers: list[int]) -> AsyncIterator[Api]:
    """A new firm's owner, talking HTTP to the server changes are sent to."""
    async with new_firm_served(database, servers[0]) as owner:
        yield owner


def listening_url(servers: list[int]) -> str:
    return f"ws://127.0.0.1:{servers[1]}/graphql"


@contextlib.asynccontextmanager
async def connected(
    servers: list[int], payload: dict[str, Any], origin: str | None = None
) -> AsyncIterator[ClientConnection]:
    """A websocket whose `connection_init` was acknowledged."""
    async with connect(
        listening_url(servers), subprotocols=[PROTOCOL], origin=origin, open_timeout=WAIT_S
    ) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
        assert await received(socket) == {"type": "connection_ack"}
        yield socket


async def received(socket: ClientConnection) -> dict[str, Any]:
    """The next message, which graphql-transport-ws sends as a text frame."""
    message = await asyncio.wait_for(socket.recv(), WAIT_S)
    assert isinstance(message, str), message
    return json.loads(message)


async def subscribe(
    socket: ClientConnection, query: str, variables: dict[str, Any] | None = None, id: str = "1"
) -> None:
    message = {"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables}}
    await socket.send(json.dumps(message))


async def listening(socket: ClientConnection, poke: Callable[[], Awaitable[None]]) -> None:
    """Until the subscription hears a change `poke` makes (a subscribe is not acknowledged
    in graphql-transport-ws); what it heard is dropped."""
    async with asyncio.timeout(WAIT_S * 2):
        while True:
            await poke()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(socket.recv(), 0.5)
                break
    with contextlib.suppress(TimeoutError):
        while True:
            await asyncio.wait_for(socket.recv(), 0.5)


async def change(socket: ClientConnection) -> dict[str, Any]:
    message = await received(socket)
    assert message["type"] == "next", message
    return message["payload"]["data"]["accountChanged"]


async def touch(api: Api, account_id: str, name: str = "Touched") -> None:
    await rename(api, account_id, f"{name} {uuid.uuid4().hex[:6]}")


async def rename(api: Api, account_id: str, name: str) -> None:
    payload = (await api.data(RENAME, {"id": account_id, "name": name}))["updateAccount"]
    assert payload["userErrors"] == []


async def test_a_subscriber_hears_an_account_change_made_through_another_server(
    firm: Api, servers: list[int]
) -> None:
    probe = await firm.create_account("Probe")
    async with connected(servers, {"Authorization": f"Bearer {firm.token}"}) as socket:
        await subscribe(socket, ACCOUNT_CHANGED)
        await listening(socket, lambda: touch(firm, probe["id"]))

        created = await firm.create_account("Acme")
        await rename(firm, created["id"], "Acme Ltd")

        assert await change(socket) == {
            "accountId": created["id"],
            "action": "account.created",
            "deleted": False,
            "account": {"id": created["id"], "name": "Acme", "status": "ACTIVE"},
        }
        assert (await change(socket))["account"]["name"] == "Acme Ltd"


async def test_subscribers_hear_again_once_the_listening_connection_is_back(
    firm: Api, servers: list[int]
) -> None:
    if firm.db.dialect != "postgresql":
        pytest.skip("one process on SQLite: no listening connection")
    probe = await firm.create_account("Probe")
    async with connected(servers, {"token": firm.token}) as socket:
        await subscribe(socket, ACCOUNT_CHANGED)
        await listening(socket, lambda: touch(firm, probe["id"]))

        admin = await asyncpg.connect(asyncpg_dsn(owner_url(firm.db)))
        try:
            ended = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = $1 AND datname = current_database()",
                APPLICATION_NAME,
            )
        finally:
            await admin.close()

        assert ended == 1
        await listening(socket, lambda: touch(firm, probe["id"]))


async def test_a_deactivated_and_a_deleted_account_are_told_as_such(
    firm: Api, servers: list[int]
) -> None:
    account = await firm.create_account("Short-lived")
    async with connected(servers, {"token": firm.token}) as socket:
        await subscribe(socket, ACCOUNT_CHANGED)
        await listening(socket, lambda: touch(firm, account["id"]))

        await firm.ok("deactivateAccount", {"accountId": account["id"]})
        await firm.ok("deleteAccount", {"accountId": account["id"]})

        deactivated = await change(socket)
        assert (deactivated["action"], deactivated["account"]["status"]) == (
            "account.deactivated",
            "INACTIVE",
        )
        assert await change(socket) == {
            "accountId": account["id"],
            "action": "account.deleted",
            "deleted": True,
            "account": None,
        }


async def test_an_assigned_only_user_stops_hearing_of_an_account_once_unassigned(
    firm: Api, servers: list[int]
) -> None:
    user_id, token = await firm.staff("VIEW_ASSIGNED_ACCOUNTS")
    taken_away = await firm.create_account("Taken away")
    kept = await firm.create_account("Kept")
    hidden = await firm.create_account("Never assigned")
    for account in (taken_away, kept):
        await firm.ok("assignTeamMember", {"accountId": account["id"], "userId": user_id})
    async with connected(servers, {"token": token}) as socket:
        await subscribe(socket, ACCOUNT_CHANGED)
        await listening(socket, lambda: touch(firm, kept["id"]))

        await rename(firm, hidden["id"], "Still hidden")
        await firm.ok("unassignTeamMember", {"accountId": taken_away["id"], "userId": user_id})
        await rename(firm, taken_away["id"], "Renamed after")
        await firm.ok("deleteAccount", {"accountId": taken_away["id"]})
        await rename(firm, kept["id"], "Kept, renamed")

        assert (await change(socket))["account"] == {
            "id": kept["id"],
            "name": "Kept, renamed",
            "status": "ACTIVE",
        }


async def test_a_filter_narrows_what_is_heard(firm: Api, servers: list[int]) -> None:
    other = await firm.create_account("Other")
    wanted = await firm.create_account("Wanted")
    async with connected(servers, {"token": firm.token}) as socket:
        await subscribe(socket, ACCOUNT_CHANGED, {"filter": {"search": "wanted"}})
        await listening(socket, lambda: touch(firm, wanted["id"], "Wanted"))

        await rename(firm, other["id"], "Other, renamed")
        await rename(firm, wanted["id"], "Wanted, renamed")

        assert (await change(socket))["accountId"] == wanted["id"]


@contextlib.asynccontextmanager
async def hearing_the_wanted(
    firm: Api, servers: list[int]
) -> AsyncIterator[tuple[ClientConnection, str]]:
    """A subscriber to the accounts named "wanted", once it hears; and a probe account's id."""
    probe = await firm.create_account("Wanted probe")
    async with connected(servers, {"token": firm.token}) as socket:
        await subscribe(socket, ACCOUNT_CHANGED, {"filter": {"search": "wanted"}})
        await listening(socket, lambda: touch(firm, probe["id"], "Wanted probe"))
        yield socket, probe["id"]


async def test_an_import_of_several_batches_is_heard_account_by_account(
    firm: Api, servers: list[int]
) -> None:
    async with hearing_the_wanted(firm, servers) as (socket, _):
        report = await import_rows(firm, several_batches("COMPANY"))

        assert report["created"] == BATCH_ACCOUNTS + 2

        heard = [await change(socket), await change(socket)]
        assert [(item["action"], item["account"]["name"]) for item in heard] == [
            ("account.created", "Wanted first"),
            ("account.created", "Wanted last"),
        ]


async def test_an_import_refused_in_its_last_batch_is_heard_by_no_one(
    firm: Api, servers: list[int]
) -> None:
    async with hearing_the_wanted(firm, servers) as (socket, probe_id):
        report = await import_rows(firm, several_batches("NOT_A_TYPE"))
        await rename(firm, probe_id, "Wanted after the import")

        assert (report["failed"], report["created"]) == (1, BATCH_ACCOUNTS + 1)
        assert (await change(socket))["account"]["name"] == "Wanted after the import"


async def test_a_dry_run_is_heard_by_no_one(firm: Api, servers: list[int]) -> None:
    await firm.enable_ownership()
    anna, bo = await firm.add_owner(name="Anna"), await firm.add_owner(name="Bo")
    await firm.create_account("Would move", ownerId=anna)
    probe = await firm.create_account("Probe", ownerId=bo)
    async with connected(servers, {"token": firm.token}) as socket:
        await subscribe(socket, ACCOUNT_CHANGED)
        await listening(socket, lambda: touch(firm, probe["id"]))

        await firm.ok(
            "transferClients",
            {"fromOwnerId": anna, "toOwnerId": bo, "dryRun": True},
            "preview { __typename }",
        )
        await rename(firm, probe["id"], "After the dry run")

        assert (await change(socket))["account"]["name"] == "After the dry run"


async def test_a_deleted_users_subscription_ends_at_the_next_change(
    firm: Api, servers: list[int]
) -> None:
    user_id, token = await firm.staff("VIEW_ALL_ACCOUNTS")
    probe = await firm.create_account("Probe")
    async with connected(servers, {"token": token}) as socket:
        await subscribe(socket, ACCOUNT_CHANGED)
        await listening(socket, lambda: touch(firm, probe["id"]))

        await firm.ok("deleteUser", {"userId": user_id})
        await touch(firm, probe["id"])

        assert await received(socket) == {"id": "1", "type": "complete"}


async def test_a_user_hears_of_their_own_new_notifications(firm: Api, servers: list[int]) -> None:
    user_id, token = await firm.staff("VIEW_ASSIGNED_ACCOUNTS")
    other_id, _ = await firm.staff("VIEW_ASSIGNED_ACCOUNTS")
    account = await firm.create_account("Assigned")

    async def toggle(user: str) -> None:
        await firm.ok("assignTeamMember", {"accountId": account["id"], "userId": user})
        await firm.ok("unassignTeamMember", {"accountId": account["id"], "userId": user})

    async with connected(servers, {"token": token}) as socket:
        await subscribe(socket, NOTIFICATION_ADDED)
        await listening(socket, lambda: toggle(user_id))

        await toggle(other_id)
        await firm.ok("assignTeamMember", {"accountId": account["id"], "userId": user_id})

        message = await received(socket)
        assert message["payload"]["data"]["notificationAdded"]["kind"] == "account.assigned"


async def test_connections_waiting_to_subscribe_hold_no_database_connection(
    firm: Api, servers: list[int]
) -> None:
    """More signed-in sockets than the pool has connections, none subscribing: requests to
    the same server are answered (the user is loaded, then the read transaction ends)."""
    idle = 25
    auth = {"Authorization": f"Bearer {firm.token}"}
    async with contextlib.AsyncExitStack() as sockets:
        for _ in range(idle):
            await sockets.enter_async_context(connected(servers, auth))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{servers[1]}") as http:
            response = await http.post(
                "/graphql", json={"query": "{ viewer { user { name } } }"}, headers=auth
            )

    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "payload",
    [{}, {"token": "not-a-token"}, {"Authorization": "Basic abc"}, {"token": ""}],
    ids=["no token", "bad token", "not bearer", "empty token"],
)
async def test_a_connection_without_a_valid_token_is_closed_forbidden(
    servers: list[int], payload: dict[str, Any]
) -> None:
    async with connect(listening_url(servers), subprotocols=[PROTOCOL]) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
        with pytest.raises(ConnectionClosed):
            await received(socket)

    assert socket.close_code == 4403


@pytest.mark.parametrize(
    ("payload", "code"),
    [([], 4400), ("token", 4400), ({"token": 42}, 4403), ({"Authorization": ["Bearer x"]}, 4403)],
    ids=["a list", "a string", "a number for a token", "a list for a header"],
)
async def test_a_malformed_connection_init_is_closed(
    servers: list[int], payload: Any, code: int
) -> None:
    async with connect(listening_url(servers), subprotocols=[PROTOCOL]) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
        with pytest.raises(ConnectionClosed):
            await received(socket)

    assert socket.close_code == code


async def closed_with(url: str, payload: dict[str, Any]) -> int | None:
    """The close code of a connection whose `connection_init` carried `payload`; None if
    it was acknowledged."""
    async with connect(url, subprotocols=[PROTOCOL]) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
        with contextlib.suppress(ConnectionClosed):
            await received(socket)
            return None
    return socket.close_code


async def test_bad_tokens_spend_the_addresss_budget_of_failed_authentications(
    firm: Api,
) -> None:
    settings = settings_for(firm.db.url, rate_limit_failed_auth_per_minute=2)
    async with serve(create_app(settings, firm.db)) as port:
        url = f"ws://127.0.0.1:{port}/graphql"
        assert await closed_with(url, {"token": firm.token}) is None
        for _ in range(2):
            assert await closed_with(url, {"token": "not-a-token"}) == 4403

        assert await closed_with(url, {"token": firm.token}) == 4403


async def test_an_expired_token_is_refused(firm: Api, servers: list[int]) -> None:
    expired = issue_token(SECRET, user_id=firm.user_id, firm_id=firm.firm_id, ttl_seconds=-60)
    async with connect(listening_url(servers), subprotocols=[PROTOCOL]) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {"token": expired}}))
        with pytest.raises(ConnectionClosed):
            await received(socket)

    assert socket.close_code == 4403


async def test_subscribing_before_connection_init_is_closed_unauthorized(
    servers: list[int],
) -> None:
    async with connect(listening_url(servers), subprotocols=[PROTOCOL]) as socket:
        await subscribe(socket, NOTIFICATION_ADDED)
        with pytest.raises(ConnectionClosed):
            await received(socket)

    assert socket.close_code == 4401


async def test_a_socket_that_never_sends_connection_init_is_closed_after_the_timeout(
    servers: list[int],
) -> None:
    async with connect(listening_url(servers), subprotocols=[PROTOCOL]) as socket:
        started = time.monotonic()
        with pytest.raises(ConnectionClosed):
            await received(socket)
        waited = time.monotonic() - started

    assert socket.close_code == 4408
    assert INIT_TIMEOUT_S - 0.5 <= waited < INIT_TIMEOUT_S + 5


@pytest.mark.parametrize("signed_in", [False, True], ids=["before sign-in", "signed in"])
async def test_a_message_over_the_size_limit_closes_the_socket(
    firm: Api, servers: list[int], signed_in: bool
) -> None:
    padding = " " * MAX_MESSAGE_BYTES
    message = json.dumps({"type": "connection_init", "payload": {"token": firm.token}})
    async with contextlib.AsyncExitStack() as stack:
        if signed_in:
            socket = await stack.enter_async_context(connected(servers, {"token": firm.token}))
            message = json.dumps({"id": "1", "type": "subscribe", "payload": {}})
        else:
            socket = await stack.enter_async_context(
                connect(listening_url(servers), subprotocols=[PROTOCOL])
            )
        await socket.send(message[:-1] + padding + "}")
        with pytest.raises(ConnectionClosed):
            await received(socket)

    assert socket.close_code == 1009


async def test_a_message_just_under_the_size_limit_is_read(firm: Api, servers: list[int]) -> None:
    message = json.dumps({"type": "connection_init", "payload": {"token": firm.token}})
    padding = " " * (MAX_MESSAGE_BYTES - len(message) - 16)
    async with connect(listening_url(servers), subprotocols=[PROTOCOL]) as socket:
        await socket.send(message[:-1] + padding + "}")

        assert await received(socket) == {"type": "connection_ack"}


async def test_the_101st_subscription_of_a_connection_is_refused(
    firm: Api, servers: list[int]
) -> None:
    async with connected(servers, {"token": firm.token}) as socket:
        for number in range(100):
            await subscribe(socket, NOTIFICATION_ADDED, id=str(number))
        await subscribe(socket, NOTIFICATION_ADDED, id="one too many")

        refused = await received(socket)

        assert refused["id"] == "one too many"
        assert refused["type"] == "error"
        assert refused["payload"][0]["message"] == "Subscription limit reached"


@pytest.mark.parametrize(
    "operation",
    [
        "{ viewer { user { id } } }",
        'mutation { deleteAccount(input: {accountId: "x"}) { userErrors { code } } }',
    ],
)
async def test_queries_and_mutations_are_not_served_over_the_websocket(
    firm: Api, servers: list[int], operation: str
) -> None:
    async with connected(servers, {"token": firm.token}) as socket:
        await subscribe(socket, operation)

        refused = await received(socket)

        assert (refused["type"], refused["payload"][0]["extensions"]["code"]) == (
            "error",
            "BAD_REQUEST",
        )


async def test_a_foreign_origin_is_refused_before_the_upgrade(servers: list[int]) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(
            listening_url(servers), subprotocols=[PROTOCOL], origin="https://evil.example"
        ):
            pass

    assert refused.value.response.status_code == 403


@pytest.mark.parametrize("origin", [ALLOWED_ORIGIN, "http://127.0.0.1:{port}"])
async def test_an_allowed_or_the_services_own_origin_may_connect(
    firm: Api, servers: list[int], origin: str
) -> None:
    async with connected(servers, {"token": firm.token}, origin=origin.format(port=servers[1])):
        pass


@contextlib.asynccontextmanager
async def limited_server(api: Api, per_user: int, per_process: int) -> AsyncIterator[str]:
    """The websocket URL of a server of its own with these subscription limits."""
    settings = settings_for(
        api.db.url,
        live_max_subscriptions_per_user=per_user,
        live_max_subscriptions_per_process=per_process,
    )
    async with serve(create_app(settings, api.db)) as port:
        yield f"ws://127.0.0.1:{port}/graphql"


@contextlib.asynccontextmanager
async def signed_in(url: str, token: str) -> AsyncIterator[ClientConnection]:
    async with connect(url, subprotocols=[PROTOCOL], open_timeout=WAIT_S) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
        assert await received(socket) == {"type": "connection_ack"}
        yield socket


async def refused_as_over_the_limit(socket: ClientConnection, id: str) -> str:
    """The message of the error the subscription `id` was refused with."""
    await subscribe(socket, NOTIFICATION_ADDED, id=id)
    message = await received(socket)
    assert message["id"] == id, message
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "RATE_LIMITED", message
    return errors[0]["message"]


async def still_open(socket: ClientConnection) -> bool:
    """No message arrives for a moment: the subscriptions on it wait for events."""
    with contextlib.suppress(TimeoutError):
        message = await asyncio.wait_for(socket.recv(), 0.5)
        raise AssertionError(f"unexpected {message!r}")
    return True


async def test_a_user_past_the_subscription_limit_is_refused_over_all_connections(
    firm: Api,
) -> None:
    other_user = (await firm.staff("VIEW_ALL_ACCOUNTS"))[1]
    async with (
        limited_server(firm, per_user=3, per_process=100) as url,
        signed_in(url, firm.token) as first,
        signed_in(url, firm.token) as second,
        signed_in(url, other_user) as others,
    ):
        for number in range(2):
            await subscribe(first, NOTIFICATION_ADDED, id=str(number))
        await subscribe(second, NOTIFICATION_ADDED, id="2")
        await still_open(second)

        message = await refused_as_over_the_limit(second, "one too many")
        await subscribe(others, NOTIFICATION_ADDED, id="theirs")

        assert "3 subscriptions" in message
        assert await still_open(others)


async def test_a_server_past_its_subscription_limit_refuses_more(firm: Api) -> None:
    other_user = (await firm.staff("VIEW_ALL_ACCOUNTS"))[1]
    async with (
        limited_server(firm, per_user=100, per_process=2) as url,
        signed_in(url, firm.token) as mine,
        signed_in(url, other_user) as others,
    ):
        await subscribe(mine, NOTIFICATION_ADDED, id="1")
        await subscribe(others, NOTIFICATION_ADDED, id="2")
        await still_open(others)

        message = await refused_as_over_the_limit(others, "one too many")

        assert "2 subscriptions" in message


async def test_an_ended_subscription_frees_its_place(firm: Api) -> None:
    async with (
        limited_server(firm, per_user=1, per_process=100) as url,
        signed_in(url, firm.token) as socket,
    ):
        await subscribe(socket, NOTIFICATION_ADDED, id="1")
        await still_open(socket)
        await socket.send(json.dumps({"id": "1", "type": "complete"}))
        await asyncio.sleep(0.3)
        await subscribe(socket, NOTIFICATION_ADDED, id="2")

        assert await still_open(socket)
