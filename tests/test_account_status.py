"""Deactivating and reactivating an account through the API, on every backend: what an inactive
account keeps, what it refuses, and who may change its status."""

from __future__ import annotations

import pytest

from tests.register_support import (
    OWNERS,
    assign,
    forbidden,
    names,
    notifications,
    read_account,
    unassign,
    version_of,
)
from tests.support import Api, errors_of, new_contact


async def test_deactivating_an_account_keeps_its_data_and_records_the_status_change(
    api: Api,
) -> None:
    account = await api.create_account("Acme", tags=["vip", "audit"])
    await new_contact(api, account["id"], first="Eva", last="Berg")
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
    contact = await new_contact(api, first="Eva", last="Berg")
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
