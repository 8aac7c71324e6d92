"""The address book of client owners (seeds 000/001): adding users and people by name,
removing owners, transferring clients, deleting users who own clients, the owner filters
and orders of the account list, and who may do each of these. Through the API over HTTP,
on every backend."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.support import EVERY_PERMISSION, Api

OWNERS = "{ clientOwners { totalCount nodes { id name accountCount user { id email } } } }"
USERS = "{ users { totalCount nodes { id name email clientOwner { id name } } } }"
SETTINGS = "{ viewer { firm { settings { clientOwnershipEnabled } } } }"
USER_NODE = """
query($id: ID!) { node(id: $id) { ... on User { id email clientOwner { id name user { id } } } } }
"""
OWNER_NODE = """
query($id: ID!) { node(id: $id) { ... on ClientOwner { id name } } }
"""
ACCOUNTS = """
query($filter: AccountFilter, $orderBy: AccountOrder) {
  accounts(filter: $filter, orderBy: $orderBy) { totalCount nodes { name owner { id name } } }
}
"""
ACCOUNT = """
query($id: ID!) { account(id: $id) { name version owner { id name }
  history { nodes { action actor { name } changes { field from to } } } } }
"""
OWNER_COUNTS = """
query($id: ID!, $ids: [ID!]) {
  node(id: $id) { ... on ClientOwner { accountCount accounts { totalCount } } }
  accounts(filter: { ownerIds: $ids, status: [] }) { totalCount }
}
"""
ADD_OWNER = "clientOwner { id name user { id email } }"
REMOVE_OWNER = "removedOwnerId transferredCount unassignedCount"
TRANSFER = "transferredCount accounts { name owner { id } }"
DELETE_USER = "deletedUserId transferredCount unassignedCount"


def problems(payload: dict[str, Any]) -> list[tuple[str, list[str] | None]]:
    """The (code, field) of each user error of a payload."""
    return [(error["code"], error["field"]) for error in payload["userErrors"]]


async def owners_by_name(api: Api) -> dict[str, int]:
    """The address book as {name: accountCount}."""
    nodes = (await api.data(OWNERS))["clientOwners"]["nodes"]
    return {node["name"]: node["accountCount"] for node in nodes}


async def account_owners(api: Api) -> dict[str, str | None]:
    """Every account of the firm (any status) as {name: owner's name or None}."""
    data = await api.data(ACCOUNTS, {"filter": {"status": []}})
    return {
        node["name"]: node["owner"] and node["owner"]["name"] for node in data["accounts"]["nodes"]
    }


async def listed(
    api: Api,
    filter: dict[str, Any] | None = None,
    order_by: dict[str, Any] | None = None,
    token: str | None = None,
) -> list[str]:
    """The names of the accounts the list shows, in its order."""
    data = await api.data(ACCOUNTS, {"filter": filter, "orderBy": order_by}, token)
    names = [node["name"] for node in data["accounts"]["nodes"]]
    assert data["accounts"]["totalCount"] == len(names)
    return names


async def owned(api: Api, owner: str, *names: str) -> list[str]:
    """Create accounts owned by `owner`; their ids."""
    return [(await api.create_account(name, ownerId=owner))["id"] for name in names]


async def user_named(api: Api, name: str) -> tuple[str, str, str]:
    """A new STAFF user called `name`: (their id, their email, their token)."""
    user_id, token = await api.staff("VIEW_ALL_ACCOUNTS", name=name)
    node = (await api.data(USER_NODE, {"id": user_id}))["node"]
    return user_id, node["email"], token


async def removed_owner_id(api: Api) -> str:
    """The id of an address-book entry that existed and has been removed: well formed, unknown."""
    gone = await api.add_owner(name="Gone Again")
    await api.ok("removeClientOwner", {"ownerId": gone})
    return gone


# --- adding to the address book ------------------------------------------------------------


async def test_adding_a_user_links_the_entry_and_the_user_to_each_other(api: Api) -> None:
    await api.enable_ownership()
    user_id, email, _ = await user_named(api, "Karen Hansen")

    payload = await api.ok("addClientOwner", {"userId": user_id}, ADD_OWNER)

    owner = payload["clientOwner"]
    assert owner["name"] == "Karen Hansen"
    assert owner["user"] == {"id": user_id, "email": email}
    node = (await api.data(USER_NODE, {"id": user_id}))["node"]
    assert node["clientOwner"] == {
        "id": owner["id"],
        "name": "Karen Hansen",
        "user": {"id": user_id},
    }


async def test_adding_a_user_already_in_the_address_book_is_refused(api: Api) -> None:
    await api.enable_ownership()
    user_id, _, _ = await user_named(api, "Karen Hansen")
    first = await api.add_owner(user_id=user_id)

    payload = await api.mutate("addClientOwner", {"userId": user_id}, ADD_OWNER)

    assert payload["clientOwner"] is None
    assert problems(payload) == [("ALREADY_IN_ADDRESS_BOOK", ["userId"])]
    owners = (await api.data(OWNERS))["clientOwners"]
    assert [node["id"] for node in owners["nodes"]] == [first]


@pytest.mark.parametrize("by", ["userId", "name"])
async def test_adding_an_owner_while_ownership_is_disabled_is_refused(api: Api, by: str) -> None:
    user_id, _, _ = await user_named(api, "Karen Hansen")
    input_ = {"userId": user_id} if by == "userId" else {"name": "Nina Extern"}

    payload = await api.mutate("addClientOwner", input_, ADD_OWNER)

    assert payload["clientOwner"] is None
    assert [code for code, _ in problems(payload)] == ["OWNERSHIP_DISABLED"]
    assert (await api.data(OWNERS))["clientOwners"]["totalCount"] == 0


async def test_adding_by_a_users_name_in_another_case_links_that_user(api: Api) -> None:
    await api.enable_ownership()
    user_id, email, _ = await user_named(api, "Karen Hansen")

    payload = await api.ok("addClientOwner", {"name": "  kAREN hansen "}, ADD_OWNER)

    assert payload["clientOwner"]["name"] == "Karen Hansen"
    assert payload["clientOwner"]["user"] == {"id": user_id, "email": email}
    node = (await api.data(USER_NODE, {"id": user_id}))["node"]
    assert node["clientOwner"]["id"] == payload["clientOwner"]["id"]


async def test_adding_by_a_users_email_links_that_user(api: Api) -> None:
    await api.enable_ownership()
    user_id, email, _ = await user_named(api, "Karen Hansen")

    payload = await api.ok("addClientOwner", {"name": email.upper()}, ADD_OWNER)

    assert payload["clientOwner"]["name"] == "Karen Hansen"
    assert payload["clientOwner"]["user"] == {"id": user_id, "email": email}


async def test_adding_an_unknown_name_creates_an_owner_without_a_user(api: Api) -> None:
    await api.enable_ownership()
    await user_named(api, "Karen Hansen")

    payload = await api.ok("addClientOwner", {"name": "Nina Extern"}, ADD_OWNER)

    owner_id = payload["clientOwner"]["id"]
    assert payload["clientOwner"] == {"id": owner_id, "name": "Nina Extern", "user": None}
    owners = (await api.data(OWNERS))["clientOwners"]
    assert owners["nodes"] == [
        {"id": owner_id, "name": "Nina Extern", "accountCount": 0, "user": None}
    ]


async def test_adding_a_name_already_in_the_address_book_is_refused(api: Api) -> None:
    await api.enable_ownership()
    first = await api.add_owner(name="Nina Extern")

    payload = await api.mutate("addClientOwner", {"name": "NINA EXTERN"}, ADD_OWNER)

    assert payload["clientOwner"] is None
    assert problems(payload) == [("ALREADY_IN_ADDRESS_BOOK", ["name"])]
    owners = (await api.data(OWNERS))["clientOwners"]
    assert [node["id"] for node in owners["nodes"]] == [first]


async def test_adding_by_name_a_user_already_in_the_address_book_is_refused(api: Api) -> None:
    await api.enable_ownership()
    user_id, _, _ = await user_named(api, "Karen Hansen")
    await api.add_owner(user_id=user_id)

    payload = await api.mutate("addClientOwner", {"name": "karen hansen"}, ADD_OWNER)

    assert problems(payload) == [("ALREADY_IN_ADDRESS_BOOK", ["name"])]
    assert (await api.data(OWNERS))["clientOwners"]["totalCount"] == 1


@pytest.mark.parametrize("given", ["both", "neither"])
async def test_adding_an_owner_takes_exactly_one_of_user_id_and_name(api: Api, given: str) -> None:
    await api.enable_ownership()
    user_id, _, _ = await user_named(api, "Karen Hansen")
    input_ = {"userId": user_id, "name": "Nina Extern"} if given == "both" else {}

    payload = await api.mutate("addClientOwner", input_, ADD_OWNER)

    assert payload["clientOwner"] is None
    assert problems(payload) == [("REQUIRED", ["userId"])]
    assert (await api.data(OWNERS))["clientOwners"]["totalCount"] == 0


# --- removing from the address book --------------------------------------------------------


async def test_removing_an_owner_with_transfer_moves_their_accounts_to_the_target(
    api: Api,
) -> None:
    await api.enable_ownership()
    anna = await api.add_owner(name="Anna First")
    bo = await api.add_owner(name="Bo Second")
    acme, _ = await owned(api, anna, "Acme", "Beta")
    await owned(api, bo, "Gamma")

    payload = await api.ok(
        "removeClientOwner", {"ownerId": anna, "transferClientsTo": bo}, REMOVE_OWNER
    )

    assert payload == {
        "removedOwnerId": anna,
        "transferredCount": 2,
        "unassignedCount": 0,
        "userErrors": [],
    }
    assert await owners_by_name(api) == {"Bo Second": 3}
    assert await account_owners(api) == {
        "Acme": "Bo Second",
        "Beta": "Bo Second",
        "Gamma": "Bo Second",
    }
    account = (await api.data(ACCOUNT, {"id": acme}))["account"]
    assert account["version"] == 2
    assert account["history"]["nodes"][0] == {
        "action": "account.owner_changed",
        "actor": {"name": "Firm Owner"},
        "changes": [{"field": "owner", "from": "Anna First", "to": "Bo Second"}],
    }
    assert (await api.data(OWNER_NODE, {"id": anna}))["node"] is None


async def test_removing_an_owner_without_transfer_leaves_their_accounts_unowned(
    api: Api,
) -> None:
    await api.enable_ownership()
    anna = await api.add_owner(name="Anna First")
    bo = await api.add_owner(name="Bo Second")
    acme, _ = await owned(api, anna, "Acme", "Beta")
    await owned(api, bo, "Gamma")

    payload = await api.ok("removeClientOwner", {"ownerId": anna}, REMOVE_OWNER)

    assert payload == {
        "removedOwnerId": anna,
        "transferredCount": 0,
        "unassignedCount": 2,
        "userErrors": [],
    }
    assert await owners_by_name(api) == {"Bo Second": 1}
    assert await listed(api, {"unowned": True}) == ["Acme", "Beta"]
    account = (await api.data(ACCOUNT, {"id": acme}))["account"]
    assert account["owner"] is None
    assert account["history"]["nodes"][0]["changes"] == [
        {"field": "owner", "from": "Anna First", "to": None}
    ]


async def test_removing_an_owner_with_transfer_to_itself_is_refused(api: Api) -> None:
    await api.enable_ownership()
    anna = await api.add_owner(name="Anna First")
    await owned(api, anna, "Acme")

    payload = await api.mutate(
        "removeClientOwner", {"ownerId": anna, "transferClientsTo": anna}, REMOVE_OWNER
    )

    assert payload["removedOwnerId"] is None
    assert problems(payload) == [("SAME_OWNER", ["transferClientsTo"])]
    assert await owners_by_name(api) == {"Anna First": 1}
    assert await account_owners(api) == {"Acme": "Anna First"}


@pytest.mark.parametrize(
    ("wrong", "field"),
    [
        pytest.param("malformed-owner", ["ownerId"], id="malformed-owner"),
        pytest.param("removed-owner", ["ownerId"], id="removed-owner"),
        pytest.param("account-as-owner", ["ownerId"], id="account-as-owner"),
        pytest.param("malformed-target", ["transferClientsTo"], id="malformed-target"),
        pytest.param("removed-target", ["transferClientsTo"], id="removed-target"),
    ],
)
async def test_removing_an_owner_with_an_unknown_id_is_not_found(
    api: Api, wrong: str, field: list[str]
) -> None:
    await api.enable_ownership()
    anna = await api.add_owner(name="Anna First")
    bo = await api.add_owner(name="Bo Second")
    (acme,) = await owned(api, anna, "Acme")
    gone = await removed_owner_id(api)
    input_ = {
        "malformed-owner": {"ownerId": "not-an-id", "transferClientsTo": bo},
        "removed-owner": {"ownerId": gone, "transferClientsTo": bo},
        "account-as-owner": {"ownerId": acme, "transferClientsTo": bo},
        "malformed-target": {"ownerId": anna, "transferClientsTo": "not-an-id"},
        "removed-target": {"ownerId": anna, "transferClientsTo": gone},
    }[wrong]

    payload = await api.mutate("removeClientOwner", input_, REMOVE_OWNER)

    assert payload["removedOwnerId"] is None
    assert problems(payload) == [("NOT_FOUND", field)]
    assert await owners_by_name(api) == {"Anna First": 1, "Bo Second": 0}
    assert await account_owners(api) == {"Acme": "Anna First"}


# --- transferring clients ------------------------------------------------------------------


async def test_transferring_clients_moves_every_account_of_the_owner(api: Api) -> None:
    await api.enable_ownership()
    anna = await api.add_owner(name="Anna First")
    bo = await api.add_owner(name="Bo Second")
    await owned(api, anna, "Acme", "Beta", "Delta")
    await owned(api, bo, "Gamma")
    await api.create_account("Omega", ownerId=bo)

    payload = await api.ok("transferClients", {"fromOwnerId": anna, "toOwnerId": bo}, TRANSFER)

    assert payload["transferredCount"] == 3
    assert sorted(a["name"] for a in payload["accounts"]) == ["Acme", "Beta", "Delta"]
    assert {a["owner"]["id"] for a in payload["accounts"]} == {bo}
    assert await owners_by_name(api) == {"Anna First": 0, "Bo Second": 5}
    assert await listed(api, {"ownerIds": [anna]}) == []


async def test_transferring_chosen_accounts_moves_only_those(api: Api) -> None:
    await api.enable_ownership()
    anna = await api.add_owner(name="Anna First")
    bo = await api.add_owner(name="Bo Second")
    acme, beta, delta = await owned(api, anna, "Acme", "Beta", "Delta")

    payload = await api.ok(
        "transferClients",
        {"fromOwnerId": anna, "toOwnerId": bo, "accountIds": [delta, acme]},
        TRANSFER,
    )

    assert payload["transferredCount"] == 2
    assert sorted(a["name"] for a in payload["accounts"]) == ["Acme", "Delta"]
    assert await account_owners(api) == {
        "Acme": "Bo Second",
        "Beta": "Anna First",
        "Delta": "Bo Second",
    }
    assert await owners_by_name(api) == {"Anna First": 1, "Bo Second": 2}
    history = (await api.data(ACCOUNT, {"id": beta}))["account"]["history"]["nodes"]
    assert [event["action"] for event in history] == ["account.created"]


async def test_transferring_an_account_the_source_does_not_own_moves_nothing(api: Api) -> None:
    await api.enable_ownership()
    anna = await api.add_owner(name="Anna First")
    bo = await api.add_owner(name="Bo Second")
    cleo = await api.add_owner(name="Cleo Third")
    acme, beta = await owned(api, anna, "Acme", "Beta")
    (gamma,) = await owned(api, cleo, "Gamma")

    payload = await api.mutate(
        "transferClients",
        {"fromOwnerId": anna, "toOwnerId": bo, "accountIds": [acme, gamma, beta]},
        TRANSFER,
    )

    assert payload["transferredCount"] is None
    assert problems(payload) == [("INVALID", ["accountIds", "1"])]
    assert await account_owners(api) == {
        "Acme": "Anna First",
        "Beta": "Anna First",
        "Gamma": "Cleo Third",
    }
    assert await owners_by_name(api) == {"Anna First": 2, "Bo Second": 0, "Cleo Third": 1}
    account = (await api.data(ACCOUNT, {"id": acme}))["account"]
    assert account["version"] == 1
    assert [event["action"] for event in account["history"]["nodes"]] == ["account.created"]


async def test_transferring_clients_to_the_same_owner_is_refused(api: Api) -> None:
    await api.enable_ownership()
    anna = await api.add_owner(name="Anna First")
    await owned(api, anna, "Acme")

    payload = await api.mutate(
        "transferClients", {"fromOwnerId": anna, "toOwnerId": anna}, TRANSFER
    )

    assert payload["transferredCount"] is None
    assert problems(payload) == [("SAME_OWNER", ["toOwnerId"])]
    assert await owners_by_name(api) == {"Anna First": 1}


async def test_transferring_clients_while_ownership_is_disabled_is_refused(api: Api) -> None:
    await api.enable_ownership()
    anna = await api.add_owner(name="Anna First")
    bo = await api.add_owner(name="Bo Second")
    await owned(api, anna, "Acme", "Beta")
    await api.ok("updateFirmSettings", {"clientOwnershipEnabled": False})

    payload = await api.mutate("transferClients", {"fromOwnerId": anna, "toOwnerId": bo}, TRANSFER)

    assert payload["transferredCount"] is None
    assert [code for code, _ in problems(payload)] == ["OWNERSHIP_DISABLED"]
    assert await account_owners(api) == {"Acme": "Anna First", "Beta": "Anna First"}


# --- deleting a user who owns clients ------------------------------------------------------


async def test_deleting_an_owning_user_with_transfer_gives_their_accounts_to_the_target(
    api: Api,
) -> None:
    await api.enable_ownership()
    karen_id, _, _ = await user_named(api, "Karen Hansen")
    karen = await api.add_owner(user_id=karen_id)
    bo = await api.add_owner(name="Bo Second")
    await owned(api, karen, "Acme", "Beta")
    await owned(api, bo, "Gamma")

    payload = await api.ok("deleteUser", {"userId": karen_id, "transferClientsTo": bo}, DELETE_USER)

    assert payload == {
        "deletedUserId": karen_id,
        "transferredCount": 2,
        "unassignedCount": 0,
        "userErrors": [],
    }
    assert await account_owners(api) == {
        "Acme": "Bo Second",
        "Beta": "Bo Second",
        "Gamma": "Bo Second",
    }
    assert await owners_by_name(api) == {"Bo Second": 3}
    assert (await api.data(OWNER_NODE, {"id": karen}))["node"] is None


async def test_deleting_a_user_who_owns_an_account_and_is_on_its_team_moves_its_version_once(
    api: Api,
) -> None:
    await api.enable_ownership()
    karen_id, _, _ = await user_named(api, "Karen Hansen")
    karen = await api.add_owner(user_id=karen_id)
    bo = await api.add_owner(name="Bo Second")
    (acme,) = await owned(api, karen, "Acme")
    await api.ok("assignTeamMember", {"accountId": acme, "userId": karen_id})
    before = (await api.data(ACCOUNT, {"id": acme}))["account"]["version"]

    await api.ok("deleteUser", {"userId": karen_id, "transferClientsTo": bo}, DELETE_USER)

    account = (await api.data(ACCOUNT, {"id": acme}))["account"]
    assert account["version"] == before + 1
    actions = {event["action"] for event in account["history"]["nodes"][:2]}
    assert actions == {"account.owner_changed", "account.team_member_removed"}


async def test_deleting_an_owning_user_without_transfer_leaves_their_accounts_unowned(
    api: Api,
) -> None:
    await api.enable_ownership()
    karen_id, _, _ = await user_named(api, "Karen Hansen")
    karen = await api.add_owner(user_id=karen_id)
    bo = await api.add_owner(name="Bo Second")
    await owned(api, karen, "Acme", "Beta")
    await owned(api, bo, "Gamma")

    payload = await api.ok("deleteUser", {"userId": karen_id}, DELETE_USER)

    assert payload == {
        "deletedUserId": karen_id,
        "transferredCount": 0,
        "unassignedCount": 2,
        "userErrors": [],
    }
    assert await listed(api, {"unowned": True}) == ["Acme", "Beta"]
    assert await owners_by_name(api) == {"Bo Second": 1}


async def test_a_deleted_user_leaves_the_user_list_and_their_token_is_refused(api: Api) -> None:
    await api.enable_ownership()
    karen_id, _, karen_token = await user_named(api, "Karen Hansen")
    await api.add_owner(user_id=karen_id)
    assert (await api.data("{ viewer { user { name } } }", token=karen_token))["viewer"] == {
        "user": {"name": "Karen Hansen"}
    }

    await api.ok("deleteUser", {"userId": karen_id}, DELETE_USER)

    users = (await api.data(USERS))["users"]
    assert [node["name"] for node in users["nodes"]] == ["Firm Owner"]
    assert users["totalCount"] == 1
    assert (await api.data(USER_NODE, {"id": karen_id}))["node"] is None
    response = await api.post("{ viewer { user { name } } }", token=karen_token)
    assert response.status_code == 401
    assert (await api.data(OWNERS))["clientOwners"]["totalCount"] == 0


async def test_history_keeps_the_name_of_a_deleted_user(api: Api) -> None:
    await api.enable_ownership()
    karen_id, karen_token = await api.staff(
        "VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS", "CREATE_ACCOUNTS", name="Karen Hansen"
    )
    karen = await api.add_owner(user_id=karen_id)
    bo = await api.add_owner(name="Bo Second")
    account = await api.create_account("Acme", ownerId=bo)
    await api.ok(
        "assignClientOwner", {"accountId": account["id"], "ownerId": karen}, token=karen_token
    )

    await api.ok("deleteUser", {"userId": karen_id, "transferClientsTo": bo}, DELETE_USER)

    history = (await api.data(ACCOUNT, {"id": account["id"]}))["account"]["history"]["nodes"]
    assert [(event["action"], event["actor"]) for event in history] == [
        ("account.owner_changed", {"name": "Firm Owner"}),
        ("account.owner_changed", {"name": "Karen Hansen"}),
        ("account.created", {"name": "Firm Owner"}),
    ]
    assert [event["changes"] for event in history[:2]] == [
        [{"field": "owner", "from": "Karen Hansen", "to": "Bo Second"}],
        [{"field": "owner", "from": "Bo Second", "to": "Karen Hansen"}],
    ]


# --- inactive users ------------------------------------------------------------------------


async def test_an_inactive_users_entry_cannot_be_assigned_an_account(api: Api) -> None:
    await api.enable_ownership()
    karen_id, _, _ = await user_named(api, "Karen Hansen")
    karen = await api.add_owner(user_id=karen_id)
    bo = await api.add_owner(name="Bo Second")
    (acme,) = await owned(api, bo, "Acme")
    await api.ok("updateUser", {"userId": karen_id, "isActive": False})

    payload = await api.mutate(
        "assignClientOwner", {"accountId": acme, "ownerId": karen}, "account { id }"
    )

    assert payload["account"] is None
    assert problems(payload) == [("USER_INACTIVE", ["ownerId"])]
    assert await account_owners(api) == {"Acme": "Bo Second"}


async def _an_inactive_users_entry(api: Api) -> str:
    karen_id, _, _ = await user_named(api, "Karen Hansen")
    karen = await api.add_owner(user_id=karen_id)
    await api.ok("updateUser", {"userId": karen_id, "isActive": False})
    return karen


@pytest.mark.parametrize(
    ("owner_of", "code"),
    [(_an_inactive_users_entry, "USER_INACTIVE"), (removed_owner_id, "NOT_FOUND")],
    ids=["inactive user", "removed entry"],
)
async def test_a_new_account_for_an_owner_who_cannot_take_it_is_refused_with_its_taken_number(
    api: Api, owner_of: Callable[[Api], Awaitable[str]], code: str
) -> None:
    await api.enable_ownership()
    bo = await api.add_owner(name="Bo Second")
    await api.create_account("Acme", ownerId=bo, customerNumber="1001")
    owner = await owner_of(api)

    payload = await api.mutate(
        "createAccount",
        {"name": "Beta", "ownerId": owner, "customerNumber": "1001"},
        "account { id }",
    )

    assert payload["account"] is None
    assert problems(payload) == [(code, ["ownerId"]), ("TAKEN", ["customerNumber"])]
    assert await account_owners(api) == {"Acme": "Bo Second"}


async def test_assigning_a_removed_entry_while_ownership_is_disabled_says_it_is_disabled(
    api: Api,
) -> None:
    await api.enable_ownership()
    bo = await api.add_owner(name="Bo Second")
    (acme,) = await owned(api, bo, "Acme")
    gone = await removed_owner_id(api)
    await api.ok("updateFirmSettings", {"clientOwnershipEnabled": False})

    payload = await api.mutate(
        "assignClientOwner", {"accountId": acme, "ownerId": gone}, "account { id }"
    )

    assert problems(payload) == [("OWNERSHIP_DISABLED", None)]
    assert await account_owners(api) == {"Acme": "Bo Second"}


async def test_an_inactive_users_entry_cannot_receive_transferred_clients(api: Api) -> None:
    await api.enable_ownership()
    karen_id, _, _ = await user_named(api, "Karen Hansen")
    karen = await api.add_owner(user_id=karen_id)
    bo = await api.add_owner(name="Bo Second")
    await owned(api, bo, "Acme", "Beta")
    await api.ok("updateUser", {"userId": karen_id, "isActive": False})

    payload = await api.mutate("transferClients", {"fromOwnerId": bo, "toOwnerId": karen}, TRANSFER)

    assert payload["transferredCount"] is None
    assert problems(payload) == [("USER_INACTIVE", ["toOwnerId"])]
    assert await owners_by_name(api) == {"Bo Second": 2, "Karen Hansen": 0}


@pytest.mark.parametrize("mutation", ["removeClientOwner", "deleteUser"])
async def test_an_inactive_users_entry_cannot_take_over_the_clients_of_a_leaving_owner(
    api: Api, mutation: str
) -> None:
    await api.enable_ownership()
    karen_id, _, _ = await user_named(api, "Karen Hansen")
    karen = await api.add_owner(user_id=karen_id)
    leaver_id, _, _ = await user_named(api, "Lars Leaver")
    leaver = await api.add_owner(user_id=leaver_id)
    await owned(api, leaver, "Acme", "Beta")
    await api.ok("updateUser", {"userId": karen_id, "isActive": False})
    input_ = (
        {"ownerId": leaver, "transferClientsTo": karen}
        if mutation == "removeClientOwner"
        else {"userId": leaver_id, "transferClientsTo": karen}
    )

    payload = await api.mutate(mutation, input_, "transferredCount")

    assert payload["transferredCount"] is None
    assert problems(payload) == [("USER_INACTIVE", ["transferClientsTo"])]
    assert await owners_by_name(api) == {"Karen Hansen": 0, "Lars Leaver": 2}
    assert (await api.data(USER_NODE, {"id": leaver_id}))["node"]["clientOwner"]["id"] == leaver


# --- owner filters and order of the account list -------------------------------------------


async def firm_with_owned_accounts(api: Api) -> tuple[str, str, str, str]:
    """Karen (a STAFF user who may view all accounts) owns Acme and Beta, Anna owns Gamma,
    Bo owns Delta, and Omega has no owner: (Karen's token, Karen's, Anna's, Bo's entry)."""
    await api.enable_ownership()
    karen_id, _, karen_token = await user_named(api, "Karen Hansen")
    karen = await api.add_owner(user_id=karen_id)
    anna = await api.add_owner(name="Anna First")
    bo = await api.add_owner(name="Bo Second")
    await owned(api, karen, "Acme", "Beta")
    await owned(api, anna, "Gamma")
    await owned(api, bo, "Delta")
    (omega,) = await owned(api, bo, "Omega")
    await api.ok("assignClientOwner", {"accountId": omega, "ownerId": None})
    return karen_token, karen, anna, bo


async def test_owned_by_me_lists_exactly_the_callers_accounts(api: Api) -> None:
    karen_token, _, _, _ = await firm_with_owned_accounts(api)

    assert await listed(api, {"ownedByMe": True}, token=karen_token) == ["Acme", "Beta"]
    assert await listed(api, {"ownedByMe": True}) == []


async def test_unowned_lists_only_accounts_without_an_owner(api: Api) -> None:
    await firm_with_owned_accounts(api)

    assert await listed(api, {"unowned": True}) == ["Omega"]


async def test_owner_ids_lists_the_accounts_of_any_of_the_given_owners(api: Api) -> None:
    _, karen, anna, bo = await firm_with_owned_accounts(api)

    assert await listed(api, {"ownerIds": [anna, bo]}) == ["Delta", "Gamma"]
    assert await listed(api, {"ownerIds": [karen]}) == ["Acme", "Beta"]


async def test_owner_criteria_combine_as_alternatives(api: Api) -> None:
    karen_token, _, anna, bo = await firm_with_owned_accounts(api)

    assert await listed(api, {"ownerIds": [anna], "unowned": True}) == ["Gamma", "Omega"]
    assert await listed(api, {"ownedByMe": True, "unowned": True}, token=karen_token) == [
        "Acme",
        "Beta",
        "Omega",
    ]
    assert await listed(api, {"ownedByMe": True, "ownerIds": [bo]}, token=karen_token) == [
        "Acme",
        "Beta",
        "Delta",
    ]


async def test_other_criteria_narrow_the_owner_criteria(api: Api) -> None:
    karen_token, _, anna, _ = await firm_with_owned_accounts(api)

    assert await listed(api, {"ownerIds": [anna], "unowned": True, "search": "omeg"}) == ["Omega"]
    assert await listed(api, {"ownedByMe": True, "search": "BET"}, token=karen_token) == ["Beta"]


@pytest.mark.parametrize(
    ("direction", "expected"),
    [
        pytest.param("ASC", ["Gamma", "Delta", "Acme", "Omega"], id="ASC"),
        pytest.param("DESC", ["Omega", "Acme", "Delta", "Gamma"], id="DESC"),
    ],
)
async def test_ordering_by_owner_name_puts_unowned_accounts_last_ascending_first_descending(
    api: Api, direction: str, expected: list[str]
) -> None:
    await api.enable_ownership()
    anna = await api.add_owner(name="anna First")
    bo = await api.add_owner(name="Bo Second")
    karen = await api.add_owner(name="Karen Hansen")
    await owned(api, karen, "Acme")
    await owned(api, anna, "Gamma")
    await owned(api, bo, "Delta")
    (omega,) = await owned(api, bo, "Omega")
    await api.ok("assignClientOwner", {"accountId": omega, "ownerId": None})

    order = {"field": "OWNER_NAME", "direction": direction}
    assert await listed(api, order_by=order) == expected


# --- rights --------------------------------------------------------------------------------


async def snapshot(api: Api) -> tuple[Any, ...]:
    return (
        await api.data(SETTINGS),
        await api.data(OWNERS),
        await api.data(USERS),
        await account_owners(api),
    )


@pytest.mark.parametrize(
    "mutation",
    ["updateFirmSettings", "addClientOwner", "removeClientOwner", "transferClients", "deleteUser"],
)
async def test_staff_with_every_permission_may_not_manage_the_address_book(
    api: Api, mutation: str
) -> None:
    await api.enable_ownership()
    karen_id, _, _ = await user_named(api, "Karen Hansen")
    karen = await api.add_owner(user_id=karen_id)
    bo = await api.add_owner(name="Bo Second")
    await owned(api, karen, "Acme", "Beta")
    _, staff_token = await api.staff(*EVERY_PERMISSION, name="Sven Staff")
    before = await snapshot(api)
    input_ = {
        "updateFirmSettings": {"clientOwnershipEnabled": False},
        "addClientOwner": {"name": "Nina Extern"},
        "removeClientOwner": {"ownerId": karen, "transferClientsTo": bo},
        "transferClients": {"fromOwnerId": karen, "toOwnerId": bo},
        "deleteUser": {"userId": karen_id, "transferClientsTo": bo},
    }[mutation]
    input_type = mutation[0].upper() + mutation[1:] + "Input"
    document = (
        f"mutation($input: {input_type}!) {{ {mutation}(input: $input) "
        "{ userErrors { code } } }"
    )

    body = await api.execute(document, {"input": input_}, token=staff_token)

    assert body["data"] is None
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [
        ([mutation], "FORBIDDEN")
    ]
    assert await snapshot(api) == before


async def test_staff_who_may_edit_all_accounts_may_assign_an_owner(api: Api) -> None:
    await api.enable_ownership()
    anna = await api.add_owner(name="Anna First")
    bo = await api.add_owner(name="Bo Second")
    (acme,) = await owned(api, anna, "Acme")
    _, token = await api.staff("VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS", name="Sven Staff")

    payload = await api.ok(
        "assignClientOwner",
        {"accountId": acme, "ownerId": bo},
        "account { owner { id name } }",
        token=token,
    )

    assert payload["account"]["owner"] == {"id": bo, "name": "Bo Second"}
    assert await owners_by_name(api) == {"Anna First": 0, "Bo Second": 1}
    history = (await api.data(ACCOUNT, {"id": acme}))["account"]["history"]["nodes"]
    assert history[0]["actor"] == {"name": "Sven Staff"}


async def test_staff_who_may_only_view_accounts_may_not_assign_an_owner(api: Api) -> None:
    await api.enable_ownership()
    anna = await api.add_owner(name="Anna First")
    bo = await api.add_owner(name="Bo Second")
    (acme,) = await owned(api, anna, "Acme")
    _, token = await api.staff("VIEW_ALL_ACCOUNTS", name="Sven Staff")
    document = (
        "mutation($input: AssignClientOwnerInput!) { assignClientOwner(input: $input) "
        "{ account { id } userErrors { code } } }"
    )

    body = await api.execute(document, {"input": {"accountId": acme, "ownerId": bo}}, token)

    assert body["data"] is None
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [
        (["assignClientOwner"], "FORBIDDEN")
    ]
    assert await account_owners(api) == {"Acme": "Anna First"}


async def test_staff_who_may_not_view_an_account_cannot_find_it_to_assign_an_owner(
    api: Api,
) -> None:
    await api.enable_ownership()
    anna = await api.add_owner(name="Anna First")
    bo = await api.add_owner(name="Bo Second")
    (acme,) = await owned(api, anna, "Acme")
    _, token = await api.staff("CREATE_ACCOUNTS", name="Sven Staff")

    payload = await api.mutate(
        "assignClientOwner", {"accountId": acme, "ownerId": bo}, "account { id }", token=token
    )

    assert payload["account"] is None
    assert problems(payload) == [("NOT_FOUND", ["accountId"])]
    assert await account_owners(api) == {"Acme": "Anna First"}


# --- ids of another firm -------------------------------------------------------------------


async def other_firm_with_an_owned_account(other_firm: Api) -> tuple[str, str]:
    """In the other firm, Olga Other owns Oak: (Olga's entry, Oak's id)."""
    await other_firm.enable_ownership()
    olga = await other_firm.add_owner(name="Olga Other")
    (oak,) = await owned(other_firm, olga, "Oak")
    return olga, oak


@pytest.mark.parametrize(("foreign", "field"), [("account", "accountId"), ("owner", "ownerId")])
async def test_assigning_with_an_id_of_another_firm_is_not_found(
    api: Api, other_firm: Api, foreign: str, field: str
) -> None:
    olga, oak = await other_firm_with_an_owned_account(other_firm)
    await api.enable_ownership()
    anna = await api.add_owner(name="Anna First")
    (acme,) = await owned(api, anna, "Acme")
    input_ = {
        "account": {"accountId": oak, "ownerId": anna},
        "owner": {"accountId": acme, "ownerId": olga},
    }[foreign]

    payload = await api.mutate("assignClientOwner", input_, "account { id }")

    assert payload["account"] is None
    assert problems(payload) == [("NOT_FOUND", [field])]
    assert await account_owners(api) == {"Acme": "Anna First"}
    assert await account_owners(other_firm) == {"Oak": "Olga Other"}
    assert await owners_by_name(other_firm) == {"Olga Other": 1}


@pytest.mark.parametrize(
    ("foreign", "field"),
    [
        pytest.param("from", ["fromOwnerId"], id="from"),
        pytest.param("to", ["toOwnerId"], id="to"),
        pytest.param("account", ["accountIds", "0"], id="account"),
    ],
)
async def test_transferring_with_an_id_of_another_firm_is_not_found(
    api: Api, other_firm: Api, foreign: str, field: list[str]
) -> None:
    olga, oak = await other_firm_with_an_owned_account(other_firm)
    await api.enable_ownership()
    anna = await api.add_owner(name="Anna First")
    bo = await api.add_owner(name="Bo Second")
    await owned(api, anna, "Acme")
    input_ = {
        "from": {"fromOwnerId": olga, "toOwnerId": bo},
        "to": {"fromOwnerId": anna, "toOwnerId": olga},
        "account": {"fromOwnerId": anna, "toOwnerId": bo, "accountIds": [oak]},
    }[foreign]

    payload = await api.mutate("transferClients", input_, TRANSFER)

    assert payload["transferredCount"] is None
    assert problems(payload) == [("NOT_FOUND", field)]
    assert await account_owners(api) == {"Acme": "Anna First"}
    assert await account_owners(other_firm) == {"Oak": "Olga Other"}
    assert await owners_by_name(other_firm) == {"Olga Other": 1}


@pytest.mark.parametrize(
    ("foreign", "field"),
    [
        pytest.param("owner", ["ownerId"], id="owner"),
        pytest.param("target", ["transferClientsTo"], id="target"),
    ],
)
async def test_removing_with_an_id_of_another_firm_is_not_found(
    api: Api, other_firm: Api, foreign: str, field: list[str]
) -> None:
    olga, _ = await other_firm_with_an_owned_account(other_firm)
    await api.enable_ownership()
    anna = await api.add_owner(name="Anna First")
    await owned(api, anna, "Acme")
    input_ = (
        {"ownerId": olga} if foreign == "owner" else {"ownerId": anna, "transferClientsTo": olga}
    )

    payload = await api.mutate("removeClientOwner", input_, REMOVE_OWNER)

    assert payload["removedOwnerId"] is None
    assert problems(payload) == [("NOT_FOUND", field)]
    assert await owners_by_name(api) == {"Anna First": 1}
    assert await account_owners(other_firm) == {"Oak": "Olga Other"}
    assert await owners_by_name(other_firm) == {"Olga Other": 1}


# --- accountCount stays true ---------------------------------------------------------------


async def test_account_count_equals_the_accounts_listing_the_owner_after_every_move(
    api: Api,
) -> None:
    await api.enable_ownership()
    karen_id, _, _ = await user_named(api, "Karen Hansen")
    karen = await api.add_owner(user_id=karen_id)
    anna = await api.add_owner(name="Anna First")
    bo = await api.add_owner(name="Bo Second")
    cleo = await api.add_owner(name="Cleo Third")
    a1, a2, _ = await owned(api, anna, "A1", "A2", "A3")
    b1, _ = await owned(api, bo, "B1", "B2")
    (k1,) = await owned(api, karen, "K1")

    await api.ok("assignClientOwner", {"accountId": b1, "ownerId": anna})
    await api.ok("assignClientOwner", {"accountId": a1, "ownerId": None})
    await api.ok("assignClientOwner", {"accountId": a1, "ownerId": cleo})
    await api.ok("transferClients", {"fromOwnerId": anna, "toOwnerId": karen, "accountIds": [a2]})
    await api.ok("transferClients", {"fromOwnerId": bo, "toOwnerId": cleo})
    await api.ok("removeClientOwner", {"ownerId": anna, "transferClientsTo": bo})
    await api.ok("deleteUser", {"userId": karen_id, "transferClientsTo": cleo})
    await api.ok("assignClientOwner", {"accountId": k1, "ownerId": bo})

    expected = {"Bo Second": 3, "Cleo Third": 3}
    assert await owners_by_name(api) == expected
    assert await account_owners(api) == {
        "A1": "Cleo Third",
        "A2": "Cleo Third",
        "A3": "Bo Second",
        "B1": "Bo Second",
        "B2": "Cleo Third",
        "K1": "Bo Second",
    }
    for owner, count in ((bo, 3), (cleo, 3)):
        data = await api.data(OWNER_COUNTS, {"id": owner, "ids": [owner]})
        assert data["node"] == {"accountCount": count, "accounts": {"totalCount": count}}
        assert data["accounts"]["totalCount"] == count


async def test_an_assigned_only_user_giving_their_account_away_gets_a_null_account(
    api: Api,
) -> None:
    account = await api.create_account("Acme")
    staff_id, token = await api.staff("VIEW_ASSIGNED_ACCOUNTS", "EDIT_ASSIGNED_ACCOUNTS")
    await api.enable_ownership()
    mine = await api.add_owner(user_id=staff_id)
    other = await api.add_owner(name="Eva Ekstern")
    await api.ok("assignClientOwner", {"accountId": account["id"], "ownerId": mine})

    payload = await api.mutate(
        "assignClientOwner",
        {"accountId": account["id"], "ownerId": other},
        "account { id }",
        token,
    )

    assert payload == {"account": None, "userErrors": []}
    data = await api.data(
        "query($id: ID!) { account(id: $id) { owner { name } } }", {"id": account["id"]}
    )
    assert data["account"]["owner"] == {"name": "Eva Ekstern"}


async def test_owner_filters_given_as_null_set_no_criterion(api: Api) -> None:
    await api.create_account("Acme")

    data = await api.data(
        "{ accounts(filter: {ownedByMe: null, unowned: null, assignedToMe: null}) { totalCount } }"
    )

    assert data["accounts"]["totalCount"] == 1
