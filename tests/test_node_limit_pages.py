"""The node limit passes what a page needs and stops what a bomb needs (issue 13, point 6).

Every plain list counts at its maximum (README, "Query cost"), and the maxima are what a firm
has: the pages a client-profile app shows are answered at the default settings on both read
paths, with the estimates README's table gives, and the nested bombs are refused before any
statement reads the firm's data.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from clientgraph.db.engine import Database

from tests.support import Api, count_statements, new_firm, served_with, settings_for

ACCOUNT_PAGE = """query($id: ID!) { account(id: $id) { relatedAccounts { name }
  contacts { description contact { fullName
    accounts { description roles account { name } } } } } }"""
CUSTOM_FIELDS_DASHBOARD = """query($first: Int!) { accounts(first: $first) { nodes {
  owner { name user { email } accountCount } tags teamMembers { name }
  contacts { roles contact { fullName email customFields { key value } } }
  relatedAccounts { name } customFields { key value } } } }"""
MIXED_LOAD_DASHBOARD = """{ accounts(first: 50) { nodes { name customerNumber owner { name } tags
  teamMembers { name } contacts { roles contact { fullName emails } }
  relatedAccounts { name } } } }"""
CONTACT_PAGE = """query($id: ID!) { contact(id: $id) { fullName email emails phone portalAccess
  customFields { key label value }
  history(first: 10) { nodes { action occurredAt actor { name } changes { field from to } } }
  accounts { description roles linkedAt account { name customerNumber status tags
    owner { name user { email } } teamMembers { name } } } } }"""

RELATED_THREE_DEEP = (
    "{ accounts(first: 100) { nodes { relatedAccounts { relatedAccounts { relatedAccounts "
    "{ name } } } } } }"
)
ONE_ACCOUNT_RELATED_THREE_DEEP = (
    "query($id: ID!) { account(id: $id) { relatedAccounts { relatedAccounts { relatedAccounts "
    "{ name } } } } }"
)
ACCOUNTS_CONTACTS_ACCOUNTS_RELATED = (
    "{ accounts(first: 100) { nodes { contacts { contact { accounts { account "
    "{ relatedAccounts { name } } } } } } } }"
)
ALIASED_HISTORIES = (
    "{ accounts(first: 100) { nodes { "
    + " ".join(f"h{index}: history(first: 100) {{ nodes {{ action }} }}" for index in range(99))
    + " } } }"
)

READ_PATHS = ("planned", "generic")


@dataclass
class Firm:
    """A client-profile firm: Bageriet's contacts also belong to other accounts, everyone
    has an owner, tags, a team member and custom fields."""

    paths: dict[str, Api]
    """The same firm and user on each read path."""
    bakery: str
    soren: str

    async def ask(
        self, read_path: str, query: str, variables: dict[str, Any]
    ) -> tuple[dict[str, Any], str | None]:
        """The body and the read path the app reports."""
        response = await self.paths[read_path].post(query, variables)
        assert response.status_code == 200, response.text
        return response.json(), response.headers.get("x-read-path")


async def _contact(api: Api, first: str, last: str, email: str, accounts: list[str]) -> str:
    payload = await api.ok(
        "createContact",
        {
            "firstName": first,
            "lastName": last,
            "email": email,
            "extraEmails": [f"home.{email}"],
            "phone": "+4520123456",
            "links": [
                {"accountId": account, "roles": ["COMMERCIAL"], "description": "CEO"}
                for account in accounts
            ],
        },
        "contact { id }",
    )
    contact: str = payload["contact"]["id"]
    await api.ok(
        "setCustomFieldValues",
        {"contactId": contact, "values": [{"key": "birthday", "value": "1813-05-05"}]},
    )
    return contact


async def _build(api: Api) -> tuple[str, str]:
    await api.enable_ownership()
    member, _ = await api.staff("VIEW_ALL_ACCOUNTS", name="Regine Olsen")
    owner = await api.add_owner(user_id=member)
    for entity, key, type_ in (("CONTACT", "birthday", "DATE"), ("ACCOUNT", "vat", "TEXT")):
        await api.ok(
            "defineCustomField", {"entity": entity, "key": key, "label": key, "type": type_}
        )
    accounts = []
    for name in ("Bageriet Solsikken", "Kierkegaard Family", "Mølle ApS"):
        account = await api.create_account(name, ownerId=owner, tags=["vip", "b2b"])
        await api.ok("assignTeamMember", {"accountId": account["id"], "userId": member})
        await api.ok(
            "setCustomFieldValues",
            {"accountId": account["id"], "values": [{"key": "vat", "value": "DK12345678"}]},
        )
        accounts.append(account["id"])
    bakery, family, mill = accounts
    soren = await _contact(api, "Søren", "Kierkegaard", "soren@example.com", [bakery, family])
    await _contact(api, "Peter", "Lund", "peter@example.com", [bakery, mill])
    await _contact(api, "Ane", "Sørensdatter", "ane@example.com", [family])
    return bakery, soren


@pytest.fixture
async def firm(database: Database) -> AsyncIterator[Firm]:
    async with new_firm(database) as api:
        bakery, soren = await _build(api)
        generic = settings_for(database.url, planned_reads=False)
        async with served_with(api, generic) as on_generic:
            yield Firm({"planned": api, "generic": on_generic}, bakery, soren)


Variables = Callable[[Firm], dict[str, Any]]
PAGES: dict[str, tuple[str, Variables, int]] = {
    # relatedAccounts, contacts, and each contact's accounts with their roles
    "account-page": (ACCOUNT_PAGE, lambda firm: {"id": firm.bakery}, 50 + 25 + 25 * (25 + 25 * 2)),
    # per account: tags, teamMembers, contacts with roles and custom fields, relatedAccounts,
    # customFields
    "dashboard-with-contacts-custom-fields": (
        CUSTOM_FIELDS_DASHBOARD,
        lambda firm: {"first": 50},
        50 * (1 + 50 + 25 + 25 * (1 + 2 + 25) + 50 + 25),
    ),
    # per account: tags, teamMembers, contacts with roles and emails, relatedAccounts
    "dashboard-of-the-mixed-load": (
        MIXED_LOAD_DASHBOARD,
        lambda firm: {},
        50 * (1 + 50 + 25 + 25 * (1 + 2 + 10) + 50),
    ),
    # emails, customFields, history with changes, accounts with roles, tags and teamMembers
    "contact-page": (
        CONTACT_PAGE,
        lambda firm: {"id": firm.soren},
        10 + 25 + 10 * (1 + 250) + 25 * (1 + 2 + 50 + 25),
    ),
}
BOMBS: dict[str, tuple[str, Variables, int]] = {
    "related-accounts-three-deep": (
        RELATED_THREE_DEEP,
        lambda firm: {},
        100 * (1 + 50 + 50**2 + 50**3),
    ),
    "one-accounts-related-accounts-three-deep": (
        ONE_ACCOUNT_RELATED_THREE_DEEP,
        lambda firm: {"id": firm.bakery},
        50 + 50**2 + 50**3,
    ),
    "accounts-contacts-accounts-related-accounts": (
        ACCOUNTS_CONTACTS_ACCOUNTS_RELATED,
        lambda firm: {},
        100 * (1 + 25 + 25**2 + 25**2 * 50),
    ),
    "99-aliased-histories": (ALIASED_HISTORIES, lambda firm: {}, 100 + 100 * 99 * 100),
}


@pytest.mark.parametrize("read_path", READ_PATHS)
@pytest.mark.parametrize("page", list(PAGES))
async def test_a_page_is_answered_at_the_default_node_limit(
    firm: Firm, page: str, read_path: str
) -> None:
    query, variables, estimate = PAGES[page]

    body, answered_by = await firm.ask(read_path, query, variables(firm))

    assert "errors" not in body, body["errors"]
    assert body["extensions"]["cost"]["requestedNodes"] == estimate
    assert 0 < body["extensions"]["cost"]["actualNodes"] <= estimate
    assert answered_by == read_path


async def test_the_account_page_shows_each_contacts_other_accounts(firm: Firm) -> None:
    body, _ = await firm.ask("planned", ACCOUNT_PAGE, {"id": firm.bakery})

    account = body["data"]["account"]
    assert [related["name"] for related in account["relatedAccounts"]] == [
        "Kierkegaard Family",
        "Mølle ApS",
    ]
    assert {
        link["contact"]["fullName"]: [
            other["account"]["name"] for other in link["contact"]["accounts"]
        ]
        for link in account["contacts"]
    } == {
        "Søren Kierkegaard": ["Bageriet Solsikken", "Kierkegaard Family"],
        "Peter Lund": ["Bageriet Solsikken", "Mølle ApS"],
    }


@pytest.mark.parametrize("read_path", READ_PATHS)
@pytest.mark.parametrize("bomb", list(BOMBS))
async def test_a_nested_bomb_is_refused_before_any_statement_reads_data(
    firm: Firm, bomb: str, read_path: str
) -> None:
    query, variables, estimate = BOMBS[bomb]

    with count_statements(firm.paths[read_path].db) as statements:
        body, _ = await firm.ask(read_path, query, variables(firm))

    [error] = body["errors"]
    assert error["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "requestedNodes": estimate,
        "maxNodes": 50_000,
    }
    assert body["data"] is None
    assert body["extensions"]["cost"] == {"requestedNodes": estimate, "actualNodes": 0}
    touching_data = [
        statement
        for statement in statements
        if any(table in statement.lower() for table in ("account", "contact", "audit"))
    ]
    assert touching_data == []
