"""Who may see and change what (§5): view rights, edit rights, admin-only acts, other firms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.support import EVERY_PERMISSION, Api, errors_of, top_level_codes

ACCOUNTS = "{ accounts { totalCount nodes { id name } } }"
SEARCH = """
query($search: String) { accounts(filter: {search: $search}) { totalCount nodes { name } } }
"""
ACCOUNT = "query($id: ID!) { account(id: $id) { id name version } }"
NODE = "query($id: ID!) { node(id: $id) { id ... on Account { name } } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Account { name } } }"
OWNER_COUNTS = "{ clientOwners { nodes { name accountCount accounts { totalCount } } } }"
VIEWER_PERMISSIONS = "{ viewer { permissions user { role permissions } } }"
CREATE_ACCOUNT = """
mutation($input: CreateAccountInput!) {
  createAccount(input: $input) { account { id } userErrors { field code } }
}
"""
UPDATE_ACCOUNT = """
mutation($input: UpdateAccountInput!) {
  updateAccount(input: $input) { account { id name version } userErrors { field code } }
}
"""


async def read_account(api: Api, account_id: str, token: str | None = None) -> Any:
    return (await api.data(ACCOUNT, {"id": account_id}, token))["account"]


@dataclass
class Assigned:
    """Three accounts: one owned by the staff user's address-book entry, one by someone
    else, one unowned."""

    token: str
    mine: str
    theirs: str
    unowned: str


async def assigned_setup(api: Api, *permissions: str) -> Assigned:
    unowned = await api.create_account("Unowned AB")
    mine = await api.create_account("Mine AB")
    theirs = await api.create_account("Theirs AB")
    staff_id, token = await api.staff(*permissions, name="Sara Staff")
    await api.enable_ownership()
    own_entry = await api.add_owner(user_id=staff_id)
    other_entry = await api.add_owner(name="Olle Other")
    await api.ok("assignClientOwner", {"accountId": mine["id"], "ownerId": own_entry})
    await api.ok("assignClientOwner", {"accountId": theirs["id"], "ownerId": other_entry})
    return Assigned(token, mine["id"], theirs["id"], unowned["id"])


# --- seeing --------------------------------------------------------------------------------


async def test_staff_without_a_view_right_sees_no_account(api: Api) -> None:
    account = await api.create_account("Acme")
    _, token = await api.staff("CREATE_ACCOUNTS", "EDIT_ALL_ACCOUNTS")

    listed = await api.data(ACCOUNTS, token=token)
    by_id = await api.data(ACCOUNT, {"id": account["id"]}, token)
    by_node = await api.data(NODE, {"id": account["id"]}, token)
    by_nodes = await api.data(NODES, {"ids": [account["id"]]}, token)

    assert listed == {"accounts": {"totalCount": 0, "nodes": []}}
    assert by_id == {"account": None}
    assert by_node == {"node": None}
    assert by_nodes == {"nodes": [None]}


async def test_staff_with_view_assigned_lists_and_counts_only_their_accounts(api: Api) -> None:
    setup = await assigned_setup(api, "VIEW_ASSIGNED_ACCOUNTS")

    listed = await api.data(ACCOUNTS, token=setup.token)

    assert listed == {
        "accounts": {"totalCount": 1, "nodes": [{"id": setup.mine, "name": "Mine AB"}]}
    }
    assert (await api.data(ACCOUNTS))["accounts"]["totalCount"] == 3


async def test_staff_with_view_assigned_search_only_their_accounts(api: Api) -> None:
    setup = await assigned_setup(api, "VIEW_ASSIGNED_ACCOUNTS")

    found = await api.data(SEARCH, {"search": " ab"}, setup.token)

    assert found == {"accounts": {"totalCount": 1, "nodes": [{"name": "Mine AB"}]}}


async def test_staff_with_view_assigned_reaches_only_their_accounts_by_id(api: Api) -> None:
    setup = await assigned_setup(api, "VIEW_ASSIGNED_ACCOUNTS")
    token = setup.token
    mine = {"id": setup.mine, "name": "Mine AB"}

    assert (await api.data(ACCOUNT, {"id": setup.mine}, token))["account"]["name"] == "Mine AB"
    assert (await api.data(ACCOUNT, {"id": setup.theirs}, token))["account"] is None
    assert (await api.data(ACCOUNT, {"id": setup.unowned}, token))["account"] is None
    assert (await api.data(NODE, {"id": setup.mine}, token))["node"] == mine
    assert (await api.data(NODE, {"id": setup.theirs}, token))["node"] is None
    nodes = await api.data(NODES, {"ids": [setup.theirs, setup.mine, setup.unowned]}, token)
    assert nodes == {"nodes": [None, mine, None]}


async def test_owner_account_counts_include_only_accounts_the_staff_user_sees(api: Api) -> None:
    setup = await assigned_setup(api, "VIEW_ASSIGNED_ACCOUNTS")

    as_staff = await api.data(OWNER_COUNTS, token=setup.token)
    as_admin = await api.data(OWNER_COUNTS)

    assert as_staff["clientOwners"]["nodes"] == [
        {"name": "Olle Other", "accountCount": 0, "accounts": {"totalCount": 0}},
        {"name": "Sara Staff", "accountCount": 1, "accounts": {"totalCount": 1}},
    ]
    assert as_admin["clientOwners"]["nodes"] == [
        {"name": "Olle Other", "accountCount": 1, "accounts": {"totalCount": 1}},
        {"name": "Sara Staff", "accountCount": 1, "accounts": {"totalCount": 1}},
    ]


# --- changing ------------------------------------------------------------------------------


async def test_staff_without_create_accounts_is_forbidden_to_create_one(api: Api) -> None:
    _, token = await api.staff("VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS")

    body = await api.execute(CREATE_ACCOUNT, {"input": {"name": "Acme"}}, token)

    assert top_level_codes(body) == ["FORBIDDEN"]
    assert (await api.data(ACCOUNTS))["accounts"]["totalCount"] == 0


async def test_staff_with_create_accounts_may_create_one(api: Api) -> None:
    _, token = await api.staff("CREATE_ACCOUNTS", "VIEW_ALL_ACCOUNTS")

    payload = await api.ok("createAccount", {"name": "Acme"}, "account { name }", token)

    assert payload["account"] == {"name": "Acme"}
    assert (await api.data(ACCOUNTS))["accounts"]["totalCount"] == 1


async def test_staff_who_may_only_view_is_forbidden_to_update(api: Api) -> None:
    account = await api.create_account("Acme")
    _, token = await api.staff("VIEW_ALL_ACCOUNTS")

    body = await api.execute(
        UPDATE_ACCOUNT, {"input": {"accountId": account["id"], "name": "Renamed"}}, token
    )

    assert top_level_codes(body) == ["FORBIDDEN"]
    assert await read_account(api, account["id"]) == {
        "id": account["id"],
        "name": "Acme",
        "version": 1,
    }


async def test_staff_with_edit_assigned_may_update_an_assigned_account(api: Api) -> None:
    setup = await assigned_setup(api, "VIEW_ALL_ACCOUNTS", "EDIT_ASSIGNED_ACCOUNTS")
    version = (await read_account(api, setup.mine))["version"]

    payload = await api.ok(
        "updateAccount",
        {"accountId": setup.mine, "name": "Mine Renamed"},
        "account { name version }",
        setup.token,
    )

    assert payload["account"] == {"name": "Mine Renamed", "version": version + 1}


@pytest.mark.parametrize("which", ["theirs", "unowned"])
async def test_staff_with_edit_assigned_is_forbidden_to_update_another_account(
    api: Api, which: str
) -> None:
    setup = await assigned_setup(api, "VIEW_ALL_ACCOUNTS", "EDIT_ASSIGNED_ACCOUNTS")
    account_id = getattr(setup, which)
    before = await read_account(api, account_id)

    body = await api.execute(
        UPDATE_ACCOUNT, {"input": {"accountId": account_id, "name": "Renamed"}}, setup.token
    )

    assert top_level_codes(body) == ["FORBIDDEN"]
    assert await read_account(api, account_id) == before


# --- viewer { permissions } ----------------------------------------------------------------


async def test_the_firm_owner_holds_every_permission(api: Api) -> None:
    viewer = (await api.data(VIEWER_PERMISSIONS))["viewer"]

    assert sorted(viewer["permissions"]) == sorted(list(EVERY_PERMISSION))
    assert viewer["user"]["role"] == "OWNER"
    assert sorted(viewer["user"]["permissions"]) == sorted(list(EVERY_PERMISSION))


async def test_an_admin_holds_every_permission_even_if_granted_none(api: Api) -> None:
    _, token = await api.staff(role="ADMIN")

    viewer = (await api.data(VIEWER_PERMISSIONS, token=token))["viewer"]

    assert sorted(viewer["permissions"]) == sorted(list(EVERY_PERMISSION))
    assert sorted(viewer["user"]["permissions"]) == sorted(list(EVERY_PERMISSION))


async def test_staff_hold_exactly_the_permissions_granted(api: Api) -> None:
    _, token = await api.staff("VIEW_ASSIGNED_ACCOUNTS", "CREATE_ACCOUNTS")

    viewer = (await api.data(VIEWER_PERMISSIONS, token=token))["viewer"]

    assert sorted(viewer["permissions"]) == ["CREATE_ACCOUNTS", "VIEW_ASSIGNED_ACCOUNTS"]
    assert viewer["user"] == {
        "role": "STAFF",
        "permissions": viewer["permissions"],
    }


async def test_staff_granted_nothing_hold_no_permission(api: Api) -> None:
    _, token = await api.staff()

    viewer = (await api.data(VIEWER_PERMISSIONS, token=token))["viewer"]

    assert viewer["permissions"] == []


# --- other firms and bad ids ---------------------------------------------------------------


async def test_another_firms_account_cannot_be_read(api: Api, other_firm: Api) -> None:
    foreign = await other_firm.create_account("Foreign AB")

    assert (await api.data(ACCOUNT, {"id": foreign["id"]}))["account"] is None
    assert (await api.data(NODE, {"id": foreign["id"]}))["node"] is None
    assert (await api.data(NODES, {"ids": [foreign["id"]]}))["nodes"] == [None]
    assert (await api.data(ACCOUNTS))["accounts"] == {"totalCount": 0, "nodes": []}


async def test_updating_another_firms_account_is_not_found(api: Api, other_firm: Api) -> None:
    foreign = await other_firm.create_account("Foreign AB")

    payload = await api.mutate(
        "updateAccount", {"accountId": foreign["id"], "name": "Hijacked"}, "account { id }"
    )

    assert payload["account"] is None
    assert errors_of(payload) == [(["accountId"], "NOT_FOUND")]
    assert await read_account(other_firm, foreign["id"]) == {
        "id": foreign["id"],
        "name": "Foreign AB",
        "version": 1,
    }


async def test_assigning_an_owner_to_another_firms_account_is_not_found(
    api: Api, other_firm: Api
) -> None:
    foreign = await other_firm.create_account("Foreign AB")
    await api.enable_ownership()
    owner = await api.add_owner(name="Nina Extern")

    payload = await api.mutate(
        "assignClientOwner", {"accountId": foreign["id"], "ownerId": owner}, "account { id }"
    )

    assert payload["account"] is None
    assert errors_of(payload) == [(["accountId"], "NOT_FOUND")]
    assert await read_account(other_firm, foreign["id"]) == {
        "id": foreign["id"],
        "name": "Foreign AB",
        "version": 1,
    }


async def test_assigning_another_firms_owner_is_not_found(api: Api, other_firm: Api) -> None:
    account = await api.create_account("Acme")
    await api.enable_ownership()
    await other_firm.enable_ownership()
    foreign_owner = await other_firm.add_owner(name="Foreign Owner")

    payload = await api.mutate(
        "assignClientOwner",
        {"accountId": account["id"], "ownerId": foreign_owner},
        "account { id }",
    )

    assert errors_of(payload) == [(["ownerId"], "NOT_FOUND")]
    assert (await read_account(api, account["id"]))["version"] == 1


async def test_staff_without_edit_rights_get_not_found_for_another_firms_account(
    api: Api, other_firm: Api
) -> None:
    foreign = await other_firm.create_account("Foreign AB")
    _, token = await api.staff("VIEW_ALL_ACCOUNTS")

    body = await api.execute(
        UPDATE_ACCOUNT, {"input": {"accountId": foreign["id"], "name": "Hijacked"}}, token
    )

    assert "errors" not in body
    assert errors_of(body["data"]["updateAccount"]) == [(["accountId"], "NOT_FOUND")]


@pytest.mark.parametrize("bad_id", ["nope", "", "VXNlcjpub3BlCg=="])
async def test_a_malformed_account_id_is_not_found_on_account_id(api: Api, bad_id: str) -> None:
    await api.create_account("Acme")

    payload = await api.mutate(
        "updateAccount", {"accountId": bad_id, "name": "Renamed"}, "account { id }"
    )

    assert payload["account"] is None
    assert errors_of(payload) == [(["accountId"], "NOT_FOUND")]


async def test_an_id_of_another_type_is_not_found_on_account_id(api: Api) -> None:
    await api.create_account("Acme")
    user_id = (await api.data("{ viewer { user { id } } }"))["viewer"]["user"]["id"]

    payload = await api.mutate(
        "updateAccount", {"accountId": user_id, "name": "Renamed"}, "account { id }"
    )

    assert errors_of(payload) == [(["accountId"], "NOT_FOUND")]


async def test_a_malformed_account_id_reads_as_null(api: Api) -> None:
    assert await api.data(ACCOUNT, {"id": "nope"}) == {"account": None}
    assert await api.data(NODE, {"id": "nope"}) == {"node": None}


async def test_an_assigned_only_user_may_order_their_accounts_by_owner_name(api: Api) -> None:
    await api.create_account("Not mine")
    mine = await api.create_account("Mine")
    staff_id, token = await api.staff("VIEW_ASSIGNED_ACCOUNTS")
    await api.enable_ownership()
    entry = await api.add_owner(user_id=staff_id)
    await api.ok("assignClientOwner", {"accountId": mine["id"], "ownerId": entry})

    data = await api.data(
        "{ accounts(orderBy: {field: OWNER_NAME, direction: ASC}, filter: {ownedByMe: true}) "
        "{ totalCount nodes { name } } "
        "all: accounts(orderBy: {field: OWNER_NAME, direction: DESC}) { nodes { name } } }",
        token=token,
    )

    assert data["accounts"] == {"totalCount": 1, "nodes": [{"name": "Mine"}]}
    assert data["all"]["nodes"] == [{"name": "Mine"}]
