"""Deleting an account through the API, on every backend: what goes with it, what stays, and who
may delete."""

from __future__ import annotations

from tests.register_support import (
    NODE,
    OWNERS,
    assign,
    forbidden,
    names,
    notifications,
    read_account,
)
from tests.support import EVERY_PERMISSION, Api, errors_of, new_contact

CONTACT_LINKS = "query($id: ID!) { contact(id: $id) { accounts { account { name } } } }"
RELATED = "query($id: ID!) { account(id: $id) { relatedAccounts { name } } }"


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
    contact = await new_contact(api, acme["id"], beta["id"], first="Eva", last="Berg")
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
