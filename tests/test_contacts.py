"""Contacts, their links to accounts with roles, and portal access (seeds 002 and 004),
through the API, on every backend."""

from __future__ import annotations

import json
from typing import Any

import pytest
from clientgraph.db.models import OutboxEvent
from sqlalchemy import select

from tests.support import Api

CONTACT_SELECTION = (
    "contact { id firstName lastName fullName email emails phone portalAccess version }"
)
CONTACT = """
query($id: ID!) {
  contact(id: $id) {
    id firstName lastName fullName email emails phone portalAccess version
    accounts { account { name } roles description }
  }
}
"""
CONTACT_HISTORY = """
query($id: ID!) {
  contact(id: $id) { history { nodes { action actor { name } changes { field from to } } } }
}
"""
ACCOUNT_CONTACTS = """
query($id: ID!) {
  account(id: $id) { version contacts { contact { fullName } roles description } }
}
"""
RELATED_ACCOUNTS = "query($id: ID!) { account(id: $id) { relatedAccounts { name } } }"
CONTACTS_FOUND = """
query($filter: ContactFilter) { contacts(filter: $filter) { totalCount nodes { fullName } } }
"""
ACCOUNTS_FOUND = """
query($search: String) { accounts(filter: {search: $search}) { totalCount nodes { name } } }
"""
NODE = "query($id: ID!) { node(id: $id) { id } }"
CREATE_CONTACT = """
mutation($input: CreateContactInput!) {
  createContact(input: $input) { contact { id } userErrors { field code } }
}
"""
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
INVITE_CONTACT = """
mutation($input: InviteContactInput!) {
  inviteContact(input: $input) { contact { portalAccess } userErrors { field code } }
}
"""
REVOKE_PORTAL_ACCESS = """
mutation($input: RevokePortalAccessInput!) {
  revokePortalAccess(input: $input) { contact { portalAccess } userErrors { field code } }
}
"""
LINK_SELECTION = "accountContact { account { name } contact { fullName } roles description }"


def errors_of(payload: dict[str, Any]) -> list[tuple[list[str] | None, str]]:
    return [(error["field"], error["code"]) for error in payload["userErrors"]]


def top_level_codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors") or []]


async def create_contact(api: Api, first: str, last: str, **fields: Any) -> dict[str, Any]:
    payload = await api.ok(
        "createContact", {"firstName": first, "lastName": last, **fields}, CONTACT_SELECTION
    )
    return payload["contact"]


async def read_contact(api: Api, contact_id: str, token: str | None = None) -> Any:
    return (await api.data(CONTACT, {"id": contact_id}, token))["contact"]


async def contact_history(
    api: Api, contact_id: str, token: str | None = None
) -> list[dict[str, Any]]:
    data = await api.data(CONTACT_HISTORY, {"id": contact_id}, token)
    return data["contact"]["history"]["nodes"]


async def account_contacts(api: Api, account_id: str) -> list[dict[str, Any]]:
    return (await api.data(ACCOUNT_CONTACTS, {"id": account_id}))["account"]["contacts"]


async def account_version(api: Api, account_id: str) -> int:
    return (await api.data(ACCOUNT_CONTACTS, {"id": account_id}))["account"]["version"]


async def contacts_found(
    api: Api, filter_: dict[str, Any] | None = None, token: str | None = None
) -> list[str]:
    data = (await api.data(CONTACTS_FOUND, {"filter": filter_}, token))["contacts"]
    names = [node["fullName"] for node in data["nodes"]]
    assert data["totalCount"] == len(names)
    return names


async def related_names(api: Api, account_id: str, token: str | None = None) -> list[str]:
    data = await api.data(RELATED_ACCOUNTS, {"id": account_id}, token)
    return [account["name"] for account in data["account"]["relatedAccounts"]]


async def outbox(api: Api) -> list[tuple[str, str, dict[str, Any]]]:
    """The firm's portal invitations in the outbox, oldest first: (kind, recipient, payload).
    (Creating a staff user queues a set-password e-mail, which is not what these tests see.)"""
    async with api.db.firm_session(api.firm_id) as session:
        rows = await session.scalars(
            select(OutboxEvent)
            .where(
                OutboxEvent.firm_id == api.firm_id,
                OutboxEvent.kind == "contact.portal_invitation",
            )
            .order_by(OutboxEvent.created_at)
        )
        return [(row.kind, row.recipient, row.payload) for row in rows]


async def account_with_contact(
    api: Api, name: str, contact_id: str, roles: list[str] | None = None, description: str = ""
) -> dict[str, Any]:
    link = {"contactId": contact_id, "roles": roles or [], "description": description or None}
    return await api.create_account(name, contacts=[link])


async def assigned_staff(api: Api, *permissions: str, accounts: list[str]) -> str:
    """A STAFF user whose address-book entry owns `accounts`: their token. Ownership gets
    switched on, so create every other account before calling this."""
    staff_id, token = await api.staff(*permissions, name="Sara Staff")
    await api.enable_ownership()
    entry = await api.add_owner(user_id=staff_id)
    for account_id in accounts:
        await api.ok("assignClientOwner", {"accountId": account_id, "ownerId": entry})
    return token


# --- creating contacts ---------------------------------------------------------------------


async def test_a_contact_keeps_its_primary_email_first_and_its_phone_in_e164(api: Api) -> None:
    contact = await create_contact(
        api,
        "Mette",
        "Hansen",
        email="mette@example.dk",
        extraEmails=["m.hansen@example.com"],
        phone="20 12 34 56",
        phoneCountry="DK",
    )

    assert {key: value for key, value in contact.items() if key != "id"} == {
        "firstName": "Mette",
        "lastName": "Hansen",
        "fullName": "Mette Hansen",
        "email": "mette@example.dk",
        "emails": ["mette@example.dk", "m.hansen@example.com"],
        "phone": "+4520123456",
        "portalAccess": "NONE",
        "version": 1,
    }
    assert (await read_contact(api, contact["id"]))["emails"] == [
        "mette@example.dk",
        "m.hansen@example.com",
    ]


async def test_a_phone_with_its_international_prefix_needs_no_country(api: Api) -> None:
    contact = await create_contact(api, "Sven", "Lund", phone="+46 8 123 456 78")

    assert contact["phone"] == "+46812345678"


async def test_a_contact_without_email_or_phone_has_none(api: Api) -> None:
    contact = await create_contact(api, "Ole", "Berg")

    assert (contact["email"], contact["emails"], contact["phone"]) == (None, [], None)


@pytest.mark.parametrize(
    ("names", "field"),
    [
        ({"firstName": "  ", "lastName": "Hansen"}, ["firstName"]),
        ({"firstName": "Mette", "lastName": ""}, ["lastName"]),
    ],
)
async def test_a_contact_needs_a_first_and_a_last_name(
    api: Api, names: dict[str, str], field: list[str]
) -> None:
    payload = await api.mutate("createContact", names, CONTACT_SELECTION)

    assert payload["contact"] is None
    assert errors_of(payload) == [(field, "REQUIRED")]
    assert await contacts_found(api) == []


async def test_an_email_with_bad_syntax_is_invalid(api: Api) -> None:
    payload = await api.mutate(
        "createContact", {"firstName": "Mette", "lastName": "Hansen", "email": "mette@"}
    )

    assert errors_of(payload) == [(["email"], "INVALID")]
    assert await contacts_found(api) == []


async def test_a_bad_extra_email_is_invalid_at_its_position(api: Api) -> None:
    payload = await api.mutate(
        "createContact",
        {
            "firstName": "Mette",
            "lastName": "Hansen",
            "email": "mette@example.dk",
            "extraEmails": ["ok@example.com", "not-an-email"],
        },
    )

    assert errors_of(payload) == [(["extraEmails", "1"], "INVALID")]
    assert await contacts_found(api) == []


async def test_an_extra_email_repeating_another_one_ignoring_case_is_invalid(api: Api) -> None:
    payload = await api.mutate(
        "createContact",
        {
            "firstName": "Mette",
            "lastName": "Hansen",
            "email": "mette@example.dk",
            "extraEmails": ["METTE@example.dk", "other@example.com", "Other@Example.COM"],
        },
    )

    assert errors_of(payload) == [
        (["extraEmails", "0"], "INVALID"),
        (["extraEmails", "2"], "INVALID"),
    ]
    assert await contacts_found(api) == []


async def test_extra_emails_without_a_primary_email_ask_for_the_primary(api: Api) -> None:
    payload = await api.mutate(
        "createContact",
        {"firstName": "Mette", "lastName": "Hansen", "extraEmails": ["mette@example.dk"]},
    )

    assert errors_of(payload) == [(["email"], "REQUIRED")]
    assert await contacts_found(api) == []


@pytest.mark.parametrize(
    ("phone", "country", "field"),
    [
        ("12", "DK", ["phone"]),
        ("20 12 34 56", "XX", ["phoneCountry"]),
        ("20 12 34 56", None, ["phone"]),
    ],
    ids=["too-short", "unknown-country", "national-without-country"],
)
async def test_a_phone_that_cannot_be_read_with_its_country_is_invalid(
    api: Api, phone: str, country: str | None, field: list[str]
) -> None:
    payload = await api.mutate(
        "createContact",
        {"firstName": "Mette", "lastName": "Hansen", "phone": phone, "phoneCountry": country},
    )

    assert errors_of(payload) == [(field, "INVALID")]
    assert await contacts_found(api) == []


async def test_creating_a_contact_needs_a_right_to_edit_accounts(api: Api) -> None:
    _, token = await api.staff("VIEW_ALL_ACCOUNTS", "CREATE_CLIENT_USERS")

    body = await api.execute(
        CREATE_CONTACT, {"input": {"firstName": "Mette", "lastName": "Hansen"}}, token
    )

    assert top_level_codes(body) == ["FORBIDDEN"]
    assert await contacts_found(api) == []


async def test_a_staff_with_edit_assigned_accounts_may_create_a_contact(api: Api) -> None:
    _, token = await api.staff("VIEW_ALL_ACCOUNTS", "EDIT_ASSIGNED_ACCOUNTS")

    payload = await api.ok(
        "createContact", {"firstName": "Mette", "lastName": "Hansen"}, CONTACT_SELECTION, token
    )

    assert payload["contact"]["fullName"] == "Mette Hansen"
    assert await contacts_found(api) == ["Mette Hansen"]


async def test_a_contact_is_created_linked_with_its_roles_and_description(api: Api) -> None:
    account = await api.create_account("Acme A/S")

    contact = await create_contact(
        api,
        "Mette",
        "Hansen",
        links=[
            {
                "accountId": account["id"],
                "roles": ["COMMERCIAL", "OPERATIONAL"],
                "description": "CEO",
            }
        ],
    )

    assert await account_contacts(api, account["id"]) == [
        {
            "contact": {"fullName": "Mette Hansen"},
            "roles": ["COMMERCIAL", "OPERATIONAL"],
            "description": "CEO",
        }
    ]
    assert (await read_contact(api, contact["id"]))["accounts"] == [
        {
            "account": {"name": "Acme A/S"},
            "roles": ["COMMERCIAL", "OPERATIONAL"],
            "description": "CEO",
        }
    ]
    assert await account_version(api, account["id"]) == account["version"] + 1


async def test_a_link_to_an_inactive_account_refuses_the_whole_contact(api: Api) -> None:
    active = await api.create_account("Active ApS")
    inactive = await api.create_account("Closed ApS")
    await api.ok("deactivateAccount", {"accountId": inactive["id"]})

    payload = await api.mutate(
        "createContact",
        {
            "firstName": "Mette",
            "lastName": "Hansen",
            "links": [{"accountId": active["id"]}, {"accountId": inactive["id"]}],
        },
        CONTACT_SELECTION,
    )

    assert payload["contact"] is None
    assert errors_of(payload) == [(["links", "1", "accountId"], "ACCOUNT_INACTIVE")]
    assert await contacts_found(api) == []
    assert await account_contacts(api, active["id"]) == []
    assert await account_version(api, active["id"]) == active["version"]


async def test_two_links_to_the_same_account_refuse_the_whole_contact(api: Api) -> None:
    account = await api.create_account("Acme A/S")

    payload = await api.mutate(
        "createContact",
        {
            "firstName": "Mette",
            "lastName": "Hansen",
            "links": [{"accountId": account["id"]}, {"accountId": account["id"]}],
        },
        CONTACT_SELECTION,
    )

    assert payload["contact"] is None
    assert errors_of(payload) == [(["links", "1", "contactId"], "ALREADY_LINKED")]
    assert await contacts_found(api) == []
    assert await account_contacts(api, account["id"]) == []


# --- creating accounts with contacts -------------------------------------------------------


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


# --- roles and order of links --------------------------------------------------------------


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


# --- linking -------------------------------------------------------------------------------


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


# --- changing a link -----------------------------------------------------------------------


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


# --- unlinking and deleting ----------------------------------------------------------------


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


async def test_a_contact_that_is_the_only_contact_of_an_account_cannot_be_deleted(
    api: Api,
) -> None:
    mette = await create_contact(api, "Mette", "Hansen")
    ole = await create_contact(api, "Ole", "Berg")
    shared = await account_with_contact(api, "Acme A/S", mette["id"])
    await api.ok("linkContact", {"accountId": shared["id"], "contactId": ole["id"]})
    alone = await account_with_contact(api, "Hansen family", mette["id"])

    payload = await api.mutate("deleteContact", {"contactId": mette["id"]}, "deletedContactId")

    assert payload["deletedContactId"] is None
    assert errors_of(payload) == [(["contactId"], "LAST_CONTACT")]
    assert (await read_contact(api, mette["id"]))["fullName"] == "Mette Hansen"
    assert [link["contact"]["fullName"] for link in await account_contacts(api, shared["id"])] == [
        "Ole Berg",
        "Mette Hansen",
    ]
    assert len(await account_contacts(api, alone["id"])) == 1


async def test_a_deleted_contact_is_gone_from_its_accounts(api: Api) -> None:
    mette = await create_contact(api, "Mette", "Hansen")
    ole = await create_contact(api, "Ole", "Berg")
    account = await account_with_contact(api, "Acme A/S", mette["id"])
    await api.ok("linkContact", {"accountId": account["id"], "contactId": ole["id"]})

    payload = await api.ok("deleteContact", {"contactId": mette["id"]}, "deletedContactId")

    assert payload["deletedContactId"] == mette["id"]
    assert (await api.data(NODE, {"id": mette["id"]}))["node"] is None
    assert [link["contact"]["fullName"] for link in await account_contacts(api, account["id"])] == [
        "Ole Berg"
    ]
    assert await contacts_found(api) == ["Ole Berg"]


async def test_deleting_a_contact_linked_to_an_account_the_staff_cannot_change_is_forbidden(
    api: Api,
) -> None:
    mette = await create_contact(api, "Mette", "Hansen")
    ole = await create_contact(api, "Ole", "Berg")
    mine = await api.create_account(
        "Acme A/S", contacts=[{"contactId": mette["id"]}, {"contactId": ole["id"]}]
    )
    await account_with_contact(api, "Secret ApS", mette["id"])
    token = await assigned_staff(
        api, "VIEW_ASSIGNED_ACCOUNTS", "EDIT_ASSIGNED_ACCOUNTS", accounts=[mine["id"]]
    )

    body = await api.execute(
        "mutation($input: DeleteContactInput!) { deleteContact(input: $input) "
        "{ deletedContactId userErrors { code message } } }",
        {"input": {"contactId": mette["id"]}},
        token,
    )

    assert [error["extensions"]["code"] for error in body["errors"]] == ["FORBIDDEN"]
    assert "Secret ApS" not in json.dumps(body)
    assert (await read_contact(api, mette["id"]))["fullName"] == "Mette Hansen"


# --- related accounts ----------------------------------------------------------------------


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


# --- portal access -------------------------------------------------------------------------


async def test_inviting_a_contact_needs_create_client_users(api: Api) -> None:
    contact = await create_contact(api, "Mette", "Hansen", email="mette@example.dk")
    _, token = await api.staff("VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS", "EDIT_CLIENT_USER_RIGHTS")

    body = await api.execute(INVITE_CONTACT, {"input": {"contactId": contact["id"]}}, token)

    assert top_level_codes(body) == ["FORBIDDEN"]
    assert (await read_contact(api, contact["id"]))["portalAccess"] == "NONE"
    assert await outbox(api) == []


async def test_inviting_a_contact_sends_one_invitation_to_the_primary_email(api: Api) -> None:
    contact = await create_contact(
        api, "Mette", "Hansen", email="mette@example.dk", extraEmails=["m.hansen@example.com"]
    )
    _, token = await api.staff("VIEW_ALL_ACCOUNTS", "CREATE_CLIENT_USERS")

    payload = await api.ok(
        "inviteContact", {"contactId": contact["id"]}, "contact { portalAccess version }", token
    )

    assert payload["contact"] == {"portalAccess": "INVITED", "version": 2}
    sent = await outbox(api)
    assert [(kind, recipient) for kind, recipient, _ in sent] == [
        ("contact.portal_invitation", "mette@example.dk")
    ]
    assert (sent[0][2]["name"], sent[0][2]["resend"]) == ("Mette Hansen", False)
    assert (await contact_history(api, contact["id"]))[0]["action"] == "contact.invited"


async def test_inviting_an_invited_contact_again_resends_the_invitation(api: Api) -> None:
    contact = await create_contact(api, "Mette", "Hansen", email="mette@example.dk")
    await api.ok("inviteContact", {"contactId": contact["id"]})

    payload = await api.ok("inviteContact", {"contactId": contact["id"]}, CONTACT_SELECTION)

    assert payload["contact"]["portalAccess"] == "INVITED"
    sent = await outbox(api)
    assert [(kind, recipient, body["resend"]) for kind, recipient, body in sent] == [
        ("contact.portal_invitation", "mette@example.dk", False),
        ("contact.portal_invitation", "mette@example.dk", True),
    ]
    actions = [event["action"] for event in await contact_history(api, contact["id"])]
    assert actions == ["contact.invitation_resent", "contact.invited", "contact.created"]


async def test_a_contact_without_email_cannot_be_invited(api: Api) -> None:
    contact = await create_contact(api, "Mette", "Hansen")

    payload = await api.mutate("inviteContact", {"contactId": contact["id"]}, CONTACT_SELECTION)

    assert payload["contact"] is None
    assert errors_of(payload) == [(["contactId"], "REQUIRED")]
    assert (await read_contact(api, contact["id"]))["portalAccess"] == "NONE"
    assert await outbox(api) == []


async def test_revoking_portal_access_needs_delete_client_users(api: Api) -> None:
    contact = await create_contact(api, "Mette", "Hansen", email="mette@example.dk")
    await api.ok("inviteContact", {"contactId": contact["id"]})
    _, token = await api.staff("VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS", "CREATE_CLIENT_USERS")

    body = await api.execute(REVOKE_PORTAL_ACCESS, {"input": {"contactId": contact["id"]}}, token)

    assert top_level_codes(body) == ["FORBIDDEN"]
    assert (await read_contact(api, contact["id"]))["portalAccess"] == "INVITED"


async def test_revoking_portal_access_takes_back_the_invitation(api: Api) -> None:
    contact = await create_contact(api, "Mette", "Hansen", email="mette@example.dk")
    await api.ok("inviteContact", {"contactId": contact["id"]})
    _, token = await api.staff("VIEW_ALL_ACCOUNTS", "DELETE_CLIENT_USERS")

    payload = await api.ok(
        "revokePortalAccess", {"contactId": contact["id"]}, "contact { portalAccess }", token
    )

    assert payload["contact"] == {"portalAccess": "NONE"}
    assert (await read_contact(api, contact["id"]))["portalAccess"] == "NONE"


async def test_changing_the_primary_email_of_an_invited_contact_voids_the_invitation(
    api: Api,
) -> None:
    contact = await create_contact(api, "Mette", "Hansen", email="mette@example.dk")
    await api.ok("inviteContact", {"contactId": contact["id"]})

    payload = await api.ok(
        "updateContact",
        {"contactId": contact["id"], "email": "mette@hansen.dk"},
        CONTACT_SELECTION,
    )

    assert (payload["contact"]["email"], payload["contact"]["portalAccess"]) == (
        "mette@hansen.dk",
        "NONE",
    )
    latest = (await contact_history(api, contact["id"]))[0]
    assert latest["action"] == "contact.updated"
    assert latest["changes"] == [
        {"field": "email", "from": "mette@example.dk", "to": "mette@hansen.dk"},
        {"field": "portalAccess", "from": "INVITED", "to": "NONE"},
    ]


async def test_changing_only_the_phone_of_an_invited_contact_keeps_the_invitation(
    api: Api,
) -> None:
    contact = await create_contact(api, "Mette", "Hansen", email="mette@example.dk")
    await api.ok("inviteContact", {"contactId": contact["id"]})

    payload = await api.ok(
        "updateContact",
        {"contactId": contact["id"], "phone": "20 12 34 56", "phoneCountry": "DK"},
        CONTACT_SELECTION,
    )

    assert (payload["contact"]["phone"], payload["contact"]["portalAccess"]) == (
        "+4520123456",
        "INVITED",
    )


# --- updating contacts ---------------------------------------------------------------------


async def test_updating_a_contact_leaves_omitted_fields_unchanged(api: Api) -> None:
    contact = await create_contact(
        api,
        "Mette",
        "Hansen",
        email="mette@example.dk",
        extraEmails=["m.hansen@example.com"],
        phone="20 12 34 56",
        phoneCountry="DK",
    )

    payload = await api.ok(
        "updateContact", {"contactId": contact["id"], "lastName": "Jensen"}, CONTACT_SELECTION
    )

    assert payload["contact"] == {
        **contact,
        "lastName": "Jensen",
        "fullName": "Mette Jensen",
        "version": 2,
    }


async def test_a_stale_expected_version_changes_nothing(api: Api) -> None:
    contact = await create_contact(api, "Mette", "Hansen", email="mette@example.dk")
    await api.ok(
        "updateContact", {"contactId": contact["id"], "expectedVersion": 1, "lastName": "Jensen"}
    )
    before = await read_contact(api, contact["id"])

    payload = await api.mutate(
        "updateContact",
        {"contactId": contact["id"], "expectedVersion": 1, "firstName": "Mia"},
        CONTACT_SELECTION,
    )

    assert errors_of(payload) == [(["expectedVersion"], "STALE_VERSION")]
    assert await read_contact(api, contact["id"]) == before
    assert before["version"] == 2


async def test_every_change_to_a_contact_moves_its_version_by_one(api: Api) -> None:
    contact = await create_contact(api, "Mette", "Hansen")

    versions = []
    for expected, first_name in enumerate(["Mia", "Maja", "Mette"], start=1):
        payload = await api.ok(
            "updateContact",
            {"contactId": contact["id"], "expectedVersion": expected, "firstName": first_name},
            CONTACT_SELECTION,
        )
        versions.append(payload["contact"]["version"])

    assert versions == [2, 3, 4]


async def test_contact_history_shows_creation_link_and_change_newest_first(api: Api) -> None:
    account = await api.create_account("Acme A/S")
    contact = await create_contact(
        api,
        "Mette",
        "Hansen",
        email="mette@example.dk",
        links=[{"accountId": account["id"], "roles": ["COMMERCIAL"], "description": "CEO"}],
    )
    await api.ok("updateContact", {"contactId": contact["id"], "firstName": "Mia"})

    events = await contact_history(api, contact["id"])

    assert [(event["action"], event["actor"]) for event in events] == [
        ("contact.updated", {"name": "Firm Owner"}),
        ("contact.linked", {"name": "Firm Owner"}),
        ("contact.created", {"name": "Firm Owner"}),
    ]
    assert events[0]["changes"] == [{"field": "firstName", "from": "Mette", "to": "Mia"}]
    assert events[1]["changes"] == [
        {"field": "account", "from": None, "to": "Acme A/S"},
        {"field": "roles", "from": None, "to": "COMMERCIAL"},
        {"field": "description", "from": None, "to": "CEO"},
    ]
    assert events[2]["changes"] == [
        {"field": "firstName", "from": None, "to": "Mette"},
        {"field": "lastName", "from": None, "to": "Hansen"},
        {"field": "email", "from": None, "to": "mette@example.dk"},
        {"field": "portalAccess", "from": None, "to": "NONE"},
    ]


async def test_contact_history_names_no_account_the_staff_cannot_see(api: Api) -> None:
    contact = await create_contact(api, "Mette", "Hansen")
    mine = await account_with_contact(api, "Acme A/S", contact["id"])
    await account_with_contact(api, "Secret ApS", contact["id"])
    token = await assigned_staff(api, "VIEW_ASSIGNED_ACCOUNTS", accounts=[mine["id"]])

    events = await contact_history(api, contact["id"], token)

    linked = [
        change["to"]
        for event in events
        if event["action"] == "contact.linked"
        for change in event["changes"]
        if change["field"] == "account"
    ]
    assert "Acme A/S" in linked
    assert "Secret ApS" not in json.dumps(events)


# --- finding contacts ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("search", "found"),
    [
        ("HANS", ["Mette Hansen"]),
        ("ole", ["Ole Berg"]),
        ("Privat@Example", ["Mette Hansen"]),
        ("ÆRØ", ["Søren ærø"]),
        ("SØREN@", ["Søren ærø"]),
        ("nobody", []),
    ],
)
async def test_contact_search_matches_names_and_any_email_ignoring_case(
    api: Api, search: str, found: list[str]
) -> None:
    await create_contact(
        api, "Mette", "Hansen", email="mette@example.dk", extraEmails=["privat@example.com"]
    )
    await create_contact(api, "Ole", "Berg", email="ole@example.dk")
    await create_contact(api, "Søren", "ærø", email="søren@example.dk")

    assert await contacts_found(api, {"search": search}) == found


async def test_contact_search_takes_wildcards_literally(api: Api) -> None:
    await create_contact(api, "Mette", "Hansen")
    await create_contact(api, "Ole", "100%_Berg")

    assert await contacts_found(api, {"search": "%"}) == ["Ole 100%_Berg"]
    assert await contacts_found(api, {"search": "_"}) == ["Ole 100%_Berg"]


async def test_contacts_are_filtered_by_account(api: Api) -> None:
    mette = await create_contact(api, "Mette", "Hansen")
    ole = await create_contact(api, "Ole", "Berg")
    await create_contact(api, "Anna", "Lund")
    acme = await api.create_account(
        "Acme A/S", contacts=[{"contactId": mette["id"]}, {"contactId": ole["id"]}]
    )
    beta = await account_with_contact(api, "Beta ApS", mette["id"])

    assert await contacts_found(api, {"accountId": acme["id"]}) == ["Ole Berg", "Mette Hansen"]
    assert await contacts_found(api, {"accountId": beta["id"]}) == ["Mette Hansen"]
    assert await contacts_found(api, {"accountId": acme["id"], "search": "ole"}) == ["Ole Berg"]


async def test_a_staff_with_view_assigned_sees_only_contacts_of_their_accounts(api: Api) -> None:
    mette = await create_contact(api, "Mette", "Hansen")
    ole = await create_contact(api, "Ole", "Berg")
    await create_contact(api, "Anna", "Lund")
    mine = await account_with_contact(api, "Acme A/S", mette["id"])
    theirs = await api.create_account(
        "Beta ApS", contacts=[{"contactId": mette["id"]}, {"contactId": ole["id"]}]
    )
    token = await assigned_staff(api, "VIEW_ASSIGNED_ACCOUNTS", accounts=[mine["id"]])

    assert await contacts_found(api, token=token) == ["Mette Hansen"]
    assert await contacts_found(api, {"accountId": theirs["id"]}, token) == []
    assert await read_contact(api, ole["id"], token) is None
    assert [
        link["account"]["name"]
        for link in (await read_contact(api, mette["id"], token))["accounts"]
    ] == ["Acme A/S"]


async def test_an_account_is_found_by_a_linked_contacts_extra_email(api: Api) -> None:
    contact = await create_contact(
        api, "Mette", "Hansen", email="mette@example.dk", extraEmails=["bogholderi@acme.dk"]
    )
    await account_with_contact(api, "Acme A/S", contact["id"])
    await api.create_account("Beta ApS")

    data = await api.data(ACCOUNTS_FOUND, {"search": "BOGHOLDERI@acme"})

    assert data["accounts"] == {"totalCount": 1, "nodes": [{"name": "Acme A/S"}]}


# --- found in review ---------------------------------------------------------------------


AUDIT_EVENT_NODE = """
query($id: ID!) { node(id: $id) { ... on AuditEvent { action changes { field to } } } }
"""
CONTACT_EVENTS = """
query($id: ID!) { contact(id: $id) { history(first: 50) { nodes { id changes { to } } } } }
"""


async def test_an_event_naming_a_hidden_account_is_not_readable_by_its_id(api: Api) -> None:
    mette = await create_contact(api, "Mette", "Hansen")
    mine = await account_with_contact(api, "Mine AB", mette["id"])
    await account_with_contact(api, "Hidden AB", mette["id"])
    token = await assigned_staff(api, "VIEW_ASSIGNED_ACCOUNTS", accounts=[mine["id"]])
    events = (await api.data(CONTACT_EVENTS, {"id": mette["id"]}))["contact"]["history"]
    hidden_link = next(
        event["id"] for event in events["nodes"] if {"to": "Hidden AB"} in event["changes"]
    )

    data = await api.data(AUDIT_EVENT_NODE, {"id": hidden_link}, token)

    assert data["node"] is None


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


async def test_a_staff_who_sees_only_assigned_accounts_must_link_a_new_contact(api: Api) -> None:
    _, token = await api.staff("VIEW_ASSIGNED_ACCOUNTS", "EDIT_ASSIGNED_ACCOUNTS")

    payload = await api.mutate(
        "createContact", {"firstName": "Ann", "lastName": "Berg"}, "contact { id }", token
    )

    assert errors_of(payload) == [(["links"], "REQUIRED")]
    assert await contacts_found(api) == []


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
