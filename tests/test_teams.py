"""An account's team through the API, on every backend: assigning and unassigning members, the
notifications they get, and what membership lets assigned-only staff see and do."""

from __future__ import annotations

import pytest

from tests.register_support import (
    assign,
    define,
    forbidden,
    names,
    notifications,
    read_account,
    unassign,
    values_of,
    version_of,
)
from tests.support import EVERY_PERMISSION, Api, errors_of

DELETED_MEMBER_HISTORY = """
query($id: ID!) {
  account(id: $id) {
    version teamMembers { name }
    history(first: 1) { nodes { action changes { field from to } } }
  }
}
"""


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
