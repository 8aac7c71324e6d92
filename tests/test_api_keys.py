"""Partner API keys (API.md §3, §5, §8): principals of their own, holding exactly the permissions
they were given, never more than their creator's and never a role; made and revoked by an
owner or administrator, never shown twice."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from clientgraph.db import models
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support import EVERY_PERMISSION, Api, served_with, settings_for

VIEWER = "{ viewer { user { name } permissions apiKey { name createdBy { name } } } }"
KEY_FIELDS = (
    "apiKey { id name permissions createdBy { name } createdAt lastUsedAt expiresAt revokedAt } key"
)
API_KEYS = (
    "{ apiKeys { id name permissions createdBy { name } createdAt lastUsedAt expiresAt"
    " revokedAt } }"
)
ACCOUNTS = "{ accounts(first: 50) { totalCount nodes { name } } }"


async def _key(api: Api, *permissions: str, token: str | None = None, **extra: Any) -> str:
    """The secret of a new key holding `permissions`, made by the caller of `token`."""
    payload = await api.ok(
        "createApiKey",
        {"name": "Bank feed", "permissions": list(permissions), **extra},
        "key",
        token=token,
    )
    return payload["key"]


async def _key_with_id(api: Api, *permissions: str, **extra: Any) -> tuple[str, str]:
    payload = await api.ok(
        "createApiKey",
        {"name": "Bank feed", "permissions": list(permissions), **extra},
        KEY_FIELDS,
    )
    return payload["apiKey"]["id"], payload["key"]


def _key_uuid(key: str) -> uuid.UUID:
    return uuid.UUID(hex=key.removeprefix("cgk_").partition("_")[0])


async def _set_key(api: Api, key: str, **values: Any) -> None:
    """Change a key's row directly, where the API offers no way (its clock, its expiry)."""

    async def work(session: AsyncSession) -> None:
        await session.execute(
            update(models.ApiKey).where(models.ApiKey.id == _key_uuid(key)).values(**values)
        )

    await api.db.write(work, firm_id=api.firm_id)


async def _last_used_at(api: Api, key: str) -> datetime | None:
    async with api.db.firm_session(api.firm_id) as session:
        query = select(models.ApiKey.last_used_at).where(models.ApiKey.id == _key_uuid(key))
        return (await session.execute(query)).scalar_one()


def _codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors") or []]


def _user_errors(payload: dict[str, Any]) -> list[tuple[list[str], str]]:
    return [(error["field"], error["code"]) for error in payload["userErrors"]]


def _mutation(name: str) -> str:
    input_type = name[0].upper() + name[1:] + "Input"
    return (
        f"mutation($input: {input_type}!) {{ {name}(input: $input) "
        "{ userErrors { field code } } }"
    )


async def _my_id(api: Api, token: str | None = None) -> str:
    return (await api.data("{ viewer { user { id } } }", token=token))["viewer"]["user"]["id"]


# The exploit of issue 7, point 1.


async def test_an_admin_cannot_become_owner_through_an_api_key(api: Api) -> None:
    admin_id, admin_token = await api.staff(name="Ambitious Admin", role="ADMIN")
    owner_id = await _my_id(api)

    acting_as_owner = await api.mutate(
        "createApiKey",
        {"name": "Escalator", "userId": owner_id, "permissions": list(EVERY_PERMISSION)},
        "key",
        token=admin_token,
    )
    own_key = await _key(api, *EVERY_PERMISSION, token=admin_token)
    promotion = await api.execute(
        _mutation("updateUser"), {"input": {"userId": admin_id, "role": "OWNER"}}, own_key
    )

    assert _user_errors(acting_as_owner) == [(["userId"], "INVALID")]
    assert acting_as_owner["key"] is None
    assert _codes(promotion) == ["FORBIDDEN"]
    role = await api.data(
        "query($id: ID!) { node(id: $id) { ... on User { role } } }", {"id": admin_id}
    )
    assert role["node"] == {"role": "ADMIN"}


# What a key is.


async def test_a_key_holds_exactly_its_permissions_and_names_its_creator(api: Api) -> None:
    key = await _key(api, "CREATE_ACCOUNTS", "VIEW_ALL_ACCOUNTS")

    as_key = await api.data(VIEWER, token=key)
    as_owner = await api.data(VIEWER)

    assert as_key["viewer"] == {
        "user": {"name": "Firm Owner"},
        "permissions": ["VIEW_ALL_ACCOUNTS", "CREATE_ACCOUNTS"],
        "apiKey": {"name": "Bank feed", "createdBy": {"name": "Firm Owner"}},
    }
    assert as_owner["viewer"]["apiKey"] is None
    assert as_owner["viewer"]["permissions"] == list(EVERY_PERMISSION)


async def test_a_key_without_a_right_is_forbidden_what_needs_it(api: Api) -> None:
    key = await _key(api, "VIEW_ALL_ACCOUNTS")

    body = await api.execute(_mutation("createAccount"), {"input": {"name": "Nope"}}, key)

    assert _codes(body) == ["FORBIDDEN"]
    assert (await api.data(ACCOUNTS))["accounts"]["totalCount"] == 0


@dataclass(frozen=True)
class World:
    staff_id: str
    account_id: str
    from_owner_id: str
    to_owner_id: str
    other_key_id: str


async def _world(api: Api) -> World:
    """Enough of a firm that each OWNER/ADMIN-only action below would succeed for an owner."""
    staff_id, _ = await api.staff("VIEW_ALL_ACCOUNTS", name="Some Staff")
    await api.enable_ownership()
    from_owner = await api.add_owner(name="Old Owner")
    to_owner = await api.add_owner(name="New Owner")
    account = await api.create_account("Acme", customerNumber="C-1", ownerId=from_owner)
    other_key_id, _ = await _key_with_id(api, "VIEW_ALL_ACCOUNTS")
    return World(staff_id, account["id"], from_owner, to_owner, other_key_id)


ADMIN_ONLY: dict[str, Callable[[World], dict[str, Any]]] = {
    "updateFirmSettings": lambda w: {"customerNumberMinLength": 2},
    "createUser": lambda w: {"name": "New Hire", "email": "new.hire@example.com"},
    "updateUser": lambda w: {"userId": w.staff_id, "role": "OWNER"},
    "deleteUser": lambda w: {"userId": w.staff_id},
    "addClientOwner": lambda w: {"name": "Third Owner"},
    "transferClients": lambda w: {"fromOwnerId": w.from_owner_id, "toOwnerId": w.to_owner_id},
    "removeClientOwner": lambda w: {"ownerId": w.from_owner_id},
    "updateAccount": lambda w: {"accountId": w.account_id, "customerNumber": "C-2"},
    "defineCustomField": lambda w: {
        "entity": "ACCOUNT",
        "key": "vat",
        "label": "VAT number",
        "type": "TEXT",
    },
    "createApiKey": lambda w: {"name": "Second key", "permissions": ["VIEW_ALL_ACCOUNTS"]},
    "revokeApiKey": lambda w: {"apiKeyId": w.other_key_id},
}


@pytest.mark.parametrize("mutation", list(ADMIN_ONLY))
async def test_owner_and_admin_only_mutations_are_forbidden_to_a_key_with_every_permission(
    api: Api, mutation: str
) -> None:
    world = await _world(api)
    key = await _key(api, *EVERY_PERMISSION)
    input_ = ADMIN_ONLY[mutation](world)

    as_key = await api.execute(_mutation(mutation), {"input": input_}, key)
    as_owner = await api.ok(mutation, input_)

    assert _codes(as_key) == ["FORBIDDEN"]
    assert as_key["data"] is None
    assert as_owner["userErrors"] == []


async def test_a_key_may_not_list_or_look_up_api_keys(api: Api) -> None:
    key_id, key = await _key_with_id(api, *EVERY_PERMISSION)

    listed = await api.execute(API_KEYS, token=key)
    node = await api.data("query($id: ID!) { node(id: $id) { id } }", {"id": key_id}, token=key)

    assert _codes(listed) == ["FORBIDDEN"]
    assert node == {"node": None}


# Making a key.


async def _user_id(api: Api, other_firm: Api, named: str) -> str:
    match named:
        case "an owner":
            return await _my_id(api)
        case "a staff user":
            return (await api.staff("VIEW_ASSIGNED_ACCOUNTS"))[0]
        case "another firm's user":
            return await _my_id(other_firm)
    return "not-an-id"


@pytest.mark.parametrize("named", ["an owner", "a staff user", "another firm's user", "garbage"])
async def test_the_deprecated_user_id_naming_anyone_but_the_caller_is_invalid(
    api: Api, other_firm: Api, named: str
) -> None:
    _, admin_token = await api.staff(name="Admin", role="ADMIN")
    user_id = await _user_id(api, other_firm, named)

    payload = await api.mutate(
        "createApiKey",
        {"name": "X", "userId": user_id, "permissions": ["VIEW_ASSIGNED_ACCOUNTS"]},
        "key",
        token=admin_token,
    )

    assert _user_errors(payload) == [(["userId"], "INVALID")]
    assert payload["key"] is None
    assert (await api.data(API_KEYS))["apiKeys"] == []


async def test_the_deprecated_user_id_naming_the_caller_is_accepted(api: Api) -> None:
    key = await _key(api, "VIEW_ALL_ACCOUNTS", userId=await _my_id(api))

    assert (await api.data(VIEWER, token=key))["viewer"]["permissions"] == ["VIEW_ALL_ACCOUNTS"]


@pytest.mark.parametrize(
    "expires_at",
    ["2020-01-01T00:00:00Z", "2999-01-01T00:00:00", "9999-12-31T23:59:59-14:00"],
    ids=["in-the-past", "without-a-time-zone", "beyond-year-9999-in-utc"],
)
async def test_a_bad_expiry_is_invalid(api: Api, expires_at: str) -> None:
    payload = await api.mutate(
        "createApiKey",
        {"name": "X", "permissions": ["VIEW_ALL_ACCOUNTS"], "expiresAt": expires_at},
        "key",
    )

    assert _user_errors(payload) == [(["expiresAt"], "INVALID")]
    assert (await api.data(API_KEYS))["apiKeys"] == []


async def test_only_an_owner_or_administrator_makes_keys(api: Api) -> None:
    _, token = await api.staff(*EVERY_PERMISSION)

    created = await api.execute(
        _mutation("createApiKey"), {"input": {"name": "Sneaky", "permissions": []}}, token
    )
    listed = await api.execute(API_KEYS, token=token)

    assert _codes(created) == ["FORBIDDEN"]
    assert _codes(listed) == ["FORBIDDEN"]
    assert (await api.data(API_KEYS))["apiKeys"] == []


# How far a key reaches.


async def _assign(api: Api, account_id: str, user_id: str) -> None:
    await api.ok("assignTeamMember", {"accountId": account_id, "userId": user_id})


async def test_a_key_with_view_assigned_sees_only_its_creators_assigned_accounts(api: Api) -> None:
    creator_id, creator_token = await api.staff(name="Key Maker", role="ADMIN")
    mine = await api.create_account("Assigned to the maker")
    await api.create_account("Not assigned")
    await _assign(api, mine["id"], creator_id)
    key = await _key(api, "VIEW_ASSIGNED_ACCOUNTS", token=creator_token)

    seen = await api.data(ACCOUNTS, token=key)

    assert seen["accounts"] == {"totalCount": 1, "nodes": [{"name": "Assigned to the maker"}]}


async def test_a_key_never_reaches_further_than_its_creator_after_they_lose_rights(
    api: Api,
) -> None:
    creator_id, creator_token = await api.staff(name="Key Maker", role="ADMIN")
    key = await _key(api, "VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS", token=creator_token)
    mine = await api.create_account("Assigned to the maker")
    await api.create_account("Not assigned")
    await _assign(api, mine["id"], creator_id)

    await api.ok(
        "updateUser",
        {"userId": creator_id, "role": "STAFF", "permissions": ["VIEW_ASSIGNED_ACCOUNTS"]},
    )

    viewer = await api.data(VIEWER, token=key)
    seen = await api.data(ACCOUNTS, token=key)
    assert viewer["viewer"]["permissions"] == []
    assert seen["accounts"]["totalCount"] == 0
    listed = (await api.data(API_KEYS))["apiKeys"]
    assert listed[0]["permissions"] == ["VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS"]


# When a key stops working.


async def test_a_key_works_until_it_expires_then_gets_401(api: Api) -> None:
    key = await _key(api, "VIEW_ALL_ACCOUNTS", expiresAt="2999-01-01T00:00:00Z")
    before = await api.post(VIEWER, token=key)

    await _set_key(api, key, expires_at=datetime.now(UTC) - timedelta(seconds=1))

    assert before.status_code == 200
    assert (await api.post(VIEWER, token=key)).status_code == 401


async def test_a_revoked_key_gets_401(api: Api) -> None:
    key_id, key = await _key_with_id(api, "VIEW_ALL_ACCOUNTS")

    payload = await api.ok("revokeApiKey", {"apiKeyId": key_id}, "apiKey { revokedAt }")

    assert payload["apiKey"]["revokedAt"] is not None
    assert (await api.post(VIEWER, token=key)).status_code == 401


@pytest.mark.parametrize("fate", ["deactivated", "deleted"])
async def test_the_key_of_a_creator_who_is_gone_gets_401(api: Api, fate: str) -> None:
    creator_id, creator_token = await api.staff(name="Leaving Admin", role="ADMIN")
    key = await _key(api, "VIEW_ALL_ACCOUNTS", token=creator_token)
    assert (await api.post(VIEWER, token=key)).status_code == 200

    if fate == "deactivated":
        await api.ok("updateUser", {"userId": creator_id, "isActive": False})
    else:
        await api.ok("deleteUser", {"userId": creator_id})

    assert (await api.post(VIEWER, token=key)).status_code == 401


async def test_a_key_with_a_wrong_secret_gets_401(api: Api) -> None:
    key = await _key(api)
    forged = key[: key.rindex("_") + 1] + "not-the-secret"

    assert (await api.post(VIEWER, token=forged)).status_code == 401
    assert (await api.post(VIEWER, token="cgk_nothex_secret")).status_code == 401
    assert (await api.post(VIEWER, token=f"cgk_{uuid.uuid4().hex}_x")).status_code == 401
    assert await _last_used_at(api, key) is None


# What history and the list show.


HISTORY = """query($id: ID!) { account(id: $id) { history(first: 10) { nodes {
  action actor { name } apiKey { name createdBy { name } } } } } }"""


async def test_history_shows_the_key_a_change_was_made_through(api: Api) -> None:
    key = await _key(api, "CREATE_ACCOUNTS", "VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS")
    account = (
        await api.ok("createAccount", {"name": "Made by a key"}, "account { id }", token=key)
    )["account"]
    await api.ok("updateAccount", {"accountId": account["id"], "name": "Renamed by a person"})

    events = (await api.data(HISTORY, {"id": account["id"]}))["account"]["history"]["nodes"]

    assert events == [
        {"action": "account.updated", "actor": {"name": "Firm Owner"}, "apiKey": None},
        {
            "action": "account.created",
            "actor": {"name": "Firm Owner"},
            "apiKey": {"name": "Bank feed", "createdBy": {"name": "Firm Owner"}},
        },
    ]


async def test_api_keys_lists_each_keys_rights_creator_and_times_without_its_secret(
    api: Api,
) -> None:
    key_id, key = await _key_with_id(
        api, "VIEW_ALL_ACCOUNTS", "CREATE_ACCOUNTS", expiresAt="2999-01-31T12:00:00+01:00"
    )

    listed = (await api.data(API_KEYS))["apiKeys"]

    assert len(listed) == 1
    created_at = listed[0].pop("createdAt")
    assert listed == [
        {
            "id": key_id,
            "name": "Bank feed",
            "permissions": ["VIEW_ALL_ACCOUNTS", "CREATE_ACCOUNTS"],
            "createdBy": {"name": "Firm Owner"},
            "lastUsedAt": None,
            "expiresAt": "2999-01-31T11:00:00+00:00",
            "revokedAt": None,
        }
    ]
    assert datetime.fromisoformat(created_at) <= datetime.now(UTC)
    assert key.startswith("cgk_") and key not in str(listed)


async def test_last_used_at_is_set_on_use_and_moves_at_most_once_a_minute(api: Api) -> None:
    key = await _key(api, "VIEW_ALL_ACCOUNTS")
    started = datetime.now(UTC)

    await api.data(VIEWER, token=key)
    first_use = await _last_used_at(api, key)
    listed = (await api.data(API_KEYS))["apiKeys"][0]["lastUsedAt"]

    assert first_use is not None and first_use >= started
    assert datetime.fromisoformat(listed) == first_use

    recently = datetime.now(UTC) - timedelta(seconds=30)
    await _set_key(api, key, last_used_at=recently)
    await api.data(VIEWER, token=key)
    assert await _last_used_at(api, key) == recently

    long_ago = datetime.now(UTC) - timedelta(minutes=2)
    await _set_key(api, key, last_used_at=long_ago)
    await api.data(VIEWER, token=key)
    moved = await _last_used_at(api, key)
    assert moved is not None and moved > long_ago + timedelta(minutes=1)


async def test_an_api_key_is_a_node_for_administrators_only(api: Api) -> None:
    key_id, _ = await _key_with_id(api)
    _, staff_token = await api.staff("VIEW_ALL_ACCOUNTS")
    node = "query($id: ID!) { node(id: $id) { id ... on ApiKey { name } } }"

    assert (await api.data(node, {"id": key_id}))["node"] == {"id": key_id, "name": "Bank feed"}
    assert (await api.data(node, {"id": key_id}, staff_token))["node"] is None


# Who reads a key through the fields that reach one (issue 15): as `node(id:)` says, an owner or
# administrator; a key itself (`viewer { apiKey }`); nobody else, on either read path.

KEY_IN_HISTORY = (
    "query($id: ID!) { account(id: $id) { history(first: 10) { nodes { action apiKey { id name } "
    "} } } }"
)
READ_PATHS = ["planned", "generic"]


async def _history_key(api: Api, caller: str, read_path: str) -> Any:
    """The `apiKey` of the history event a key made, as `caller` reads it on `read_path`."""
    account = await api.create_account("Acme")
    key_id, key = await _key_with_id(api, "VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS")
    await api.ok("updateAccount", {"accountId": account["id"], "name": "Acme Ltd"}, token=key)
    tokens = {
        "OWNER": api.token,
        "ADMIN": (await api.staff(role="ADMIN"))[1],
        "STAFF": (await api.staff("VIEW_ALL_ACCOUNTS"))[1],
        "another key": await _key(api, "VIEW_ALL_ACCOUNTS"),
        "the key itself": key,
    }
    settings = settings_for(api.db.url, planned_reads=read_path == "planned")
    async with served_with(api, settings) as reader:
        response = await reader.post(KEY_IN_HISTORY, {"id": account["id"]}, tokens[caller])
    assert response.headers.get("X-Read-Path") == read_path, response.text
    events = response.json()["data"]["account"]["history"]["nodes"]
    [made_by_key] = [event for event in events if event["action"] == "account.updated"]
    return made_by_key["apiKey"], key_id


@pytest.mark.parametrize("read_path", READ_PATHS)
@pytest.mark.parametrize("caller", ["STAFF", "another key"])
async def test_a_key_in_history_is_null_for_staff_and_for_another_key(
    api: Api, caller: str, read_path: str
) -> None:
    seen, _ = await _history_key(api, caller, read_path)

    assert seen is None


@pytest.mark.parametrize("read_path", READ_PATHS)
@pytest.mark.parametrize("caller", ["OWNER", "ADMIN", "the key itself"])
async def test_a_key_in_history_is_shown_to_owner_admin_and_the_key_itself(
    api: Api, caller: str, read_path: str
) -> None:
    seen, key_id = await _history_key(api, caller, read_path)

    assert seen == {"id": key_id, "name": "Bank feed"}
