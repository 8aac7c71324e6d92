"""Contacts through the API, on every backend: creating them (names, e-mails, phones, rights),
changing and deleting them, their versions and history, and finding them."""

from __future__ import annotations

import json

import pytest

from tests.contact_support import (
    ACCOUNTS_FOUND,
    CONTACT_SELECTION,
    account_contacts,
    account_version,
    account_with_contact,
    assigned_staff,
    contact_history,
    contacts_found,
    create_contact,
    read_contact,
)
from tests.support import Api, errors_of, top_level_codes

NODE = "query($id: ID!) { node(id: $id) { id } }"
CREATE_CONTACT = """
mutation($input: CreateContactInput!) {
  createContact(input: $input) { contact { id } userErrors { field code } }
}
"""
AUDIT_EVENT_NODE = """
query($id: ID!) { node(id: $id) { ... on AuditEvent { action changes { field to } } } }
"""
CONTACT_EVENTS = """
query($id: ID!) { contact(id: $id) { history(first: 50) { nodes { id changes { to } } } } }
"""


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


async def test_a_staff_who_sees_only_assigned_accounts_must_link_a_new_contact(api: Api) -> None:
    _, token = await api.staff("VIEW_ASSIGNED_ACCOUNTS", "EDIT_ASSIGNED_ACCOUNTS")

    payload = await api.mutate(
        "createContact", {"firstName": "Ann", "lastName": "Berg"}, "contact { id }", token
    )

    assert errors_of(payload) == [(["links"], "REQUIRED")]
    assert await contacts_found(api) == []
