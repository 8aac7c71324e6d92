"""Plain lists hold what a firm has (README, "Limits"), and the node estimate counts them at
that maximum, so the maximum holds on every read: a contact's emails are refused past it when
written, and a list stored longer (before a maximum was lowered) is read cut at the maximum in
the list's order, with nothing stored removed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from clientgraph.db.engine import Database

from tests.support import Api, new_firm, served_with, settings_for

EARLIER_LIMITS = {"max_account_contacts": 27, "max_contact_emails": 12}
"""Limits a firm's lists were written under, above today's defaults (25 and 10)."""
STORED_CONTACTS = 27
STORED_EMAILS = [f"ann{index}@example.com" for index in range(12)]
ACCOUNT_CONTACTS = """query($id: ID!) { account(id: $id) {
  contacts { contact { lastName emails } } } }"""
CONTACTS_OF = "query($id: ID!) { contacts(first: 100, filter: {accountId: $id}) { totalCount } }"
EMAILS = "query($id: ID!) { contact(id: $id) { emails } }"
READ_PATHS = ("planned", "generic")


@dataclass
class LongLists:
    """An account of 27 contacts, the first with 12 emails, written under EARLIER_LIMITS."""

    today: dict[str, Api]
    """The firm on each read path at the default limits."""
    earlier: Api
    """The firm under the limits its lists were written with."""
    account: str
    contact: str


@pytest.fixture
async def long_lists(database: Database) -> AsyncIterator[LongLists]:
    async with new_firm(database, settings=settings_for(database.url, **EARLIER_LIMITS)) as api:
        contacts: list[dict[str, Any]] = [
            {"newContact": {"firstName": "Ann", "lastName": f"Contact {index:02}"}}
            for index in range(STORED_CONTACTS)
        ]
        contacts[0]["newContact"] |= {"email": STORED_EMAILS[0], "extraEmails": STORED_EMAILS[1:]}
        account = await api.create_account("Acme", contacts=contacts)
        links = await api.data(
            ACCOUNT_CONTACTS.replace("lastName", "id lastName"), {"id": account["id"]}
        )
        contact = links["account"]["contacts"][0]["contact"]["id"]
        async with (
            served_with(api, settings_for(database.url)) as planned,
            served_with(api, settings_for(database.url, planned_reads=False)) as generic,
        ):
            yield LongLists({"planned": planned, "generic": generic}, api, account["id"], contact)


@pytest.mark.parametrize("read_path", READ_PATHS)
async def test_a_list_stored_above_its_maximum_is_read_cut_at_it_in_its_order(
    long_lists: LongLists, read_path: str
) -> None:
    body = await long_lists.today[read_path].execute(ACCOUNT_CONTACTS, {"id": long_lists.account})

    links = body["data"]["account"]["contacts"]
    assert [link["contact"]["lastName"] for link in links] == [
        f"Contact {index:02}" for index in range(25)
    ]
    assert links[0]["contact"]["emails"] == STORED_EMAILS[:10]
    assert body["extensions"]["cost"] == {"requestedNodes": 25 + 25 * 10, "actualNodes": 25 + 10}


async def test_nothing_of_a_list_read_cut_is_removed(long_lists: LongLists) -> None:
    today = long_lists.today["planned"]
    await today.ok("updateContact", {"contactId": long_lists.contact, "phone": "+4520123456"})

    connection = await today.data(CONTACTS_OF, {"id": long_lists.account})
    emails = await long_lists.earlier.data(EMAILS, {"id": long_lists.contact})

    assert connection["contacts"]["totalCount"] == STORED_CONTACTS
    assert emails["contact"]["emails"] == STORED_EMAILS


async def test_an_account_above_its_maximum_links_no_more_contacts(
    long_lists: LongLists,
) -> None:
    today = long_lists.today["planned"]
    extra = await today.ok(
        "createContact", {"firstName": "Bo", "lastName": "Berg"}, "contact { id }"
    )

    payload = await today.mutate(
        "linkContact", {"accountId": long_lists.account, "contactId": extra["contact"]["id"]}
    )

    [error] = payload["userErrors"]
    assert (error["field"], error["code"]) == (["accountId"], "TOO_LONG")
    assert error["message"] == "Acme has 27 contacts; an account may have at most 25."
    connection = await today.data(CONTACTS_OF, {"id": long_lists.account})
    assert connection["contacts"]["totalCount"] == STORED_CONTACTS


async def test_a_list_above_its_maximum_shrinks_and_shows_what_was_cut(
    long_lists: LongLists,
) -> None:
    today = long_lists.today["planned"]

    await today.ok(
        "unlinkContact", {"accountId": long_lists.account, "contactId": long_lists.contact}
    )

    read = await today.data(ACCOUNT_CONTACTS, {"id": long_lists.account})
    assert [link["contact"]["lastName"] for link in read["account"]["contacts"]] == [
        f"Contact {index:02}" for index in range(1, 26)
    ]


SMALLER = {"max_team_members": 2, "max_custom_fields": 2, "max_account_contacts": 2}
TEAM_FIELDS_AND_LINKS = """query($account: ID!, $contact: ID!) {
  account(id: $account) { teamMembers { name } customFields { label } }
  contact(id: $contact) { accounts { account { name } } } }"""


@pytest.mark.parametrize("read_path", READ_PATHS)
async def test_team_members_custom_fields_and_a_contacts_accounts_are_cut_in_their_order(
    database: Database, read_path: str
) -> None:
    async with new_firm(database) as api:
        contact = await api.ok(
            "createContact", {"firstName": "Ann", "lastName": "Berg"}, "contact { id }"
        )
        link = [{"contactId": contact["contact"]["id"]}]
        accounts = [(await api.create_account(name, contacts=link))["id"] for name in "CAB"]
        for name in "CAB":
            member, _ = await api.staff(name=name)
            await api.ok("assignTeamMember", {"accountId": accounts[0], "userId": member})
            await api.ok(
                "defineCustomField",
                {"entity": "ACCOUNT", "key": name.lower(), "label": name, "type": "TEXT"},
            )
        smaller = settings_for(database.url, planned_reads=read_path == "planned", **SMALLER)
        async with served_with(api, smaller) as today:
            variables = {"account": accounts[0], "contact": contact["contact"]["id"]}
            response = await today.post(TEAM_FIELDS_AND_LINKS, variables)

    body = response.json()
    assert response.headers["x-read-path"] == read_path
    assert body["data"] == {
        "account": {
            "teamMembers": [{"name": "A"}, {"name": "B"}],
            "customFields": [{"label": "A"}, {"label": "B"}],
        },
        "contact": {"accounts": [{"account": {"name": "A"}}, {"account": {"name": "B"}}]},
    }


def _contact_input(extra_emails: int) -> dict[str, Any]:
    return {
        "firstName": "Ada",
        "lastName": "Lund",
        "email": "ada@example.com",
        "extraEmails": [f"ada{index}@example.com" for index in range(extra_emails)],
    }


TOO_MANY_EMAILS = "A contact may have at most 10 email addresses (the primary one and 9 extra); "


@pytest.fixture
async def api(database: Database) -> AsyncIterator[Api]:
    async with new_firm(database) as client:
        yield client


async def test_a_contact_takes_ten_email_addresses(api: Api) -> None:
    payload = await api.ok("createContact", _contact_input(9), "contact { emails }")

    assert len(payload["contact"]["emails"]) == 10


@pytest.mark.parametrize(
    ("mutation", "field"),
    [
        ("createContact", ["extraEmails"]),
        ("createAccount", ["contacts", "0", "newContact", "extraEmails"]),
        ("updateContact", ["extraEmails"]),
    ],
)
async def test_an_eleventh_email_address_is_refused_and_nothing_is_stored(
    api: Api, mutation: str, field: list[str]
) -> None:
    existing = await api.ok("createContact", _contact_input(1), "contact { id }")
    contact = existing["contact"]["id"]
    inputs = {
        "createContact": _contact_input(10),
        "createAccount": {"name": "Acme", "contacts": [{"newContact": _contact_input(10)}]},
        "updateContact": {"contactId": contact, "extraEmails": _contact_input(10)["extraEmails"]},
    }

    payload = await api.mutate(mutation, inputs[mutation])

    [error] = payload["userErrors"]
    assert (error["field"], error["code"]) == (field, "TOO_LONG")
    assert error["message"] == TOO_MANY_EMAILS + "11 were given."
    stored = await api.data("{ contacts { nodes { emails } } accounts { totalCount } }")
    assert stored["contacts"]["nodes"] == [{"emails": ["ada@example.com", "ada0@example.com"]}]
    assert stored["accounts"]["totalCount"] == 0
