"""The customer register of seeds 003/004 through the API, on every backend: deactivating and
deleting accounts, team members and their notifications, custom fields, and the register's
list filters."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.support import EVERY_PERMISSION, Api

ACCOUNT = """
query($id: ID!) {
  account(id: $id) {
    id name status version tags
    owner { name }
    teamMembers { id name }
    contacts { contact { fullName } }
    history { totalCount nodes { action actor { name } changes { field from to } } }
  }
}
"""
ACCOUNT_VERSION = "query($id: ID!) { account(id: $id) { version history { totalCount } } }"
ACCOUNT_FIELDS = """
query($id: ID!) {
  account(id: $id) {
    version customFields { key label type value }
    history { totalCount nodes { action actor { name } changes { field from to } } }
  }
}
"""
CONTACT_FIELDS = """
query($id: ID!) {
  contact(id: $id) {
    version customFields { key label type value }
    history { nodes { action changes { field from to } } }
  }
}
"""
CONTACT_LINKS = "query($id: ID!) { contact(id: $id) { accounts { account { name } } } }"
RELATED = "query($id: ID!) { account(id: $id) { relatedAccounts { name } } }"
NODE = "query($id: ID!) { node(id: $id) { id } }"
ACCOUNTS = """
query($filter: AccountFilter, $orderBy: AccountOrder) {
  accounts(filter: $filter, orderBy: $orderBy) { totalCount nodes { name } }
}
"""
OWNERS = "{ clientOwners { nodes { name accountCount accounts { totalCount } } } }"
NOTIFICATIONS = """
query($first: Int, $after: String, $unreadOnly: Boolean! = false) {
  viewer {
    notifications(first: $first, after: $after, unreadOnly: $unreadOnly) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { id kind message readAt account { name } }
    }
  }
}
"""
DEFINITIONS = """
query($entity: CustomFieldEntity!) {
  customFieldDefinitions(entity: $entity) { entity key label type options }
}
"""
DEFINITION = "definition { entity key label type options }"


def errors_of(payload: dict[str, Any]) -> list[tuple[list[str] | None, str]]:
    return [(error["field"], error["code"]) for error in payload["userErrors"]]


def mutation_document(name: str, selection: str = "") -> str:
    input_type = name[0].upper() + name[1:] + "Input"
    return (
        f"mutation($input: {input_type}!) {{ {name}(input: $input) "
        f"{{ {selection} userErrors {{ field code }} }} }}"
    )


def outcome(body: dict[str, Any], name: str) -> list[Any]:
    """The top-level error codes of a response, or else its payload's user errors."""
    if body.get("errors"):
        return [error["extensions"]["code"] for error in body["errors"]]
    return errors_of(body["data"][name])


async def forbidden(api: Api, name: str, input_: dict[str, Any], token: str) -> None:
    """Run mutation `name` as `token`; it must fail whole with a top-level FORBIDDEN."""
    body = await api.execute(mutation_document(name), {"input": input_}, token)
    assert body["data"] is None
    assert [(error["path"], error["extensions"]["code"]) for error in body["errors"]] == [
        ([name], "FORBIDDEN")
    ]


async def read_account(api: Api, account_id: str, token: str | None = None) -> Any:
    return (await api.data(ACCOUNT, {"id": account_id}, token))["account"]


async def version_of(api: Api, account_id: str) -> tuple[int, int]:
    """The account's version and how many history events it has."""
    account = (await api.data(ACCOUNT_VERSION, {"id": account_id}))["account"]
    return account["version"], account["history"]["totalCount"]


async def names(
    api: Api,
    filter_: dict[str, Any] | None = None,
    order: dict[str, Any] | None = None,
    token: str | None = None,
) -> list[str]:
    data = await api.data(ACCOUNTS, {"filter": filter_, "orderBy": order}, token)
    listed = [node["name"] for node in data["accounts"]["nodes"]]
    assert data["accounts"]["totalCount"] == len(listed)
    return listed


async def notifications(api: Api, token: str | None = None, **arguments: Any) -> dict[str, Any]:
    return (await api.data(NOTIFICATIONS, arguments, token))["viewer"]["notifications"]


async def new_contact(api: Api, first: str, last: str, *account_ids: str) -> str:
    links = [{"accountId": account_id} for account_id in account_ids]
    payload = await api.ok(
        "createContact", {"firstName": first, "lastName": last, "links": links}, "contact { id }"
    )
    return payload["contact"]["id"]


async def assign(api: Api, account_id: str, user_id: str, token: str | None = None) -> None:
    await api.ok("assignTeamMember", {"accountId": account_id, "userId": user_id}, token=token)


async def unassign(api: Api, account_id: str, user_id: str) -> None:
    await api.ok("unassignTeamMember", {"accountId": account_id, "userId": user_id})


async def define(
    api: Api,
    key: str,
    label: str,
    type_: str,
    options: list[str] | None = None,
    *,
    entity: str = "ACCOUNT",
) -> None:
    input_ = {"entity": entity, "key": key, "label": label, "type": type_}
    if options is not None:
        input_["options"] = options
    await api.ok("defineCustomField", input_)


async def account_fields(api: Api, account_id: str) -> dict[str, Any]:
    return (await api.data(ACCOUNT_FIELDS, {"id": account_id}))["account"]


async def values_of(api: Api, account_id: str) -> dict[str, str | None]:
    fields = (await account_fields(api, account_id))["customFields"]
    return {field["key"]: field["value"] for field in fields}


# --- deactivateAccount / reactivateAccount -------------------------------------------------


async def test_deactivating_an_account_keeps_its_data_and_records_the_status_change(
    api: Api,
) -> None:
    account = await api.create_account("Acme", tags=["vip", "audit"])
    await new_contact(api, "Eva", "Berg", account["id"])
    await api.enable_ownership()
    owner = await api.add_owner(name="Nina Extern")
    await api.ok("assignClientOwner", {"accountId": account["id"], "ownerId": owner})
    staff_id, _ = await api.staff(name="Sara Staff")
    await assign(api, account["id"], staff_id)
    before = await read_account(api, account["id"])

    payload = await api.ok(
        "deactivateAccount", {"accountId": account["id"]}, "account { id status version }"
    )

    assert payload["account"] == {
        "id": account["id"],
        "status": "INACTIVE",
        "version": before["version"] + 1,
    }
    after = await read_account(api, account["id"])
    assert after["status"] == "INACTIVE"
    assert after["tags"] == ["audit", "vip"]
    assert after["owner"] == {"name": "Nina Extern"}
    assert after["teamMembers"] == [{"id": staff_id, "name": "Sara Staff"}]
    assert after["contacts"] == [{"contact": {"fullName": "Eva Berg"}}]
    assert after["history"]["totalCount"] == before["history"]["totalCount"] + 1
    assert after["history"]["nodes"][0] == {
        "action": "account.deactivated",
        "actor": {"name": "Firm Owner"},
        "changes": [{"field": "status", "from": "ACTIVE", "to": "INACTIVE"}],
    }
    assert after["history"]["nodes"][1:] == before["history"]["nodes"]


async def test_an_inactive_account_leaves_the_default_list_but_not_the_status_filters(
    api: Api,
) -> None:
    await api.create_account("Acme")
    beta = await api.create_account("Beta")

    await api.ok("deactivateAccount", {"accountId": beta["id"]})

    assert await names(api) == ["Acme"]
    assert await names(api, {"status": ["INACTIVE"]}) == ["Beta"]
    assert await names(api, {"status": ["ACTIVE"]}) == ["Acme"]
    assert await names(api, {"status": []}) == ["Acme", "Beta"]
    assert await names(api, {"status": ["ACTIVE", "INACTIVE"]}) == ["Acme", "Beta"]
    read = await read_account(api, beta["id"])
    assert (read["name"], read["status"]) == ("Beta", "INACTIVE")


async def test_reactivating_an_account_returns_it_to_the_default_list(api: Api) -> None:
    await api.create_account("Acme")
    beta = await api.create_account("Beta")
    await api.ok("deactivateAccount", {"accountId": beta["id"]})

    payload = await api.ok(
        "reactivateAccount", {"accountId": beta["id"]}, "account { status version }"
    )

    assert payload["account"] == {"status": "ACTIVE", "version": 3}
    assert await names(api) == ["Acme", "Beta"]
    assert await names(api, {"status": ["INACTIVE"]}) == []
    history = (await read_account(api, beta["id"]))["history"]["nodes"]
    assert [event["action"] for event in history] == [
        "account.reactivated",
        "account.deactivated",
        "account.created",
    ]
    assert history[0]["changes"] == [{"field": "status", "from": "INACTIVE", "to": "ACTIVE"}]


async def test_deactivating_an_inactive_account_again_changes_nothing(api: Api) -> None:
    account = await api.create_account("Acme")
    await api.ok("deactivateAccount", {"accountId": account["id"]})
    before = await version_of(api, account["id"])

    payload = await api.ok(
        "deactivateAccount", {"accountId": account["id"]}, "account { status version }"
    )

    assert payload["account"] == {"status": "INACTIVE", "version": before[0]}
    assert await version_of(api, account["id"]) == before


async def test_reactivating_an_active_account_changes_nothing(api: Api) -> None:
    account = await api.create_account("Acme")

    payload = await api.ok(
        "reactivateAccount", {"accountId": account["id"]}, "account { status version }"
    )

    assert payload["account"] == {"status": "ACTIVE", "version": 1}
    assert await version_of(api, account["id"]) == (1, 1)


async def test_an_inactive_account_refuses_new_team_members(api: Api) -> None:
    account = await api.create_account("Acme")
    staff_id, staff_token = await api.staff("VIEW_ALL_ACCOUNTS")
    await api.ok("deactivateAccount", {"accountId": account["id"]})
    before = await version_of(api, account["id"])

    payload = await api.mutate(
        "assignTeamMember", {"accountId": account["id"], "userId": staff_id}, "account { id }"
    )

    assert payload["account"] is None
    assert errors_of(payload) == [(["accountId"], "ACCOUNT_INACTIVE")]
    assert (await read_account(api, account["id"]))["teamMembers"] == []
    assert await version_of(api, account["id"]) == before
    assert (await notifications(api, staff_token))["totalCount"] == 0


async def test_an_inactive_account_keeps_letting_team_members_go(api: Api) -> None:
    account = await api.create_account("Acme")
    staff_id, _ = await api.staff()
    await assign(api, account["id"], staff_id)
    await api.ok("deactivateAccount", {"accountId": account["id"]})

    await unassign(api, account["id"], staff_id)

    assert (await read_account(api, account["id"]))["teamMembers"] == []


async def test_an_inactive_account_refuses_new_contact_links(api: Api) -> None:
    account = await api.create_account("Acme")
    contact = await new_contact(api, "Eva", "Berg")
    await api.ok("deactivateAccount", {"accountId": account["id"]})
    before = await version_of(api, account["id"])

    payload = await api.mutate(
        "linkContact",
        {"accountId": account["id"], "contactId": contact},
        "accountContact { linkedAt }",
    )

    assert payload["accountContact"] is None
    assert errors_of(payload) == [(["accountId"], "ACCOUNT_INACTIVE")]
    assert (await read_account(api, account["id"]))["contacts"] == []
    assert await version_of(api, account["id"]) == before


async def test_a_new_contact_cannot_be_linked_to_an_inactive_account(api: Api) -> None:
    account = await api.create_account("Acme")
    await api.ok("deactivateAccount", {"accountId": account["id"]})

    payload = await api.mutate(
        "createContact",
        {"firstName": "Eva", "lastName": "Berg", "links": [{"accountId": account["id"]}]},
        "contact { id }",
    )

    assert payload["contact"] is None
    assert errors_of(payload) == [(["links", "0", "accountId"], "ACCOUNT_INACTIVE")]
    assert (await api.data("{ contacts { totalCount } }"))["contacts"]["totalCount"] == 0


async def test_a_reactivated_account_takes_team_members_again(api: Api) -> None:
    account = await api.create_account("Acme")
    staff_id, _ = await api.staff(name="Sara Staff")
    await api.ok("deactivateAccount", {"accountId": account["id"]})
    await api.ok("reactivateAccount", {"accountId": account["id"]})

    await assign(api, account["id"], staff_id)

    members = (await read_account(api, account["id"]))["teamMembers"]
    assert members == [{"id": staff_id, "name": "Sara Staff"}]


@pytest.mark.parametrize("mutation", ["deactivateAccount", "reactivateAccount"])
async def test_staff_who_may_only_view_is_forbidden_to_change_the_status(
    api: Api, mutation: str
) -> None:
    account = await api.create_account("Acme")
    if mutation == "reactivateAccount":
        await api.ok("deactivateAccount", {"accountId": account["id"]})
    before = await read_account(api, account["id"])
    _, token = await api.staff("VIEW_ALL_ACCOUNTS", "ASSIGN_ACCOUNTS", "DELETE_ACCOUNTS")

    await forbidden(api, mutation, {"accountId": account["id"]}, token)

    assert await read_account(api, account["id"]) == before


async def test_staff_who_may_edit_all_accounts_may_deactivate_one(api: Api) -> None:
    account = await api.create_account("Acme")
    _, token = await api.staff("VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS", name="Sven Staff")

    payload = await api.ok(
        "deactivateAccount", {"accountId": account["id"]}, "account { status }", token
    )

    assert payload["account"] == {"status": "INACTIVE"}
    history = (await read_account(api, account["id"]))["history"]["nodes"]
    assert (history[0]["action"], history[0]["actor"]) == (
        "account.deactivated",
        {"name": "Sven Staff"},
    )


@pytest.mark.parametrize("mutation", ["deactivateAccount", "reactivateAccount"])
async def test_changing_the_status_of_another_firms_account_is_not_found(
    api: Api, other_firm: Api, mutation: str
) -> None:
    foreign = await other_firm.create_account("Foreign AB")

    payload = await api.mutate(mutation, {"accountId": foreign["id"]}, "account { id }")

    assert payload["account"] is None
    assert errors_of(payload) == [(["accountId"], "NOT_FOUND")]
    assert await version_of(other_firm, foreign["id"]) == (1, 1)
    assert (await read_account(other_firm, foreign["id"]))["status"] == "ACTIVE"


async def test_an_inactive_account_still_counts_for_its_owner(api: Api) -> None:
    await api.enable_ownership()
    owner = await api.add_owner(name="Nina Extern")
    account = await api.create_account("Acme", ownerId=owner)
    await api.create_account("Beta", ownerId=owner)

    await api.ok("deactivateAccount", {"accountId": account["id"]})

    assert (await api.data(OWNERS))["clientOwners"]["nodes"] == [
        {"name": "Nina Extern", "accountCount": 2, "accounts": {"totalCount": 2}}
    ]


# --- deleteAccount -------------------------------------------------------------------------


async def test_deleting_an_account_removes_it_from_reads_and_lists(api: Api) -> None:
    await api.create_account("Acme")
    beta = await api.create_account("Beta")

    payload = await api.ok("deleteAccount", {"accountId": beta["id"]}, "deletedAccountId")

    assert payload["deletedAccountId"] == beta["id"]
    assert await read_account(api, beta["id"]) is None
    assert (await api.data(NODE, {"id": beta["id"]}))["node"] is None
    assert await names(api) == ["Acme"]
    assert await names(api, {"status": []}) == ["Acme"]


async def test_deleting_an_inactive_account_removes_it_from_every_status(api: Api) -> None:
    account = await api.create_account("Acme")
    await api.ok("deactivateAccount", {"accountId": account["id"]})

    await api.ok("deleteAccount", {"accountId": account["id"]})

    assert await names(api, {"status": []}) == []
    assert await read_account(api, account["id"]) is None


async def test_deleting_an_owned_account_lowers_its_owners_count(api: Api) -> None:
    await api.enable_ownership()
    owner = await api.add_owner(name="Nina Extern")
    acme = await api.create_account("Acme", ownerId=owner)
    await api.create_account("Beta", ownerId=owner)

    await api.ok("deleteAccount", {"accountId": acme["id"]})

    assert (await api.data(OWNERS))["clientOwners"]["nodes"] == [
        {"name": "Nina Extern", "accountCount": 1, "accounts": {"totalCount": 1}}
    ]


async def test_deleting_an_account_keeps_its_contacts_but_not_their_links(api: Api) -> None:
    acme = await api.create_account("Acme")
    beta = await api.create_account("Beta")
    contact = await new_contact(api, "Eva", "Berg", acme["id"], beta["id"])
    assert (await api.data(RELATED, {"id": beta["id"]}))["account"]["relatedAccounts"] == [
        {"name": "Acme"}
    ]

    await api.ok("deleteAccount", {"accountId": acme["id"]})

    links = (await api.data(CONTACT_LINKS, {"id": contact}))["contact"]["accounts"]
    assert links == [{"account": {"name": "Beta"}}]
    assert (await api.data(RELATED, {"id": beta["id"]}))["account"]["relatedAccounts"] == []


async def test_deleting_an_account_twice_is_not_found_the_second_time(api: Api) -> None:
    account = await api.create_account("Acme")
    await api.ok("deleteAccount", {"accountId": account["id"]})

    payload = await api.mutate("deleteAccount", {"accountId": account["id"]}, "deletedAccountId")

    assert payload["deletedAccountId"] is None
    assert errors_of(payload) == [(["accountId"], "NOT_FOUND")]


async def test_staff_without_delete_accounts_is_forbidden_to_delete(api: Api) -> None:
    account = await api.create_account("Acme")
    permissions = [p for p in EVERY_PERMISSION if p != "DELETE_ACCOUNTS"]
    _, token = await api.staff(*permissions)
    before = await read_account(api, account["id"])

    await forbidden(api, "deleteAccount", {"accountId": account["id"]}, token)

    assert await read_account(api, account["id"]) == before


async def test_staff_with_delete_accounts_may_delete(api: Api) -> None:
    account = await api.create_account("Acme")
    _, token = await api.staff("VIEW_ALL_ACCOUNTS", "DELETE_ACCOUNTS")

    payload = await api.ok("deleteAccount", {"accountId": account["id"]}, "deletedAccountId", token)

    assert payload["deletedAccountId"] == account["id"]
    assert await read_account(api, account["id"]) is None


async def test_staff_who_cannot_see_an_account_cannot_find_it_to_delete(api: Api) -> None:
    account = await api.create_account("Acme")
    _, token = await api.staff("VIEW_ASSIGNED_ACCOUNTS", "DELETE_ACCOUNTS")

    payload = await api.mutate(
        "deleteAccount", {"accountId": account["id"]}, "deletedAccountId", token
    )

    assert errors_of(payload) == [(["accountId"], "NOT_FOUND")]
    assert (await read_account(api, account["id"]))["name"] == "Acme"


async def test_deleting_another_firms_account_is_not_found(api: Api, other_firm: Api) -> None:
    foreign = await other_firm.create_account("Foreign AB")

    payload = await api.mutate("deleteAccount", {"accountId": foreign["id"]}, "deletedAccountId")

    assert payload["deletedAccountId"] is None
    assert errors_of(payload) == [(["accountId"], "NOT_FOUND")]
    assert (await read_account(other_firm, foreign["id"]))["name"] == "Foreign AB"


async def test_a_notification_outlives_its_deleted_account_without_the_account(
    api: Api,
) -> None:
    account = await api.create_account("Acme")
    staff_id, token = await api.staff("VIEW_ASSIGNED_ACCOUNTS")
    await assign(api, account["id"], staff_id)

    await api.ok("deleteAccount", {"accountId": account["id"]})

    found = await notifications(api, token)
    assert found["totalCount"] == 1
    assert (found["nodes"][0]["kind"], found["nodes"][0]["account"]) == ("account.assigned", None)


# --- assignTeamMember / unassignTeamMember -------------------------------------------------


async def test_assigning_a_team_member_adds_them_and_records_it(api: Api) -> None:
    account = await api.create_account("Acme")
    staff_id, _ = await api.staff(name="Sara Staff")

    payload = await api.ok(
        "assignTeamMember",
        {"accountId": account["id"], "userId": staff_id},
        "account { version teamMembers { id name } }",
    )

    assert payload["account"] == {
        "version": 2,
        "teamMembers": [{"id": staff_id, "name": "Sara Staff"}],
    }
    history = (await read_account(api, account["id"]))["history"]["nodes"]
    assert history[0] == {
        "action": "account.team_member_added",
        "actor": {"name": "Firm Owner"},
        "changes": [{"field": "teamMember", "from": None, "to": "Sara Staff"}],
    }


async def test_the_assigned_user_is_notified_and_the_assigner_is_not(api: Api) -> None:
    account = await api.create_account("Acme Industries")
    staff_id, token = await api.staff("VIEW_ASSIGNED_ACCOUNTS")

    await assign(api, account["id"], staff_id)

    found = await notifications(api, token)
    assert found["totalCount"] == 1
    (notification,) = found["nodes"]
    assert notification["kind"] == "account.assigned"
    assert "Acme Industries" in notification["message"]
    assert notification["account"] == {"name": "Acme Industries"}
    assert notification["readAt"] is None
    assert (await notifications(api))["totalCount"] == 0


async def test_assigning_the_same_user_twice_adds_no_member_and_no_notification(
    api: Api,
) -> None:
    account = await api.create_account("Acme")
    staff_id, token = await api.staff(name="Sara Staff")
    await assign(api, account["id"], staff_id)
    before = await version_of(api, account["id"])

    payload = await api.ok(
        "assignTeamMember",
        {"accountId": account["id"], "userId": staff_id},
        "account { teamMembers { name } }",
    )

    assert payload["account"] == {"teamMembers": [{"name": "Sara Staff"}]}
    assert await version_of(api, account["id"]) == before
    assert (await notifications(api, token))["totalCount"] == 1


async def test_team_members_are_listed_by_name(api: Api) -> None:
    account = await api.create_account("Acme")
    for name in ("Cecilia", "anders", "Bodil"):
        user_id, _ = await api.staff(name=name)
        await assign(api, account["id"], user_id)

    members = (await read_account(api, account["id"]))["teamMembers"]

    assert [member["name"] for member in members] == ["anders", "Bodil", "Cecilia"]


async def test_unassigning_a_team_member_removes_them_and_notifies_them(api: Api) -> None:
    account = await api.create_account("Acme Industries")
    staff_id, token = await api.staff("VIEW_ALL_ACCOUNTS", name="Sara Staff")
    await assign(api, account["id"], staff_id)

    payload = await api.ok(
        "unassignTeamMember",
        {"accountId": account["id"], "userId": staff_id},
        "account { version teamMembers { id } }",
    )

    assert payload["account"] == {"version": 3, "teamMembers": []}
    history = (await read_account(api, account["id"]))["history"]["nodes"]
    assert history[0] == {
        "action": "account.team_member_removed",
        "actor": {"name": "Firm Owner"},
        "changes": [{"field": "teamMember", "from": "Sara Staff", "to": None}],
    }
    found = (await notifications(api, token))["nodes"]
    assert [n["kind"] for n in found] == ["account.unassigned", "account.assigned"]
    assert "Acme Industries" in found[0]["message"]
    assert found[0]["account"] == {"name": "Acme Industries"}
    assert (await notifications(api))["totalCount"] == 0


async def test_an_unassigned_user_no_longer_sees_the_account_in_their_notifications(
    api: Api,
) -> None:
    account = await api.create_account("Acme Industries")
    staff_id, token = await api.staff("VIEW_ASSIGNED_ACCOUNTS")
    await assign(api, account["id"], staff_id)

    await unassign(api, account["id"], staff_id)

    found = (await notifications(api, token))["nodes"]
    assert [(n["kind"], n["account"]) for n in found] == [
        ("account.unassigned", None),
        ("account.assigned", None),
    ]
    assert [n["message"] for n in found] == [
        "You are no longer assigned to an account you cannot see.",
        "You were assigned to an account you cannot see.",
    ]


async def test_unassigning_a_user_who_is_not_on_the_team_is_not_linked(api: Api) -> None:
    account = await api.create_account("Acme")
    staff_id, token = await api.staff()

    payload = await api.mutate(
        "unassignTeamMember", {"accountId": account["id"], "userId": staff_id}, "account { id }"
    )

    assert payload["account"] is None
    assert errors_of(payload) == [(["userId"], "NOT_LINKED")]
    assert await version_of(api, account["id"]) == (1, 1)
    assert (await notifications(api, token))["totalCount"] == 0


async def test_an_inactive_user_cannot_be_assigned(api: Api) -> None:
    account = await api.create_account("Acme")
    staff_id, _ = await api.staff()
    await api.ok("updateUser", {"userId": staff_id, "isActive": False})

    payload = await api.mutate(
        "assignTeamMember", {"accountId": account["id"], "userId": staff_id}, "account { id }"
    )

    assert payload["account"] is None
    assert errors_of(payload) == [(["userId"], "USER_INACTIVE")]
    assert (await read_account(api, account["id"]))["teamMembers"] == []
    assert await version_of(api, account["id"]) == (1, 1)


@pytest.mark.parametrize("mutation", ["assignTeamMember", "unassignTeamMember"])
async def test_staff_without_assign_accounts_is_forbidden_to_change_a_team(
    api: Api, mutation: str
) -> None:
    account = await api.create_account("Acme")
    member_id, member_token = await api.staff(name="Sara Staff")
    if mutation == "unassignTeamMember":
        await assign(api, account["id"], member_id)
    before = await read_account(api, account["id"])
    notified = await notifications(api, member_token)
    permissions = [p for p in EVERY_PERMISSION if p != "ASSIGN_ACCOUNTS"]
    _, token = await api.staff(*permissions)

    await forbidden(api, mutation, {"accountId": account["id"], "userId": member_id}, token)

    assert await read_account(api, account["id"]) == before
    assert await notifications(api, member_token) == notified


async def test_staff_with_assign_accounts_may_assign_and_is_not_notified(api: Api) -> None:
    account = await api.create_account("Acme")
    member_id, member_token = await api.staff(name="Sara Staff")
    _, token = await api.staff("VIEW_ALL_ACCOUNTS", "ASSIGN_ACCOUNTS", name="Sven Staff")

    await assign(api, account["id"], member_id, token)

    history = (await read_account(api, account["id"]))["history"]["nodes"]
    assert history[0]["actor"] == {"name": "Sven Staff"}
    assert (await notifications(api, member_token))["totalCount"] == 1
    assert (await notifications(api, token))["totalCount"] == 0


async def test_team_membership_lets_view_assigned_staff_see_the_account_until_unassigned(
    api: Api,
) -> None:
    acme = await api.create_account("Acme")
    await api.create_account("Beta")
    staff_id, token = await api.staff("VIEW_ASSIGNED_ACCOUNTS")
    assert await names(api, token=token) == []

    await assign(api, acme["id"], staff_id)

    assert await names(api, {"assignedToMe": True}, token=token) == ["Acme"]
    assert await names(api, token=token) == ["Acme"]
    assert (await read_account(api, acme["id"], token))["name"] == "Acme"

    await unassign(api, acme["id"], staff_id)

    assert await names(api, {"assignedToMe": True}, token=token) == []
    assert await read_account(api, acme["id"], token) is None


async def test_team_membership_lets_edit_assigned_staff_set_custom_values(api: Api) -> None:
    account = await api.create_account("Acme")
    await define(api, "segment", "Segment", "TEXT")
    staff_id, token = await api.staff("VIEW_ASSIGNED_ACCOUNTS", "EDIT_ASSIGNED_ACCOUNTS")
    await assign(api, account["id"], staff_id)

    await api.ok(
        "setCustomFieldValues",
        {"accountId": account["id"], "values": [{"key": "segment", "value": "Retail"}]},
        token=token,
    )

    assert await values_of(api, account["id"]) == {"segment": "Retail"}


async def test_staff_who_cannot_see_an_account_cannot_find_it_to_assign(api: Api) -> None:
    account = await api.create_account("Acme")
    member_id, member_token = await api.staff()
    _, token = await api.staff("VIEW_ASSIGNED_ACCOUNTS", "ASSIGN_ACCOUNTS")

    payload = await api.mutate(
        "assignTeamMember",
        {"accountId": account["id"], "userId": member_id},
        "account { id }",
        token,
    )

    assert errors_of(payload) == [(["accountId"], "NOT_FOUND")]
    assert (await read_account(api, account["id"]))["teamMembers"] == []
    assert (await notifications(api, member_token))["totalCount"] == 0


async def test_assigning_to_another_firms_account_is_not_found(api: Api, other_firm: Api) -> None:
    foreign = await other_firm.create_account("Foreign AB")
    staff_id, token = await api.staff()

    payload = await api.mutate(
        "assignTeamMember", {"accountId": foreign["id"], "userId": staff_id}, "account { id }"
    )

    assert payload["account"] is None
    assert errors_of(payload) == [(["accountId"], "NOT_FOUND")]
    assert (await read_account(other_firm, foreign["id"]))["teamMembers"] == []
    assert (await notifications(api, token))["totalCount"] == 0


async def test_assigning_another_firms_user_is_not_found(api: Api, other_firm: Api) -> None:
    account = await api.create_account("Acme")
    foreign_id, foreign_token = await other_firm.staff()

    payload = await api.mutate(
        "assignTeamMember", {"accountId": account["id"], "userId": foreign_id}, "account { id }"
    )

    assert payload["account"] is None
    assert errors_of(payload) == [(["userId"], "NOT_FOUND")]
    assert (await read_account(api, account["id"]))["teamMembers"] == []
    assert (await notifications(other_firm, foreign_token))["totalCount"] == 0


# --- viewer.notifications / markNotificationsRead ------------------------------------------


async def test_notifications_come_newest_first_and_page_forward(api: Api) -> None:
    staff_id, token = await api.staff("VIEW_ASSIGNED_ACCOUNTS")
    for name in ("Acme", "Beta", "Gamma"):
        account = await api.create_account(name)
        await assign(api, account["id"], staff_id)

    first = await notifications(api, token, first=2)
    rest = await notifications(api, token, first=2, after=first["pageInfo"]["endCursor"])

    assert first["totalCount"] == 3
    assert [n["account"]["name"] for n in first["nodes"]] == ["Gamma", "Beta"]
    assert first["pageInfo"]["hasNextPage"] is True
    assert [n["account"]["name"] for n in rest["nodes"]] == ["Acme"]
    assert rest["pageInfo"]["hasNextPage"] is False


async def test_marked_notifications_get_a_read_time_and_leave_the_unread_list(api: Api) -> None:
    staff_id, token = await api.staff("VIEW_ASSIGNED_ACCOUNTS")
    for name in ("Acme", "Beta"):
        account = await api.create_account(name)
        await assign(api, account["id"], staff_id)
    beta, acme = (await notifications(api, token))["nodes"]

    payload = await api.ok(
        "markNotificationsRead",
        {"ids": [acme["id"]]},
        "notifications { id readAt }",
        token,
    )

    (marked,) = payload["notifications"]
    assert marked["id"] == acme["id"]
    assert marked["readAt"] is not None
    unread = await notifications(api, token, unreadOnly=True)
    assert unread["totalCount"] == 1
    assert [n["id"] for n in unread["nodes"]] == [beta["id"]]
    every = (await notifications(api, token))["nodes"]
    assert [(n["id"], n["readAt"]) for n in every] == [
        (beta["id"], None),
        (acme["id"], marked["readAt"]),
    ]


async def test_marking_a_read_notification_again_keeps_its_read_time(api: Api) -> None:
    account = await api.create_account("Acme")
    staff_id, token = await api.staff()
    await assign(api, account["id"], staff_id)
    (notification,) = (await notifications(api, token))["nodes"]
    first = await api.ok(
        "markNotificationsRead", {"ids": [notification["id"]]}, "notifications { readAt }", token
    )

    again = await api.ok(
        "markNotificationsRead", {"ids": [notification["id"]]}, "notifications { readAt }", token
    )

    assert again["notifications"] == first["notifications"]


async def test_marking_another_users_notification_read_is_not_found(api: Api) -> None:
    account = await api.create_account("Acme")
    sara_id, sara_token = await api.staff()
    await assign(api, account["id"], sara_id)
    (saras,) = (await notifications(api, sara_token))["nodes"]

    payload = await api.mutate(
        "markNotificationsRead", {"ids": [saras["id"]]}, "notifications { id }"
    )

    assert payload["notifications"] is None
    assert errors_of(payload) == [(["ids", "0"], "NOT_FOUND")]
    assert (await notifications(api, sara_token))["nodes"][0]["readAt"] is None


async def test_a_call_with_another_users_notification_marks_none_of_ones_own(api: Api) -> None:
    account = await api.create_account("Acme")
    sara_id, sara_token = await api.staff()
    bo_id, bo_token = await api.staff()
    await assign(api, account["id"], sara_id)
    await assign(api, account["id"], bo_id)
    (saras,) = (await notifications(api, sara_token))["nodes"]
    (bos,) = (await notifications(api, bo_token))["nodes"]

    payload = await api.mutate(
        "markNotificationsRead",
        {"ids": [saras["id"], bos["id"]]},
        "notifications { id }",
        sara_token,
    )

    assert errors_of(payload) == [(["ids", "1"], "NOT_FOUND")]
    assert (await notifications(api, sara_token, unreadOnly=True))["totalCount"] == 1
    assert (await notifications(api, bo_token, unreadOnly=True))["totalCount"] == 1


async def test_marking_another_firms_notification_read_is_not_found(
    api: Api, other_firm: Api
) -> None:
    foreign = await other_firm.create_account("Foreign AB")
    foreign_id, foreign_token = await other_firm.staff()
    await assign(other_firm, foreign["id"], foreign_id)
    (theirs,) = (await notifications(other_firm, foreign_token))["nodes"]

    payload = await api.mutate(
        "markNotificationsRead", {"ids": [theirs["id"]]}, "notifications { id }"
    )

    assert errors_of(payload) == [(["ids", "0"], "NOT_FOUND")]
    assert (await notifications(other_firm, foreign_token))["nodes"][0]["readAt"] is None


async def test_marking_an_id_that_is_no_notification_read_is_not_found(api: Api) -> None:
    account = await api.create_account("Acme")

    payload = await api.mutate(
        "markNotificationsRead", {"ids": [account["id"]]}, "notifications { id }"
    )

    assert payload["notifications"] is None
    assert errors_of(payload) == [(["ids", "0"], "NOT_FOUND")]


async def test_another_users_notification_cannot_be_read_by_id(api: Api) -> None:
    account = await api.create_account("Acme")
    sara_id, sara_token = await api.staff()
    await assign(api, account["id"], sara_id)
    (saras,) = (await notifications(api, sara_token))["nodes"]

    assert (await api.data(NODE, {"id": saras["id"]}))["node"] is None
    assert (await api.data(NODE, {"id": saras["id"]}, sara_token))["node"] == {"id": saras["id"]}


# --- defineCustomField / customFieldDefinitions --------------------------------------------


async def test_an_admin_defines_a_select_field(api: Api) -> None:
    payload = await api.ok(
        "defineCustomField",
        {
            "entity": "ACCOUNT",
            "key": "segment",
            "label": "Segment",
            "type": "SELECT",
            "options": ["Small", "Medium", "Large"],
        },
        DEFINITION,
    )

    expected = {
        "entity": "ACCOUNT",
        "key": "segment",
        "label": "Segment",
        "type": "SELECT",
        "options": ["Small", "Medium", "Large"],
    }
    assert payload["definition"] == expected
    assert (await api.data(DEFINITIONS, {"entity": "ACCOUNT"}))["customFieldDefinitions"] == [
        expected
    ]


async def test_an_admin_who_is_not_the_owner_may_define_a_field(api: Api) -> None:
    _, token = await api.staff(role="ADMIN")

    payload = await api.ok(
        "defineCustomField",
        {"entity": "CONTACT", "key": "birthday", "label": "Birthday", "type": "DATE"},
        DEFINITION,
        token,
    )

    assert payload["definition"] == {
        "entity": "CONTACT",
        "key": "birthday",
        "label": "Birthday",
        "type": "DATE",
        "options": [],
    }


async def test_staff_is_forbidden_to_define_a_custom_field(api: Api) -> None:
    _, token = await api.staff(*EVERY_PERMISSION)
    input_ = {"entity": "ACCOUNT", "key": "segment", "label": "Segment", "type": "TEXT"}

    await forbidden(api, "defineCustomField", input_, token)

    assert (await api.data(DEFINITIONS, {"entity": "ACCOUNT"}))["customFieldDefinitions"] == []


async def test_a_field_without_a_label_is_refused(api: Api) -> None:
    payload = await api.mutate(
        "defineCustomField",
        {"entity": "ACCOUNT", "key": "segment", "label": "  ", "type": "TEXT"},
        DEFINITION,
    )

    assert payload["definition"] is None
    assert errors_of(payload) == [(["label"], "REQUIRED")]
    assert (await api.data(DEFINITIONS, {"entity": "ACCOUNT"}))["customFieldDefinitions"] == []


@pytest.mark.parametrize(
    "key", ["Bad Key", "Segment", "1st", "_segment", "vat-no", "", "a" * 51, "momsnr_å"]
)
async def test_a_key_outside_the_pattern_is_invalid(api: Api, key: str) -> None:
    payload = await api.mutate(
        "defineCustomField",
        {"entity": "ACCOUNT", "key": key, "label": "Label", "type": "TEXT"},
        DEFINITION,
    )

    assert payload["definition"] is None
    assert errors_of(payload) == [(["key"], "INVALID")]
    assert (await api.data(DEFINITIONS, {"entity": "ACCOUNT"}))["customFieldDefinitions"] == []


@pytest.mark.parametrize("key", ["a", "vat_no_2", "a" * 50])
async def test_a_key_inside_the_pattern_is_accepted(api: Api, key: str) -> None:
    payload = await api.ok(
        "defineCustomField",
        {"entity": "ACCOUNT", "key": key, "label": "Label", "type": "TEXT"},
        "definition { key }",
    )

    assert payload["definition"] == {"key": key}


async def test_a_key_defined_twice_for_the_same_entity_is_taken(api: Api) -> None:
    await define(api, "segment", "Segment", "TEXT")

    payload = await api.mutate(
        "defineCustomField",
        {"entity": "ACCOUNT", "key": "segment", "label": "Other", "type": "NUMBER"},
        DEFINITION,
    )

    assert payload["definition"] is None
    assert errors_of(payload) == [(["key"], "TAKEN")]
    definitions = (await api.data(DEFINITIONS, {"entity": "ACCOUNT"}))["customFieldDefinitions"]
    assert [(d["label"], d["type"]) for d in definitions] == [("Segment", "TEXT")]


async def test_concurrent_definitions_of_one_key_leave_one_field_and_call_the_rest_taken(
    api: Api,
) -> None:
    input_ = {"entity": "ACCOUNT", "key": "segment", "label": "Segment", "type": "TEXT"}
    document = mutation_document("defineCustomField", "definition { key }")

    bodies = await asyncio.gather(*(api.execute(document, {"input": input_}) for _ in range(6)))

    outcomes = sorted((outcome(body, "defineCustomField") for body in bodies), key=len)
    assert outcomes == [[]] + [[(["key"], "TAKEN")]] * 5
    definitions = (await api.data(DEFINITIONS, {"entity": "ACCOUNT"}))["customFieldDefinitions"]
    assert [d["key"] for d in definitions] == ["segment"]


async def test_the_same_key_may_serve_accounts_and_contacts(api: Api) -> None:
    await define(api, "note", "Account note", "TEXT")

    await define(api, "note", "Contact note", "TEXT", entity="CONTACT")

    accounts = (await api.data(DEFINITIONS, {"entity": "ACCOUNT"}))["customFieldDefinitions"]
    contacts = (await api.data(DEFINITIONS, {"entity": "CONTACT"}))["customFieldDefinitions"]
    assert [(d["entity"], d["key"], d["label"]) for d in accounts] == [
        ("ACCOUNT", "note", "Account note")
    ]
    assert [(d["entity"], d["key"], d["label"]) for d in contacts] == [
        ("CONTACT", "note", "Contact note")
    ]


async def test_a_select_field_without_options_is_required_to_have_some(api: Api) -> None:
    payload = await api.mutate(
        "defineCustomField",
        {"entity": "ACCOUNT", "key": "segment", "label": "Segment", "type": "SELECT"},
        DEFINITION,
    )

    assert payload["definition"] is None
    assert errors_of(payload) == [(["options"], "REQUIRED")]


async def test_a_select_option_listed_twice_is_invalid(api: Api) -> None:
    payload = await api.mutate(
        "defineCustomField",
        {
            "entity": "ACCOUNT",
            "key": "segment",
            "label": "Segment",
            "type": "SELECT",
            "options": ["Small", "Small", "Large"],
        },
        DEFINITION,
    )

    assert payload["definition"] is None
    assert errors_of(payload) == [(["options", "1"], "INVALID")]
    assert (await api.data(DEFINITIONS, {"entity": "ACCOUNT"}))["customFieldDefinitions"] == []


@pytest.mark.parametrize("type_", ["TEXT", "NUMBER", "DATE", "BOOLEAN"])
async def test_options_on_a_field_that_is_not_select_are_invalid(api: Api, type_: str) -> None:
    payload = await api.mutate(
        "defineCustomField",
        {"entity": "ACCOUNT", "key": "field", "label": "Field", "type": type_, "options": ["A"]},
        DEFINITION,
    )

    assert payload["definition"] is None
    assert errors_of(payload) == [(["options"], "INVALID")]


async def test_custom_field_definitions_list_one_entity_by_label(api: Api) -> None:
    await define(api, "vat", "VAT number", "TEXT")
    await define(api, "segment", "Segment", "SELECT", ["Small", "Large"])
    await define(api, "branch", "Branch", "TEXT")
    await define(api, "birthday", "Birthday", "DATE", entity="CONTACT")

    data = await api.data(DEFINITIONS, {"entity": "ACCOUNT"})

    assert data["customFieldDefinitions"] == [
        {"entity": "ACCOUNT", "key": "branch", "label": "Branch", "type": "TEXT", "options": []},
        {
            "entity": "ACCOUNT",
            "key": "segment",
            "label": "Segment",
            "type": "SELECT",
            "options": ["Small", "Large"],
        },
        {"entity": "ACCOUNT", "key": "vat", "label": "VAT number", "type": "TEXT", "options": []},
    ]


async def test_another_firms_custom_fields_are_neither_listed_nor_settable(
    api: Api, other_firm: Api
) -> None:
    await define(other_firm, "segment", "Segment", "TEXT")
    account = await api.create_account("Acme")

    payload = await api.mutate(
        "setCustomFieldValues",
        {"accountId": account["id"], "values": [{"key": "segment", "value": "Retail"}]},
        "account { id }",
    )

    assert (await api.data(DEFINITIONS, {"entity": "ACCOUNT"}))["customFieldDefinitions"] == []
    assert errors_of(payload) == [(["values", "0", "key"], "NOT_FOUND")]
    assert (await account_fields(api, account["id"]))["customFields"] == []


# --- setCustomFieldValues ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "raw", "stored"),
    [
        ("TEXT", "Retail, Nordics", "Retail, Nordics"),
        ("NUMBER", "12.50", "12.5"),
        ("NUMBER", "-3", "-3"),
        ("NUMBER", "1000", "1000"),
        ("NUMBER", "0.000", "0"),
        ("DATE", "2024-02-29", "2024-02-29"),
        ("BOOLEAN", "TRUE", "true"),
        ("BOOLEAN", "false", "false"),
        ("SELECT", "Medium", "Medium"),
    ],
)
async def test_a_value_that_fits_its_type_is_stored_normalised(
    api: Api, type_: str, raw: str, stored: str
) -> None:
    options = ["Small", "Medium", "Large"] if type_ == "SELECT" else None
    await define(api, "field", "Field", type_, options)
    account = await api.create_account("Acme")

    payload = await api.ok(
        "setCustomFieldValues",
        {"accountId": account["id"], "values": [{"key": "field", "value": raw}]},
        "account { customFields { key label type value } }",
    )

    expected = [{"key": "field", "label": "Field", "type": type_, "value": stored}]
    assert payload["account"]["customFields"] == expected
    assert (await account_fields(api, account["id"]))["customFields"] == expected


@pytest.mark.parametrize(
    ("type_", "raw"),
    [
        ("NUMBER", "abc"),
        ("NUMBER", "12,5"),
        ("NUMBER", "NaN"),
        ("DATE", "2023-02-29"),
        ("DATE", "29/02/2024"),
        ("BOOLEAN", "yes"),
        ("BOOLEAN", "1"),
        ("SELECT", "Huge"),
        ("SELECT", "medium"),
    ],
)
async def test_a_value_that_does_not_fit_its_type_is_invalid_and_not_stored(
    api: Api, type_: str, raw: str
) -> None:
    options = ["Small", "Medium", "Large"] if type_ == "SELECT" else None
    await define(api, "field", "Field", type_, options)
    account = await api.create_account("Acme")

    payload = await api.mutate(
        "setCustomFieldValues",
        {"accountId": account["id"], "values": [{"key": "field", "value": raw}]},
        "account { id }",
    )

    assert payload["account"] is None
    assert errors_of(payload) == [(["values", "0", "value"], "INVALID")]
    assert await values_of(api, account["id"]) == {"field": None}
    assert await version_of(api, account["id"]) == (1, 1)


async def test_a_number_too_large_to_hold_is_invalid_not_an_internal_error(api: Api) -> None:
    await define(api, "revenue", "Revenue", "NUMBER")
    account = await api.create_account("Acme")
    input_ = {"accountId": account["id"], "values": [{"key": "revenue", "value": "1e999999999"}]}

    body = await api.execute(
        mutation_document("setCustomFieldValues", "account { id }"), {"input": input_}
    )

    assert "errors" not in body
    assert body["data"] == {
        "setCustomFieldValues": {
            "account": None,
            "userErrors": [{"field": ["values", "0", "value"], "code": "INVALID"}],
        }
    }
    assert await values_of(api, account["id"]) == {"revenue": None}


async def test_an_unknown_key_is_not_found(api: Api) -> None:
    await define(api, "segment", "Segment", "TEXT")
    account = await api.create_account("Acme")

    payload = await api.mutate(
        "setCustomFieldValues",
        {
            "accountId": account["id"],
            "values": [{"key": "segment", "value": "Retail"}, {"key": "sector", "value": "x"}],
        },
        "account { id }",
    )

    assert payload["account"] is None
    assert errors_of(payload) == [(["values", "1", "key"], "NOT_FOUND")]
    assert await values_of(api, account["id"]) == {"segment": None}


async def test_one_invalid_value_stores_none_of_the_call(api: Api) -> None:
    await define(api, "segment", "Segment", "TEXT")
    await define(api, "revenue", "Revenue", "NUMBER")
    await define(api, "since", "Client since", "DATE")
    account = await api.create_account("Acme")

    payload = await api.mutate(
        "setCustomFieldValues",
        {
            "accountId": account["id"],
            "values": [
                {"key": "segment", "value": "Retail"},
                {"key": "revenue", "value": "abc"},
                {"key": "since", "value": "2020-01-31"},
            ],
        },
        "account { id }",
    )

    assert payload["account"] is None
    assert errors_of(payload) == [(["values", "1", "value"], "INVALID")]
    assert await values_of(api, account["id"]) == {
        "since": None,
        "revenue": None,
        "segment": None,
    }
    assert await version_of(api, account["id"]) == (1, 1)


async def test_every_invalid_value_of_a_call_is_reported(api: Api) -> None:
    await define(api, "revenue", "Revenue", "NUMBER")
    await define(api, "since", "Client since", "DATE")
    account = await api.create_account("Acme")

    payload = await api.mutate(
        "setCustomFieldValues",
        {
            "accountId": account["id"],
            "values": [
                {"key": "revenue", "value": "abc"},
                {"key": "nope", "value": "1"},
                {"key": "since", "value": "2023-02-29"},
            ],
        },
        "account { id }",
    )

    assert errors_of(payload) == [
        (["values", "0", "value"], "INVALID"),
        (["values", "1", "key"], "NOT_FOUND"),
        (["values", "2", "value"], "INVALID"),
    ]


async def test_a_null_value_clears_the_field(api: Api) -> None:
    await define(api, "segment", "Segment", "TEXT")
    account = await api.create_account("Acme")
    await api.ok(
        "setCustomFieldValues",
        {"accountId": account["id"], "values": [{"key": "segment", "value": "Retail"}]},
    )

    await api.ok(
        "setCustomFieldValues",
        {"accountId": account["id"], "values": [{"key": "segment", "value": None}]},
    )

    fields = await account_fields(api, account["id"])
    assert fields["customFields"] == [
        {"key": "segment", "label": "Segment", "type": "TEXT", "value": None}
    ]
    assert fields["version"] == 3
    assert fields["history"]["nodes"][0]["changes"] == [
        {"field": "customFields.segment", "from": "Retail", "to": None}
    ]


async def test_account_custom_fields_list_every_account_field_by_label(api: Api) -> None:
    await define(api, "vat", "VAT number", "TEXT")
    await define(api, "segment", "Segment", "SELECT", ["Small", "Large"])
    await define(api, "active_since", "Active since", "DATE")
    await define(api, "birthday", "Birthday", "DATE", entity="CONTACT")
    account = await api.create_account("Acme")
    await api.ok(
        "setCustomFieldValues",
        {"accountId": account["id"], "values": [{"key": "segment", "value": "Large"}]},
    )

    fields = (await account_fields(api, account["id"]))["customFields"]

    assert fields == [
        {"key": "active_since", "label": "Active since", "type": "DATE", "value": None},
        {"key": "segment", "label": "Segment", "type": "SELECT", "value": "Large"},
        {"key": "vat", "label": "VAT number", "type": "TEXT", "value": None},
    ]


async def test_values_belong_to_their_account_only(api: Api) -> None:
    await define(api, "segment", "Segment", "TEXT")
    acme = await api.create_account("Acme")
    beta = await api.create_account("Beta")

    await api.ok(
        "setCustomFieldValues",
        {"accountId": acme["id"], "values": [{"key": "segment", "value": "Retail"}]},
    )

    assert await values_of(api, acme["id"]) == {"segment": "Retail"}
    assert await values_of(api, beta["id"]) == {"segment": None}


async def test_each_change_of_values_lands_in_the_history(api: Api) -> None:
    await define(api, "segment", "Segment", "TEXT")
    await define(api, "revenue", "Revenue", "NUMBER")
    account = await api.create_account("Acme")
    await api.ok(
        "setCustomFieldValues",
        {"accountId": account["id"], "values": [{"key": "segment", "value": "Retail"}]},
    )

    payload = await api.ok(
        "setCustomFieldValues",
        {
            "accountId": account["id"],
            "values": [
                {"key": "segment", "value": "Wholesale"},
                {"key": "revenue", "value": "1500.00"},
            ],
        },
        "account { version }",
    )

    assert payload["account"] == {"version": 3}
    history = (await account_fields(api, account["id"]))["history"]["nodes"]
    assert history[0]["action"] == "account.custom_fields_changed"
    assert history[0]["actor"] == {"name": "Firm Owner"}
    assert sorted(history[0]["changes"], key=lambda change: change["field"]) == [
        {"field": "customFields.revenue", "from": None, "to": "1500"},
        {"field": "customFields.segment", "from": "Retail", "to": "Wholesale"},
    ]
    assert history[1] == {
        "action": "account.custom_fields_changed",
        "actor": {"name": "Firm Owner"},
        "changes": [{"field": "customFields.segment", "from": None, "to": "Retail"}],
    }


async def test_setting_the_value_a_field_already_has_records_nothing(api: Api) -> None:
    await define(api, "revenue", "Revenue", "NUMBER")
    account = await api.create_account("Acme")
    await api.ok(
        "setCustomFieldValues",
        {"accountId": account["id"], "values": [{"key": "revenue", "value": "12.5"}]},
    )
    before = await version_of(api, account["id"])

    await api.ok(
        "setCustomFieldValues",
        {"accountId": account["id"], "values": [{"key": "revenue", "value": "12.50"}]},
    )

    assert await version_of(api, account["id"]) == before


async def test_contact_custom_fields_are_set_on_the_contact(api: Api) -> None:
    await define(api, "birthday", "Birthday", "DATE", entity="CONTACT")
    await define(api, "newsletter", "Newsletter", "BOOLEAN", entity="CONTACT")
    await define(api, "segment", "Segment", "TEXT")
    contact = await new_contact(api, "Eva", "Berg")

    payload = await api.ok(
        "setCustomFieldValues",
        {"contactId": contact, "values": [{"key": "birthday", "value": "1980-05-17"}]},
        "contact { id customFields { key value } } account { id }",
    )

    assert payload["contact"] == {
        "id": contact,
        "customFields": [
            {"key": "birthday", "value": "1980-05-17"},
            {"key": "newsletter", "value": None},
        ],
    }
    assert payload["account"] is None
    read = (await api.data(CONTACT_FIELDS, {"id": contact}))["contact"]
    assert read["customFields"] == [
        {"key": "birthday", "label": "Birthday", "type": "DATE", "value": "1980-05-17"},
        {"key": "newsletter", "label": "Newsletter", "type": "BOOLEAN", "value": None},
    ]
    assert read["version"] == 2
    assert read["history"]["nodes"][0] == {
        "action": "contact.custom_fields_changed",
        "changes": [{"field": "customFields.birthday", "from": None, "to": "1980-05-17"}],
    }


async def test_an_account_field_cannot_be_set_on_a_contact(api: Api) -> None:
    await define(api, "segment", "Segment", "TEXT")
    contact = await new_contact(api, "Eva", "Berg")

    payload = await api.mutate(
        "setCustomFieldValues",
        {"contactId": contact, "values": [{"key": "segment", "value": "Retail"}]},
        "contact { id }",
    )

    assert payload["contact"] is None
    assert errors_of(payload) == [(["values", "0", "key"], "NOT_FOUND")]


@pytest.mark.parametrize("subjects", ["both", "neither"])
async def test_exactly_one_of_account_and_contact_is_required(api: Api, subjects: str) -> None:
    await define(api, "segment", "Segment", "TEXT")
    await define(api, "segment", "Segment", "TEXT", entity="CONTACT")
    account = await api.create_account("Acme")
    contact = await new_contact(api, "Eva", "Berg", account["id"])
    input_: dict[str, Any] = {"values": [{"key": "segment", "value": "Retail"}]}
    if subjects == "both":
        input_ |= {"accountId": account["id"], "contactId": contact}

    payload = await api.mutate("setCustomFieldValues", input_, "account { id } contact { id }")

    assert (payload["account"], payload["contact"]) == (None, None)
    assert errors_of(payload) == [(["accountId"], "REQUIRED")]
    assert await values_of(api, account["id"]) == {"segment": None}
    contact_fields = (await api.data(CONTACT_FIELDS, {"id": contact}))["contact"]
    assert [field["value"] for field in contact_fields["customFields"]] == [None]


async def test_staff_who_may_only_view_is_forbidden_to_set_values(api: Api) -> None:
    await define(api, "segment", "Segment", "TEXT")
    account = await api.create_account("Acme")
    _, token = await api.staff("VIEW_ALL_ACCOUNTS", "ASSIGN_ACCOUNTS")
    input_ = {"accountId": account["id"], "values": [{"key": "segment", "value": "Retail"}]}

    await forbidden(api, "setCustomFieldValues", input_, token)

    assert await values_of(api, account["id"]) == {"segment": None}
    assert await version_of(api, account["id"]) == (1, 1)


async def test_staff_who_may_edit_all_accounts_may_set_values(api: Api) -> None:
    await define(api, "segment", "Segment", "TEXT")
    account = await api.create_account("Acme")
    _, token = await api.staff("VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS", name="Sven Staff")

    await api.ok(
        "setCustomFieldValues",
        {"accountId": account["id"], "values": [{"key": "segment", "value": "Retail"}]},
        token=token,
    )

    fields = await account_fields(api, account["id"])
    assert fields["customFields"][0]["value"] == "Retail"
    assert fields["history"]["nodes"][0]["actor"] == {"name": "Sven Staff"}


async def test_setting_values_on_another_firms_account_is_not_found(
    api: Api, other_firm: Api
) -> None:
    await define(api, "segment", "Segment", "TEXT")
    await define(other_firm, "segment", "Segment", "TEXT")
    foreign = await other_firm.create_account("Foreign AB")

    payload = await api.mutate(
        "setCustomFieldValues",
        {"accountId": foreign["id"], "values": [{"key": "segment", "value": "Hijacked"}]},
        "account { id }",
    )

    assert payload["account"] is None
    assert errors_of(payload) == [(["accountId"], "NOT_FOUND")]
    assert await values_of(other_firm, foreign["id"]) == {"segment": None}


async def test_setting_values_on_another_firms_contact_is_not_found(
    api: Api, other_firm: Api
) -> None:
    await define(api, "birthday", "Birthday", "DATE", entity="CONTACT")
    await define(other_firm, "birthday", "Birthday", "DATE", entity="CONTACT")
    foreign = await new_contact(other_firm, "Olle", "Other")

    payload = await api.mutate(
        "setCustomFieldValues",
        {"contactId": foreign, "values": [{"key": "birthday", "value": "1980-05-17"}]},
        "contact { id }",
    )

    assert payload["contact"] is None
    assert errors_of(payload) == [(["contactId"], "NOT_FOUND")]
    read = (await other_firm.data(CONTACT_FIELDS, {"id": foreign}))["contact"]
    assert [field["value"] for field in read["customFields"]] == [None]


# --- accounts filters ----------------------------------------------------------------------


async def test_accounts_filter_by_type(api: Api) -> None:
    await api.create_account("Acme", type="COMPANY")
    await api.create_account("Eva Berg", type="INDIVIDUAL")
    await api.create_account("Family Lund", type="INDIVIDUAL")
    await api.create_account("Foundation", type="OTHER")

    assert await names(api, {"types": ["INDIVIDUAL"]}) == ["Eva Berg", "Family Lund"]
    assert await names(api, {"types": ["COMPANY", "OTHER"]}) == ["Acme", "Foundation"]


async def test_accounts_filter_by_tags_needs_every_tag(api: Api) -> None:
    await api.create_account("Acme", tags=["vip", "audit"])
    await api.create_account("Beta", tags=["vip"])
    await api.create_account("Gamma", tags=["audit"])

    assert await names(api, {"tags": ["vip"]}) == ["Acme", "Beta"]
    assert await names(api, {"tags": ["vip", "audit"]}) == ["Acme"]
    assert await names(api, {"tags": ["vip", "payroll"]}) == []


async def test_accounts_filter_assigned_to_me_lists_the_callers_team_accounts(api: Api) -> None:
    acme = await api.create_account("Acme")
    await api.create_account("Beta")
    gamma = await api.create_account("Gamma")
    me = (await api.data("{ viewer { user { id } } }"))["viewer"]["user"]["id"]
    other_id, _ = await api.staff()
    await assign(api, acme["id"], me)
    await assign(api, gamma["id"], other_id)

    assert await names(api, {"assignedToMe": True}) == ["Acme"]
    assert await names(api, {"assignedToMe": False}) == ["Acme", "Beta", "Gamma"]


async def test_register_filters_combine_with_an_order(api: Api) -> None:
    for name in ("Carl Ek", "Anna Ek", "Dora Ek", "Bo Ek"):
        await api.create_account(name, type="INDIVIDUAL", tags=["family"])
    await api.create_account("Ek AB", type="COMPANY", tags=["family"])
    await api.create_account("Erik Ek", type="INDIVIDUAL", tags=["other"])
    filter_ = {"types": ["INDIVIDUAL"], "tags": ["family"]}

    by_name = await names(api, filter_, {"field": "NAME", "direction": "DESC"})
    by_creation = await names(api, filter_, {"field": "CREATED_AT", "direction": "ASC"})

    assert by_name == ["Dora Ek", "Carl Ek", "Bo Ek", "Anna Ek"]
    assert by_creation == ["Carl Ek", "Anna Ek", "Dora Ek", "Bo Ek"]


async def test_assigned_to_me_combines_with_an_order(api: Api) -> None:
    staff_id, token = await api.staff("VIEW_ALL_ACCOUNTS")
    for name in ("Beta", "Delta", "Alfa", "Gamma"):
        account = await api.create_account(name)
        if name != "Gamma":
            await assign(api, account["id"], staff_id)
    order = {"field": "UPDATED_AT", "direction": "DESC"}

    listed = await names(api, {"assignedToMe": True}, order, token)

    assert listed == ["Alfa", "Delta", "Beta"]


async def test_a_number_with_an_exponent_too_long_to_read_is_invalid(api: Api) -> None:
    account = await api.create_account("Acme")
    await api.ok(
        "defineCustomField", {"entity": "ACCOUNT", "key": "size", "label": "Size", "type": "NUMBER"}
    )

    payload = await api.mutate(
        "setCustomFieldValues",
        {
            "accountId": account["id"],
            "values": [{"key": "size", "value": "1e99999999999999999999"}],
        },
        "account { id }",
    )

    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (["values", "0", "value"], "INVALID")
    ]


DELETED_MEMBER_HISTORY = """
query($id: ID!) {
  account(id: $id) {
    version teamMembers { name }
    history(first: 1) { nodes { action changes { field from to } } }
  }
}
"""


async def test_deleting_a_user_records_their_leaving_each_team(api: Api) -> None:
    account = await api.create_account("Acme")
    user_id, _ = await api.staff(name="Tim Team")
    await api.ok("assignTeamMember", {"accountId": account["id"], "userId": user_id})
    before = (await api.data(DELETED_MEMBER_HISTORY, {"id": account["id"]}))["account"]

    await api.ok("deleteUser", {"userId": user_id})

    after = (await api.data(DELETED_MEMBER_HISTORY, {"id": account["id"]}))["account"]
    assert after["teamMembers"] == []
    assert after["version"] == before["version"] + 1
    assert after["history"]["nodes"] == [
        {
            "action": "account.team_member_removed",
            "changes": [{"field": "teamMember", "from": "Tim Team", "to": None}],
        }
    ]


async def test_unread_only_null_means_every_notification(api: Api) -> None:
    account = await api.create_account("Acme")
    user_id, token = await api.staff("VIEW_ALL_ACCOUNTS")
    await api.ok("assignTeamMember", {"accountId": account["id"], "userId": user_id})

    data = await api.data(
        "{ viewer { notifications(unreadOnly: null) { totalCount } } }", token=token
    )

    assert data["viewer"]["notifications"]["totalCount"] == 1


NOTIFICATION_TEXTS = "{ viewer { notifications { nodes { message account { name } } } } }"


async def test_a_notification_does_not_name_an_account_its_reader_cannot_see(api: Api) -> None:
    account = await api.create_account("Hidden Secret AB")
    user_id, token = await api.staff()
    await api.ok("assignTeamMember", {"accountId": account["id"], "userId": user_id})

    data = await api.data(NOTIFICATION_TEXTS, token=token)

    assert data["viewer"]["notifications"]["nodes"] == [
        {"message": "You were assigned to an account you cannot see.", "account": None}
    ]


async def test_a_notification_names_the_account_as_it_is_called_now(api: Api) -> None:
    account = await api.create_account("Old Name AB")
    user_id, token = await api.staff("VIEW_ASSIGNED_ACCOUNTS")
    await api.ok("assignTeamMember", {"accountId": account["id"], "userId": user_id})
    await api.ok("updateAccount", {"accountId": account["id"], "name": "New Name AB"})

    data = await api.data(NOTIFICATION_TEXTS, token=token)

    assert data["viewer"]["notifications"]["nodes"] == [
        {"message": "You were assigned to New Name AB.", "account": {"name": "New Name AB"}}
    ]
