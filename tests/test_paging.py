"""Relay connections: keyset paging in every account order, both ways, and its limits."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from tests.support import Api, top_level_codes

ACCOUNTS_PAGE = """
query($first: Int, $after: String, $last: Int, $before: String, $orderBy: AccountOrder) {
  accounts(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy,
           filter: {types: [COMPANY, INDIVIDUAL]}) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id name customerNumber createdAt updatedAt owner { name } } }
  }
}
"""
ACCOUNTS_DEFAULT_PAGE = """
{ accounts { totalCount pageInfo { hasNextPage hasPreviousPage } nodes { id } } }
"""
ACCOUNTS_WITH_ARGUMENTS = """
query($first: Int, $after: String, $last: Int, $before: String, $orderBy: AccountOrder) {
  accounts(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy) {
    nodes { id }
  }
}
"""
OWNERS_PAGE = """
query($first: Int, $after: String, $search: String) {
  clientOwners(first: $first, after: $after, search: $search) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { name } }
  }
}
"""
USERS_PAGE = """
query($first: Int, $after: String, $search: String) {
  users(first: $first, after: $after, search: $search) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { name email } }
  }
}
"""
HISTORY_PAGE = """
query($id: ID!, $first: Int, $after: String) {
  account(id: $id) {
    history(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { action changes { field to } } }
    }
  }
}
"""

# name, customer number, type: ties on names (also differing only in case) and on null numbers.
SEED = [
    ("Gamma", "C3", "COMPANY"),
    ("beta", None, "INDIVIDUAL"),
    ("Alpha", "C10", "COMPANY"),
    ("Gamma", None, "COMPANY"),
    ("Beta", "C1", "INDIVIDUAL"),
    ("delta", "C2", "COMPANY"),
    ("Epsilon", None, "INDIVIDUAL"),
]
# Left out by the filter of ACCOUNTS_PAGE, so totalCount must not count it.
EXCLUDED = ("Aardvark", "C0", "OTHER")
# Which seed accounts each address-book entry owns; the rest stay unowned.
OWNED_BY = {"Carl Dahl": [0, 2], "anna Berg": [1, 5]}


def _nulls_last(value: str | None) -> tuple[bool, str]:
    return (value is None, (value or "").casefold())


SORT_KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "NAME": lambda node: node["name"].casefold(),
    "CUSTOMER_NUMBER": lambda node: _nulls_last(node["customerNumber"]),
    "CREATED_AT": lambda node: datetime.fromisoformat(node["createdAt"]),
    "UPDATED_AT": lambda node: datetime.fromisoformat(node["updatedAt"]),
    "OWNER_NAME": lambda node: _nulls_last(node["owner"] and node["owner"]["name"]),
}


async def seed_accounts(api: Api) -> None:
    """SEED and EXCLUDED, with owners for some, and updates so that the update order differs
    from the creation order."""
    ids = []
    for name, number, kind in SEED:
        account = await api.create_account(name, customerNumber=number, type=kind)
        ids.append(account["id"])
    excluded = await api.create_account(EXCLUDED[0], customerNumber=EXCLUDED[1], type=EXCLUDED[2])
    await api.enable_ownership()
    for owner_name, indexes in OWNED_BY.items():
        owner = await api.add_owner(name=owner_name)
        for index in indexes:
            await api.ok("assignClientOwner", {"accountId": ids[index], "ownerId": owner})
    await api.ok("assignClientOwner", {"accountId": excluded["id"], "ownerId": owner})
    for index in (6, 3):
        await api.ok("updateAccount", {"accountId": ids[index], "tags": ["touched"]})


async def accounts_page(api: Api, **variables: Any) -> dict[str, Any]:
    return (await api.data(ACCOUNTS_PAGE, variables))["accounts"]


def node_ids(page: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in page["edges"]]


def assert_cursors_match_edges(page: dict[str, Any]) -> None:
    assert page["edges"], "a page of a walk is never empty"
    assert page["pageInfo"]["startCursor"] == page["edges"][0]["cursor"]
    assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]


ORDERS = [(field, direction) for field in SORT_KEYS for direction in ("ASC", "DESC")]


@pytest.mark.parametrize(("field", "direction"), ORDERS)
async def test_walking_forward_two_at_a_time_yields_every_account_once_in_order(
    api: Api, field: str, direction: str
) -> None:
    await seed_accounts(api)
    order = {"field": field, "direction": direction}
    whole = await accounts_page(api, first=100, orderBy=order)

    walked: list[dict[str, Any]] = []
    after = None
    pages = 0
    while True:
        page = await accounts_page(api, first=2, after=after, orderBy=order)
        assert_cursors_match_edges(page)
        assert page["totalCount"] == len(SEED)
        assert page["pageInfo"]["hasPreviousPage"] == (after is not None)
        walked.extend(edge["node"] for edge in page["edges"])
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        assert len(page["edges"]) == 2
        after = page["pageInfo"]["endCursor"]

    assert pages == 4
    assert whole["totalCount"] == len(SEED)
    assert whole["pageInfo"]["hasNextPage"] is False
    assert whole["pageInfo"]["hasPreviousPage"] is False
    assert [node["id"] for node in walked] == node_ids(whole)
    assert len({node["id"] for node in walked}) == len(SEED)
    assert sorted(node["name"] for node in walked) == sorted(name for name, _, _ in SEED)
    keys = [SORT_KEYS[field](node) for node in walked]
    assert keys == sorted(keys, reverse=direction == "DESC")


@pytest.mark.parametrize(("field", "direction"), ORDERS)
async def test_walking_backward_two_at_a_time_yields_the_same_sequence(
    api: Api, field: str, direction: str
) -> None:
    await seed_accounts(api)
    order = {"field": field, "direction": direction}
    whole = await accounts_page(api, first=100, orderBy=order)

    walked: list[str] = []
    before = None
    pages = 0
    while True:
        page = await accounts_page(api, last=2, before=before, orderBy=order)
        assert_cursors_match_edges(page)
        assert page["totalCount"] == len(SEED)
        assert page["pageInfo"]["hasNextPage"] == (before is not None)
        walked = node_ids(page) + walked
        pages += 1
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        assert len(page["edges"]) == 2
        before = page["pageInfo"]["startCursor"]

    assert pages == 4
    assert walked == node_ids(whole)


async def test_descending_is_the_exact_reverse_of_ascending(api: Api) -> None:
    await seed_accounts(api)

    ascending = await accounts_page(
        api, first=100, orderBy={"field": "CREATED_AT", "direction": "ASC"}
    )
    descending = await accounts_page(
        api, first=100, orderBy={"field": "CREATED_AT", "direction": "DESC"}
    )

    assert node_ids(descending) == list(reversed(node_ids(ascending)))


async def test_without_an_order_accounts_come_by_name(api: Api) -> None:
    for name in ("Gamma", "alpha", "Beta"):
        await api.create_account(name)

    data = await api.data("{ accounts { nodes { name } } }")

    assert [node["name"] for node in data["accounts"]["nodes"]] == ["alpha", "Beta", "Gamma"]


@pytest.mark.parametrize(
    "arguments",
    [{"first": 101}, {"last": 101}, {"first": 2, "last": 2}, {"first": -1}],
    ids=["first-101", "last-101", "first-and-last", "negative-first"],
)
async def test_page_arguments_outside_the_rules_are_bad_user_input(
    api: Api, arguments: dict[str, Any]
) -> None:
    await api.create_account("Acme")

    body = await api.execute(ACCOUNTS_WITH_ARGUMENTS, arguments)

    assert top_level_codes(body) == ["BAD_USER_INPUT"]
    assert body["data"] is None


async def test_a_page_of_one_hundred_is_allowed(api: Api) -> None:
    await api.create_account("Acme")

    body = await api.execute(ACCOUNTS_WITH_ARGUMENTS, {"first": 100})

    assert "errors" not in body
    assert len(body["data"]["accounts"]["nodes"]) == 1


def _forged(values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


GARBAGE_CURSORS = {
    "not-base64": "garbage!",
    "not-json": base64.urlsafe_b64encode(b"not json").decode(),
    "json-object": _forged({"a": 1}),
    "wrong-length": _forged(["acme"]),
    "bad-uuid": _forged(["acme", "not-a-uuid"]),
    "number-for-name": _forged([42, "00000000-0000-0000-0000-000000000000"]),
}


@pytest.mark.parametrize("cursor", list(GARBAGE_CURSORS.values()), ids=list(GARBAGE_CURSORS))
@pytest.mark.parametrize("argument", ["after", "before"])
async def test_a_garbage_cursor_is_bad_user_input(api: Api, argument: str, cursor: str) -> None:
    await api.create_account("Acme")

    body = await api.execute(ACCOUNTS_WITH_ARGUMENTS, {argument: cursor, "first": 2})

    assert top_level_codes(body) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize(
    "cursor",
    [
        _forged([42, "00000000-0000-0000-0000-000000000000"]),
        _forged(["2024-01-01T00:00:00", "00000000-0000-0000-0000-000000000000"]),
        _forged(["yesterday", "00000000-0000-0000-0000-000000000000"]),
    ],
    ids=["number-for-time", "time-without-zone", "words-for-time"],
)
async def test_a_forged_time_cursor_is_bad_user_input(api: Api, cursor: str) -> None:
    await api.create_account("Acme")

    body = await api.execute(
        ACCOUNTS_WITH_ARGUMENTS,
        {"after": cursor, "first": 2, "orderBy": {"field": "CREATED_AT", "direction": "ASC"}},
    )

    assert top_level_codes(body) == ["BAD_USER_INPUT"]


async def test_the_default_page_size_is_fifty(api: Api) -> None:
    for index in range(51):
        await api.create_account(f"Account {index:02}")

    page = (await api.data(ACCOUNTS_DEFAULT_PAGE))["accounts"]

    assert len(page["nodes"]) == 50
    assert page["totalCount"] == 51
    assert page["pageInfo"] == {"hasNextPage": True, "hasPreviousPage": False}


async def walk(
    api: Api, query: str, path: list[str], **variables: Any
) -> tuple[list[dict[str, Any]], int]:
    """Every node of the connection at `path`, two at a time, checking each page;
    (nodes, totalCount)."""
    nodes: list[dict[str, Any]] = []
    after = None
    total = None
    while True:
        page = await api.data(query, {**variables, "first": 2, "after": after})
        for key in path:
            page = page[key]
        assert_cursors_match_edges(page)
        assert page["pageInfo"]["hasPreviousPage"] == (after is not None)
        assert total is None or page["totalCount"] == total
        total = page["totalCount"]
        nodes.extend(edge["node"] for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            return nodes, total
        after = page["pageInfo"]["endCursor"]


async def test_client_owners_page_by_name_without_gaps_or_repeats(api: Api) -> None:
    await api.enable_ownership()
    for name in ("Erik Sand", "anna Berg", "Carl Dahl", "Bo Ek", "Dora Berggren"):
        await api.add_owner(name=name)

    nodes, total = await walk(api, OWNERS_PAGE, ["clientOwners"])

    assert [node["name"] for node in nodes] == [
        "anna Berg",
        "Bo Ek",
        "Carl Dahl",
        "Dora Berggren",
        "Erik Sand",
    ]
    assert total == 5


async def test_client_owners_search_filters_by_name_ignoring_case(api: Api) -> None:
    await api.enable_ownership()
    for name in ("Erik Sand", "anna Berg", "Carl Dahl", "Bo Ek", "Dora Berggren"):
        await api.add_owner(name=name)

    nodes, total = await walk(api, OWNERS_PAGE, ["clientOwners"], search="BERG")

    assert [node["name"] for node in nodes] == ["anna Berg", "Dora Berggren"]
    assert total == 2


async def test_account_history_pages_newest_first_without_gaps_or_repeats(api: Api) -> None:
    account = await api.create_account("Name 0")
    for number in range(1, 5):
        await api.ok("updateAccount", {"accountId": account["id"], "name": f"Name {number}"})

    nodes, total = await walk(api, HISTORY_PAGE, ["account", "history"], id=account["id"])

    assert [node["changes"][0]["to"] for node in nodes] == [f"Name {n}" for n in (4, 3, 2, 1, 0)]
    assert [node["action"] for node in nodes] == ["account.updated"] * 4 + ["account.created"]
    assert total == 5


USER_NAMES = ("Erik Sand", "anna Berg", "Carl Dahl", "Bo Ek")


async def test_users_page_by_name_without_gaps_or_repeats(api: Api) -> None:
    for name in USER_NAMES:
        await api.staff(name=name)

    nodes, total = await walk(api, USERS_PAGE, ["users"])

    assert [node["name"] for node in nodes] == [
        "anna Berg",
        "Bo Ek",
        "Carl Dahl",
        "Erik Sand",
        "Firm Owner",
    ]
    assert total == 5


async def test_users_search_filters_the_pages(api: Api) -> None:
    for name in (*USER_NAMES, "Dora Berggren"):
        await api.staff(name=name)

    nodes, total = await walk(api, USERS_PAGE, ["users"], search="berg")

    assert [node["name"] for node in nodes] == ["anna Berg", "Dora Berggren"]
    assert total == 2


async def test_a_forged_cursor_with_an_integer_beyond_64_bits_is_bad_user_input(
    api: Api,
) -> None:
    await api.create_account("Acme")
    cursor = base64.urlsafe_b64encode(
        json.dumps([2**63, "", "00000000-0000-0000-0000-000000000000"]).encode()
    ).decode()

    body = await api.execute(
        ACCOUNTS_WITH_ARGUMENTS,
        {"first": 2, "after": cursor, "orderBy": {"field": "CUSTOMER_NUMBER", "direction": "ASC"}},
    )

    assert top_level_codes(body) == ["BAD_USER_INPUT"]
