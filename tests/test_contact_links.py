"""A contact's links to accounts through the API, on every backend: accounts created with
contacts, linking, each link's roles and description, unlinking, the order of an account's
contacts, and the related accounts a shared contact makes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.contact_support import (
    ACCOUNTS_FOUND,
    account_contacts,
    account_version,
    account_with_contact,
    assigned_staff,
    contacts_found,
    create_contact,
    read_contact,
)
from tests.support import Api, errors_of, top_level_codes

RELATED_ACCOUNTS = "query($id: ID!) { account(id: $id) { relatedAccounts { name } } }"
LINK_CONTACT = """
mutation($input: LinkContactInput!) {
  linkContact(input: $input) { accountContact { roles } userErrors { field code } }
}
"""
UPDATE_ACCOUNT_CONTACT = """
mutation($input: UpdateAccountContactInput!) {
  updateAccountContact(input: $input) { accountContact { roles } userErrors { field code } }
}
"""
LINK_SELECTION = "accountContact { account { name } contact { fullName } roles description }"


async def related_names(api: Api, account_id: str, token: str | None = None) -> list[str]:
    data = await api.data(RELATED_ACCOUNTS, {"id": account_id}, token)
    return [account["name"] for account in data["account"]["relatedAccounts"]]


async def test_an_account_is_created_with_an_existing_and_a_new_contact(api: Api) -> None:
    existing = await create_contact(api, "Mette", "Hansen", email="mette@example.dk")

    account = await api.create_account(
        "Acme A/S",
        contacts=[
            {"contactId": existing["id"], "roles": ["COMMERCIAL"], "description": "CEO"},
            {
                "newContact": {
                    "firstName": "Anders",
                    "lastName": "Andersen",
                    "email": "anders@example.dk",
                    "phone": "20 12 34 56",
                    "phoneCountry": "DK",
                },
                "roles": [],
            },
        ],
    )

    assert account["version"] == 1
    assert await account_contacts(api, account["id"]) == [
        {"contact": {"fullName": "Anders Andersen"}, "roles": [], "description": None},
        {"contact": {"fullName": "Mette Hansen"}, "roles": ["COMMERCIAL"], "description": "CEO"},
    ]
    assert await contacts_found(api, {"search": "anders@example.dk"}) == ["Anders Andersen"]


@pytest.mark.parametrize("give_both", [False, True], ids=["neither", "both"])
async def test_an_account_contact_is_either_an_existing_or_a_new_one(
    api: Api, give_both: bool
) -> None:
    existing = await create_contact(api, "Mette", "Hansen")
    contact: dict[str, Any] = {"roles": ["COMMERCIAL"]}
    if give_both:
        contact |= {
            "contactId": existing["id"],
            "newContact": {"firstName": "Anders", "lastName": "Berg"},
        }

    payload = await api.mutate(
        "createAccount", {"name": "Acme A/S", "contacts": [contact]}, "account { id }"
    )

    assert payload["account"] is None
    assert errors_of(payload) == [(["contacts", "0", "contactId"], "REQUIRED")]
    assert (await api.data(ACCOUNTS_FOUND, {"search": None}))["accounts"]["totalCount"] == 0
    assert await contacts_found(api) == ["Mette Hansen"]


async def test_a_bad_new_contact_of_an_account_is_reported_at_its_path(api: Api) -> None:
    payload = await api.mutate(
        "createAccount",
        {
            "name": "Acme A/S",
            "contacts": [
                {"newContact": {"firstName": "Mette", "lastName": "Hansen", "email": "x@"}}
            ],
        },
        "account { id }",
    )

    assert payload["account"] is None
    assert errors_of(payload) == [(["contacts", "0", "newContact", "email"], "INVALID")]
    assert await contacts_found(api) == []


async def test_roles_and_description_belong_to_each_link_of_one_contact(api: Api) -> None:
    contact = await create_contact(api, "Mette", "Hansen")
    company = await account_with_contact(
        api, "Acme A/S", contact["id"], ["COMMERCIAL", "OPERATIONAL"], "CEO"
    )
    family = await api.create_account("Hansen family", type="INDIVIDUAL")

    payload = await api.ok(
        "linkContact",
        {
            "accountId": family["id"],
            "contactId": contact["id"],
            "roles": [],
            "description": "primary contact for the family",
        },
        LINK_SELECTION,
    )

    assert payload["accountContact"] == {
        "account": {"name": "Hansen family"},
        "contact": {"fullName": "Mette Hansen"},
        "roles": [],
        "description": "primary contact for the family",
    }
    assert await account_contacts(api, company["id"]) == [
        {
            "contact": {"fullName": "Mette Hansen"},
            "roles": ["COMMERCIAL", "OPERATIONAL"],
            "description": "CEO",
        }
    ]
    assert await account_contacts(api, family["id"]) == [
        {
            "contact": {"fullName": "Mette Hansen"},
            "roles": [],
            "description": "primary contact for the family",
        }
    ]
    assert (await read_contact(api, contact["id"]))["accounts"] == [
        {
            "account": {"name": "Acme A/S"},
            "roles": ["COMMERCIAL", "OPERATIONAL"],
            "description": "CEO",
        },
        {
            "account": {"name": "Hansen family"},
            "roles": [],
            "description": "primary contact for the family",
        },
    ]
    assert await account_version(api, family["id"]) == family["version"] + 1


async def test_account_contacts_are_alphabetical_by_last_then_first_name_ignoring_case(
    api: Api,
) -> None:
    people = [("Bo", "carlsen"), ("Zoe", "Berg"), ("Carl", "andersen"), ("anna", "Berg")]
    account = await api.create_account(
        "Acme A/S",
        contacts=[{"newContact": {"firstName": f, "lastName": last}} for f, last in people],
    )

    listed = [link["contact"]["fullName"] for link in await account_contacts(api, account["id"])]

    expected = ["Carl andersen", "anna Berg", "Zoe Berg", "Bo carlsen"]
    assert listed == expected
    assert await contacts_found(api, {"accountId": account["id"]}) == expected


async def test_linking_a_contact_twice_is_already_linked(api: Api) -> None:
    contact = await create_contact(api, "Mette", "Hansen")
    account = await account_with_contact(api, "Acme A/S", contact["id"], ["COMMERCIAL"], "CEO")

    payload = await api.mutate(
        "linkContact",
        {"accountId": account["id"], "contactId": contact["id"], "roles": ["OPERATIONAL"]},
        LINK_SELECTION,
    )

    assert payload["accountContact"] is None
    assert errors_of(payload) == [(["contactId"], "ALREADY_LINKED")]
    assert await account_contacts(api, account["id"]) == [
        {"contact": {"fullName": "Mette Hansen"}, "roles": ["COMMERCIAL"], "description": "CEO"}
    ]


async def test_an_inactive_account_takes_no_new_contact(api: Api) -> None:
    contact = await create_contact(api, "Mette", "Hansen")
    account = await api.create_account("Closed ApS")
    await api.ok("deactivateAccount", {"accountId": account["id"]})

    payload = await api.mutate(
        "linkContact", {"accountId": account["id"], "contactId": contact["id"]}, LINK_SELECTION
    )

    assert errors_of(payload) == [(["accountId"], "ACCOUNT_INACTIVE")]
    assert await account_contacts(api, account["id"]) == []


async def test_linking_needs_the_edit_right_on_the_account(api: Api) -> None:
    contact = await create_contact(api, "Mette", "Hansen")
    account = await api.create_account("Acme A/S")
    _, token = await api.staff("VIEW_ALL_ACCOUNTS")

    body = await api.execute(
        LINK_CONTACT, {"input": {"accountId": account["id"], "contactId": contact["id"]}}, token
    )

    assert top_level_codes(body) == ["FORBIDDEN"]
    assert await account_contacts(api, account["id"]) == []


async def test_a_contact_of_another_firm_is_not_found_when_linking(
    api: Api, other_firm: Api
) -> None:
    foreign = await create_contact(other_firm, "Mette", "Hansen")
    account = await api.create_account("Acme A/S")

    payload = await api.mutate(
        "linkContact", {"accountId": account["id"], "contactId": foreign["id"]}, LINK_SELECTION
    )

    assert errors_of(payload) == [(["contactId"], "NOT_FOUND")]
    assert await account_contacts(api, account["id"]) == []
    assert (await read_contact(other_firm, foreign["id"]))["accounts"] == []


async def test_an_account_of_another_firm_is_not_found_when_linking(
    api: Api, other_firm: Api
) -> None:
    contact = await create_contact(api, "Mette", "Hansen")
    foreign = await other_firm.create_account("Foreign AB")

    payload = await api.mutate(
        "linkContact", {"accountId": foreign["id"], "contactId": contact["id"]}, LINK_SELECTION
    )

    assert errors_of(payload) == [(["accountId"], "NOT_FOUND")]
    assert await account_contacts(other_firm, foreign["id"]) == []
    assert (await read_contact(api, contact["id"]))["accounts"] == []


async def test_changing_the_roles_of_a_link_needs_edit_client_user_rights(api: Api) -> None:
    contact = await create_contact(api, "Mette", "Hansen")
    account = await account_with_contact(api, "Acme A/S", contact["id"], ["COMMERCIAL"], "CEO")
    _, token = await api.staff("VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS")

    body = await api.execute(
        UPDATE_ACCOUNT_CONTACT,
        {
            "input": {
                "accountId": account["id"],
                "contactId": contact["id"],
                "roles": ["COMMERCIAL", "OPERATIONAL"],
            }
        },
        token,
    )

    assert top_level_codes(body) == ["FORBIDDEN"]
    assert await account_contacts(api, account["id"]) == [
        {"contact": {"fullName": "Mette Hansen"}, "roles": ["COMMERCIAL"], "description": "CEO"}
    ]


async def test_a_staff_with_edit_client_user_rights_may_change_the_roles_of_a_link(
    api: Api,
) -> None:
    contact = await create_contact(api, "Mette", "Hansen")
    account = await account_with_contact(api, "Acme A/S", contact["id"], ["COMMERCIAL"], "CEO")
    _, token = await api.staff("VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS", "EDIT_CLIENT_USER_RIGHTS")

    payload = await api.ok(
        "updateAccountContact",
        {"accountId": account["id"], "contactId": contact["id"], "roles": ["OPERATIONAL"]},
        LINK_SELECTION,
        token,
    )

    assert payload["accountContact"]["roles"] == ["OPERATIONAL"]
    assert await account_contacts(api, account["id"]) == [
        {"contact": {"fullName": "Mette Hansen"}, "roles": ["OPERATIONAL"], "description": "CEO"}
    ]
    assert await account_version(api, account["id"]) == account["version"] + 1


async def test_changing_only_the_description_of_a_link_needs_just_the_edit_right(
    api: Api,
) -> None:
    contact = await create_contact(api, "Mette", "Hansen")
    account = await account_with_contact(api, "Acme A/S", contact["id"], ["COMMERCIAL"], "CEO")
    _, token = await api.staff("VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS")

    payload = await api.ok(
        "updateAccountContact",
        {"accountId": account["id"], "contactId": contact["id"], "description": "CFO"},
        LINK_SELECTION,
        token,
    )

    assert payload["accountContact"]["description"] == "CFO"
    assert await account_contacts(api, account["id"]) == [
        {"contact": {"fullName": "Mette Hansen"}, "roles": ["COMMERCIAL"], "description": "CFO"}
    ]


async def test_changing_a_link_that_does_not_exist_is_not_linked(api: Api) -> None:
    contact = await create_contact(api, "Mette", "Hansen")
    account = await api.create_account("Acme A/S")

    payload = await api.mutate(
        "updateAccountContact",
        {"accountId": account["id"], "contactId": contact["id"], "description": "CEO"},
        LINK_SELECTION,
    )

    assert payload["accountContact"] is None
    assert errors_of(payload) == [(["contactId"], "NOT_LINKED")]
    assert await account_contacts(api, account["id"]) == []


async def test_unlinking_removes_the_link_from_both_sides(api: Api) -> None:
    mette = await create_contact(api, "Mette", "Hansen")
    ole = await create_contact(api, "Ole", "Berg")
    account = await account_with_contact(api, "Acme A/S", mette["id"])
    await api.ok("linkContact", {"accountId": account["id"], "contactId": ole["id"]})

    payload = await api.ok(
        "unlinkContact",
        {"accountId": account["id"], "contactId": mette["id"]},
        "account { contacts { contact { fullName } } }",
    )

    assert payload["account"]["contacts"] == [{"contact": {"fullName": "Ole Berg"}}]
    assert [link["contact"]["fullName"] for link in await account_contacts(api, account["id"])] == [
        "Ole Berg"
    ]
    assert (await read_contact(api, mette["id"]))["accounts"] == []


async def test_the_last_contact_of_an_account_cannot_be_unlinked(api: Api) -> None:
    contact = await create_contact(api, "Mette", "Hansen")
    account = await account_with_contact(api, "Acme A/S", contact["id"], ["COMMERCIAL"], "CEO")

    payload = await api.mutate(
        "unlinkContact", {"accountId": account["id"], "contactId": contact["id"]}, "account { id }"
    )

    assert errors_of(payload) == [(["contactId"], "LAST_CONTACT")]
    assert await account_contacts(api, account["id"]) == [
        {"contact": {"fullName": "Mette Hansen"}, "roles": ["COMMERCIAL"], "description": "CEO"}
    ]
    assert await account_version(api, account["id"]) == account["version"]


async def test_related_accounts_share_a_contact_and_are_listed_once(api: Api) -> None:
    mette = await create_contact(api, "Mette", "Hansen")
    ole = await create_contact(api, "Ole", "Berg")
    anna = await create_contact(api, "Anna", "Lund")
    acme = await api.create_account(
        "Acme A/S", contacts=[{"contactId": mette["id"]}, {"contactId": ole["id"]}]
    )
    await api.create_account(
        "Beta ApS", contacts=[{"contactId": mette["id"]}, {"contactId": ole["id"]}]
    )
    await api.create_account("Gamma I/S", contacts=[{"contactId": ole["id"]}])
    await api.create_account("Delta K/S", contacts=[{"contactId": anna["id"]}])

    assert await related_names(api, acme["id"]) == ["Beta ApS", "Gamma I/S"]


async def test_related_accounts_hide_those_a_staff_is_not_assigned_to(api: Api) -> None:
    mette = await create_contact(api, "Mette", "Hansen")
    mine = await account_with_contact(api, "Acme A/S", mette["id"])
    also_mine = await account_with_contact(api, "Beta ApS", mette["id"])
    await account_with_contact(api, "Gamma I/S", mette["id"])
    token = await assigned_staff(
        api, "VIEW_ASSIGNED_ACCOUNTS", accounts=[mine["id"], also_mine["id"]]
    )

    assert await related_names(api, mine["id"], token) == ["Beta ApS"]
    assert await related_names(api, mine["id"]) == ["Beta ApS", "Gamma I/S"]


async def test_linking_and_changing_a_link_move_the_contacts_version_too(api: Api) -> None:
    first = await api.create_account("First")
    second = await api.create_account("Second")
    contact = await create_contact(api, "Ann", "Berg", links=[{"accountId": first["id"]}])
    created_version = (await read_contact(api, contact["id"]))["version"]

    await api.ok("linkContact", {"accountId": second["id"], "contactId": contact["id"]})
    await api.ok(
        "updateAccountContact",
        {"accountId": second["id"], "contactId": contact["id"], "description": "Adviser"},
    )

    assert created_version == 1
    assert (await read_contact(api, contact["id"]))["version"] == 3


async def test_linking_with_roles_needs_the_right_to_edit_client_user_rights(api: Api) -> None:
    account = await api.create_account("Acme")
    contact = await create_contact(api, "Ann", "Berg")
    _, token = await api.staff("VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS")
    link = {"accountId": account["id"], "contactId": contact["id"]}

    with_roles = await api.execute(
        "mutation($input: LinkContactInput!) { linkContact(input: $input) { accountContact "
        "{ roles } } }",
        {"input": {**link, "roles": ["COMMERCIAL"]}},
        token,
    )
    without_roles = await api.ok("linkContact", link, "accountContact { roles }", token)

    assert top_level_codes(with_roles) == ["FORBIDDEN"]
    assert without_roles["accountContact"] == {"roles": []}
