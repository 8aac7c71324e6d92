"""The node limit: every query is counted before it runs (GitHub's method), refused above
`max_nodes`, and every response reports its cost (Shopify's `extensions.cost`). Every plain
list has a maximum, which holds when the query runs and when a mutation would pass it."""

from __future__ import annotations

from typing import Any

import pytest
from clientgraph.db.engine import Database
from clientgraph.ids import encode_id
from clientgraph.resolvers.enums import Permission
from clientgraph.schema.graphql_core import graphql_schema
from clientgraph.schema.schema import build_schema
from clientgraph.settings import Settings

from tests.support import Api, count_statements, new_firm, settings_for

KILLER = "{accounts(first:100){nodes{relatedAccounts{relatedAccounts{relatedAccounts{name}}}}}}"
KILLER_NODES = 100 * (1 + 50 + 50**2 + 50**3)
MISSING_ACCOUNT = encode_id("Account", "00000000-0000-4000-8000-000000000000")
MISSING_CONTACT = encode_id("Contact", "00000000-0000-4000-8000-000000000000")
ACCOUNTS_WITH_TAGS = "{ accounts(first: 10) { nodes { name tags } } }"
RELATED = "query($id: ID!) { account(id: $id) { relatedAccounts { name } } }"
CREATE_CONTACT = "createContact"
CONTACT_ID = "contact { id }"


def cost_of(body: dict[str, Any]) -> dict[str, int]:
    return body["extensions"]["cost"]


async def test_the_killer_query_is_refused_before_any_statement_reads_data(api: Api) -> None:
    with count_statements(api.db) as statements:
        body = await api.execute(KILLER)

    [error] = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert f"{KILLER_NODES:,}" in error["message"] and "50,000" in error["message"]
    assert body["data"] is None
    assert cost_of(body) == {"requestedNodes": KILLER_NODES, "actualNodes": 0}
    assert not [statement for statement in statements if "account" in statement.lower()]


async def test_a_mutation_too_complex_to_answer_changes_nothing(api: Api) -> None:
    selection = "account { relatedAccounts { relatedAccounts { relatedAccounts { id } } } }"

    body = await api.execute(
        f'mutation {{ createAccount(input: {{name: "Acme"}}) {{ {selection} }} }}'
    )

    assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COMPLEX"]
    assert cost_of(body)["requestedNodes"] == 50 + 50**2 + 50**3
    assert (await api.data("{ accounts { totalCount } }"))["accounts"]["totalCount"] == 0


PERMISSIONS = len(Permission)
"""The most items a `permissions` list holds: every right there is."""
COUNTED = [
    pytest.param("{ accounts { nodes { id } } }", {}, 50, id="connection-default-page"),
    pytest.param("{ accounts(first: 10) { edges { node { id } } } }", {}, 10, id="first"),
    pytest.param("{ accounts(last: 7) { nodes { id } } }", {}, 7, id="last"),
    pytest.param(
        "{ accounts(first: 10) "
        "{ totalCount pageInfo { hasNextPage } edges { cursor } nodes { id } } }",
        {},
        10,
        id="edges-and-nodes-count-once",
    ),
    pytest.param(
        "{ clientOwners(first: 10) { nodes { accounts(first: 20) "
        "{ nodes { history(first: 5) { nodes { id } } } } } } }",
        {},
        10 + 10 * 20 + 10 * 20 * 5,
        id="nested-connections",
    ),
    pytest.param(
        "query($id: ID!) { account(id: $id) { tags teamMembers { permissions } "
        "contacts { roles } relatedAccounts { id } customFields { key } } }",
        {"id": MISSING_ACCOUNT},
        50 + 25 + 25 * PERMISSIONS + 25 + 25 * 2 + 50 + 25,
        id="plain-lists-at-their-maximum",
    ),
    pytest.param(
        "query($id: ID!) { contact(id: $id) { emails accounts { roles } customFields { key } } }",
        {"id": MISSING_CONTACT},
        10 + 25 + 25 * 2 + 25,
        id="contact-lists-at-their-maximum",
    ),
    pytest.param('{ nodes(ids: ["a", "b", "c"]) { id } }', {}, 3, id="nodes-count-their-ids"),
    pytest.param(
        "query($id: ID!) { node(id: $id) { ... on Account { tags } ... on Contact { emails } } }",
        {"id": MISSING_ACCOUNT},
        50,
        id="abstract-type-counts-its-costliest-type",
    ),
    pytest.param(
        "{ accounts(first: 3) { nodes { ...Lists } } } "
        "fragment Lists on Account { tags relatedAccounts { tags } }",
        {},
        3 + 3 * 50 + 3 * 50 + 3 * 50 * 50,
        id="named-fragment",
    ),
    pytest.param(
        "{ accounts(first: 3) { nodes { ... on Account { tags } ... { tags } } } }",
        {},
        3 + 3 * 50,
        id="inline-fragments-merge",
    ),
    pytest.param(
        "{ a: accounts(first: 2) { nodes { id } } b: accounts(first: 3) { nodes { id } } }",
        {},
        5,
        id="aliases-count-each",
    ),
    pytest.param(
        "{ accounts(first: 4) { nodes { id } } accounts(first: 4) { nodes { name } } }",
        {},
        4,
        id="same-field-twice-counts-once",
    ),
    pytest.param(
        "query($n: Int) { accounts(first: $n) { nodes { id } } }", {"n": 7}, 7, id="variable"
    ),
    pytest.param(
        "query($n: Int = 9) { accounts(first: $n) { nodes { id } } }",
        {},
        9,
        id="variable-default",
    ),
    pytest.param(
        "query($s: Boolean!) { accounts(first: 10) { nodes { tags @skip(if: $s) } } }",
        {"s": True},
        10,
        id="skipped",
    ),
    pytest.param(
        "query($s: Boolean!) { accounts(first: 10) { nodes { tags @skip(if: $s) } } }",
        {"s": False},
        10 + 10 * 50,
        id="not-skipped",
    ),
    pytest.param(
        "{ accounts(first: 10) @include(if: false) { nodes { id } } viewer { permissions } }",
        {},
        PERMISSIONS,
        id="not-included",
    ),
    pytest.param("{ __schema { types { fields { name } } } }", {}, 0, id="introspection"),
]


@pytest.mark.parametrize(("query", "variables", "expected"), COUNTED)
async def test_requested_nodes_are_counted_before_execution(
    api: Api, query: str, variables: dict[str, Any], expected: int
) -> None:
    body = await api.execute(query, variables)

    assert "errors" not in body, body["errors"]
    assert cost_of(body)["requestedNodes"] == expected


async def test_an_allowed_query_reports_requested_and_actual_nodes(api: Api) -> None:
    await api.create_account("Alpha", tags=["a", "b"])
    await api.create_account("Beta", tags=["c"])
    await api.create_account("Gamma")

    body = await api.execute(ACCOUNTS_WITH_TAGS)

    assert [n["tags"] for n in body["data"]["accounts"]["nodes"]] == [["a", "b"], ["c"], []]
    assert cost_of(body) == {"requestedNodes": 10 + 10 * 50, "actualNodes": 3 + 3}


async def test_cost_is_reported_on_a_response_with_errors(api: Api) -> None:
    _, staff_token = await api.staff("VIEW_ALL_ACCOUNTS")

    body = await api.execute(
        "{ apiKeys { id } accounts(first: 5) { nodes { id } } }", None, staff_token
    )

    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert cost_of(body) == {"requestedNodes": 100 + 5, "actualNodes": 0}


async def test_lists_under_a_position_an_error_nulled_are_not_counted(api: Api) -> None:
    """A contact's history above the page maximum nulls the account (each non-null parent
    in turn); its tags and contacts, read before the error, are not in the response."""
    account = await api.create_account("Alpha", tags=["a", "b"])
    await api.create_account("Beta")
    for last_name in ("One", "Two", "Three"):
        await api.ok(
            CREATE_CONTACT,
            {"firstName": "Ada", "lastName": last_name, "links": [{"accountId": account["id"]}]},
            CONTACT_ID,
        )
    query = """query($id: ID!) {
      node(id: $id) { ... on Account { tags contacts { contact { history(first: 101) {
        totalCount } } } } }
      accounts(first: 5) { nodes { id } }
    }"""

    body = await api.execute(query, {"id": account["id"]})

    assert body["data"]["node"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == ["BAD_USER_INPUT"]
    assert cost_of(body)["actualNodes"] == 2


async def test_an_invalid_query_reports_no_cost(api: Api) -> None:
    body = await api.execute("{ accounts { nodes { nope } } }")

    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert cost_of(body) == {"requestedNodes": 0, "actualNodes": 0}


async def test_max_nodes_is_a_setting(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIENTGRAPH_MAX_NODES", "10")
    assert Settings().max_nodes == 10
    async with new_firm(database, settings=settings_for(database.url, max_nodes=10)) as api:
        allowed = await api.execute("{ accounts(first: 10) { nodes { id } } }")
        refused = await api.execute("{ accounts(first: 11) { nodes { id } } }")

    assert "errors" not in allowed
    [error] = refused["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "11" in error["message"] and "10" in error["message"]


def test_every_list_field_has_a_maximum() -> None:
    from clientgraph.schema.cost import lists_without_maximum

    assert lists_without_maximum(graphql_schema(build_schema())) == []


async def _shared_contact_accounts(api: Api, names: list[str]) -> list[str]:
    contact = await api.ok(
        CREATE_CONTACT, {"firstName": "Shared", "lastName": "Person"}, CONTACT_ID
    )
    contact_id = contact["contact"]["id"]
    return [
        (await api.create_account(name, contacts=[{"contactId": contact_id}]))["id"]
        for name in names
    ]


async def test_related_accounts_are_cut_at_their_maximum_by_name(database: Database) -> None:
    settings = settings_for(database.url, max_related_accounts=3)
    async with new_firm(database, settings=settings) as api:
        first, *_ = await _shared_contact_accounts(
            api, ["Alpha", "Epsilon", "Delta", "Gamma", "Beta"]
        )

        body = await api.execute(RELATED, {"id": first})

    names = [account["name"] for account in body["data"]["account"]["relatedAccounts"]]
    assert names == ["Beta", "Delta", "Epsilon"]
    assert cost_of(body) == {"requestedNodes": 3, "actualNodes": 3}


async def test_a_team_cannot_grow_past_its_maximum(database: Database) -> None:
    async with new_firm(database, settings=settings_for(database.url, max_team_members=2)) as api:
        account = await api.create_account("Acme")
        users = [(await api.staff(name=f"User {i}"))[0] for i in range(3)]
        for user in users[:2]:
            await api.ok("assignTeamMember", {"accountId": account["id"], "userId": user})

        payload = await api.mutate(
            "assignTeamMember",
            {"accountId": account["id"], "userId": users[2]},
            "account { teamMembers { name } }",
        )

    [error] = payload["userErrors"]
    assert (error["field"], error["code"]) == (["accountId"], "TOO_LONG")
    assert "2 team members" in error["message"]
    assert payload["account"] is None


async def test_an_account_cannot_link_more_contacts_than_its_maximum(database: Database) -> None:
    settings = settings_for(database.url, max_account_contacts=2)
    async with new_firm(database, settings=settings) as api:
        account = await api.create_account(
            "Acme",
            contacts=[{"newContact": {"firstName": "A", "lastName": str(i)}} for i in range(2)],
        )
        extra = await api.ok(CREATE_CONTACT, {"firstName": "B", "lastName": "C"}, CONTACT_ID)

        payload = await api.mutate(
            "linkContact", {"accountId": account["id"], "contactId": extra["contact"]["id"]}
        )

    [error] = payload["userErrors"]
    assert (error["field"], error["code"]) == (["accountId"], "TOO_LONG")
    assert error["message"] == "Acme has 2 contacts; an account may have at most 2."


async def test_a_contact_cannot_link_more_accounts_than_its_maximum(database: Database) -> None:
    settings = settings_for(database.url, max_account_contacts=2)
    async with new_firm(database, settings=settings) as api:
        await _shared_contact_accounts(api, ["One", "Two"])
        contact_id = (await api.data("{ contacts { nodes { id } } }"))["contacts"]["nodes"][0]["id"]

        payload = await api.mutate(
            "createAccount", {"name": "Three", "contacts": [{"contactId": contact_id}]}
        )

    [error] = payload["userErrors"]
    assert (error["field"], error["code"]) == (["contacts", "0", "contactId"], "TOO_LONG")
    assert error["message"] == (
        "Shared Person is linked to 2 accounts; a contact may be linked to at most 2."
    )


async def test_a_new_contact_or_account_with_too_many_links_is_refused(database: Database) -> None:
    settings = settings_for(database.url, max_account_contacts=2)
    async with new_firm(database, settings=settings) as api:
        accounts = [(await api.create_account(f"Account {i}"))["id"] for i in range(3)]
        contact = await api.mutate(
            CREATE_CONTACT,
            {"firstName": "A", "lastName": "B", "links": [{"accountId": a} for a in accounts]},
        )
        account = await api.mutate(
            "createAccount",
            {
                "name": "Many",
                "contacts": [
                    {"newContact": {"firstName": "A", "lastName": str(i)}} for i in range(3)
                ],
            },
        )
        contacts = await api.data("{ contacts { totalCount } }")

    assert [(e["field"], e["code"]) for e in contact["userErrors"]] == [(["links"], "TOO_LONG")]
    assert [(e["field"], e["code"]) for e in account["userErrors"]] == [(["contacts"], "TOO_LONG")]
    assert contacts["contacts"]["totalCount"] == 0


async def test_custom_field_definitions_stop_at_their_maximum(database: Database) -> None:
    async with new_firm(database, settings=settings_for(database.url, max_custom_fields=2)) as api:
        for key in ("one", "two"):
            await api.ok(
                "defineCustomField", {"entity": "ACCOUNT", "key": key, "label": key, "type": "TEXT"}
            )
        refused = await api.mutate(
            "defineCustomField", {"entity": "ACCOUNT", "key": "three", "label": "3", "type": "TEXT"}
        )
        other_entity = await api.mutate(
            "defineCustomField", {"entity": "CONTACT", "key": "three", "label": "3", "type": "TEXT"}
        )

    [error] = refused["userErrors"]
    assert (error["field"], error["code"]) == (["entity"], "TOO_LONG")
    assert error["message"] == "ACCOUNT has 2 custom fields; a firm may define at most 2."
    assert other_entity["userErrors"] == []
