"""Limits on lists and search text (API.md §7): a list in any input holds at most 250 items, an
account at most 50 tags, a SELECT field at most 200 options, a search at most 200 characters.
At each maximum the request succeeds; one more is refused with a clear code and nothing is
stored."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from clientgraph.db.engine import Database
from clientgraph.ids import encode_id
from clientgraph.settings import Settings

from tests.support import SECRET, Api, new_firm
from tests.test_bad_input import snapshot

MAX_INPUT_LIST = 250
MAX_TAGS = 50
MAX_OPTIONS = 200
MAX_SEARCH = 200
TOO_LONG = {"code": "BAD_USER_INPUT", "reason": "TOO_LONG"}

World = dict[str, str]
Build = Callable[[int, World], dict[str, Any]]


@pytest.fixture
async def world(api: Api) -> World:
    """An account with one tag, and a notification for the caller (assigned to its team)."""
    account = (await api.create_account("Acme", tags=["old"]))["id"]
    me = encode_id("User", api.user_id)
    await api.ok("assignTeamMember", {"accountId": account, "userId": me})
    notes = await api.data("{ viewer { notifications { nodes { id } } } }")
    return {"account": account, "notification": notes["viewer"]["notifications"]["nodes"][0]["id"]}


def texts(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{index:03}" for index in range(count)]


def too_long(body: dict[str, Any], maximum: int) -> dict[str, Any]:
    """The one error of a response refused as TOO_LONG, after checking it names `maximum`."""
    assert body.get("data") is None, body
    [error] = body["errors"]
    assert error["extensions"] == TOO_LONG, error
    assert str(maximum) in error["message"], error
    return error


def assert_refused_before_any_resolver(body: dict[str, Any], maximum: int) -> None:
    """TOO_LONG, and from no resolver: a resolver's error has the path of its field."""
    assert "path" not in too_long(body, maximum)


# --- lists that are stored: tags of an account, options of a SELECT field --------------------

ACCOUNT_TAGS = "query($id: ID!) { account(id: $id) { tags } }"
DEFINITIONS = "{ customFieldDefinitions(entity: ACCOUNT) { key options } }"
SELECT_FIELD = {"entity": "ACCOUNT", "key": "region", "label": "Region", "type": "SELECT"}
# name: (maximum, mutation, input for n items, field of the user error)
STORED: dict[str, tuple[int, str, Build, list[str]]] = {
    "createAccount-tags": (
        MAX_TAGS,
        "createAccount",
        lambda n, _: {"name": "Beta", "tags": texts("tag", n)},
        ["tags"],
    ),
    "updateAccount-tags": (
        MAX_TAGS,
        "updateAccount",
        lambda n, world: {"accountId": world["account"], "tags": texts("tag", n)},
        ["tags"],
    ),
    "defineCustomField-options": (
        MAX_OPTIONS,
        "defineCustomField",
        lambda n, _: SELECT_FIELD | {"options": texts("Option ", n)},
        ["options"],
    ),
}
SELECTIONS = {
    "createAccount": "account { tags }",
    "updateAccount": "account { tags }",
    "defineCustomField": "definition { options }",
}


async def stored_list(api: Api, payload: dict[str, Any]) -> list[str]:
    """The list the payload reports, read back from the service afterwards."""
    if "definition" in payload:
        definitions = (await api.data(DEFINITIONS))["customFieldDefinitions"]
        return next(field["options"] for field in definitions if field["key"] == "region")
    account = payload["account"]
    read = await api.data(ACCOUNT_TAGS, {"id": account["id"]}) if "id" in account else None
    return read["account"]["tags"] if read else account["tags"]


@pytest.mark.parametrize("case", list(STORED))
async def test_a_stored_list_at_its_maximum_is_stored_whole(
    api: Api, world: World, case: str
) -> None:
    maximum, mutation, build, _ = STORED[case]
    payload = await api.ok(mutation, build(maximum, world), SELECTIONS[mutation])
    assert len(await stored_list(api, payload)) == maximum


@pytest.mark.parametrize("case", list(STORED))
async def test_a_stored_list_one_over_its_maximum_is_too_long_and_nothing_is_stored(
    api: Api, world: World, case: str
) -> None:
    maximum, mutation, build, field = STORED[case]
    before = await snapshot(api)

    payload = await api.mutate(mutation, build(maximum + 1, world))

    [error] = payload["userErrors"]
    assert (error["field"], error["code"]) == (field, "TOO_LONG")
    assert str(maximum) in error["message"]
    assert await snapshot(api) == before


async def test_tags_count_once_however_often_they_are_given(api: Api, world: World) -> None:
    tags = [*texts("tag", MAX_TAGS), "tag000", " tag001 "]
    payload = await api.ok(
        "updateAccount", {"accountId": world["account"], "tags": tags}, "account { tags }"
    )
    assert payload["account"]["tags"] == texts("tag", MAX_TAGS)


# --- any list in any input -------------------------------------------------------------------


def mutation(name: str, selection: str = "") -> str:
    input_type = name[0].upper() + name[1:] + "Input"
    return (
        f"mutation($input: {input_type}!) {{ {name}(input: $input) "
        f"{{ {selection} userErrors {{ field code message }} }} }}"
    )


def literal_types(count: int) -> str:
    types = ", ".join(["COMPANY"] * count)
    return f"{{ accounts(filter: {{types: [{types}]}}) {{ totalCount }} }}"


OWNER_IDS = "query($ids: [ID!]) { accounts(filter: {ownerIds: $ids}) { totalCount } }"
TYPES = "query($types: [AccountType!]) { accounts(filter: {types: $types}) { totalCount } }"
TAGS = "query($tags: [String!]) { accounts(filter: {tags: $tags}) { totalCount } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
CONTACT = {"firstName": "Ada", "lastName": "Lund", "email": "ada@example.com"}
# name: (document for n items, variables for n items)
ACCEPTED_AT_MAXIMUM: dict[str, tuple[Callable[[int], str], Build]] = {
    "markNotificationsRead-ids": (
        lambda _: mutation("markNotificationsRead"),
        lambda n, world: {"input": {"ids": [world["notification"]] * n}},
    ),
    "createUser-permissions": (
        lambda _: mutation("createUser"),
        lambda n, _: {
            "input": {
                "name": "Nora",
                "email": "nora@example.com",
                "permissions": ["CREATE_ACCOUNTS"] * n,
            }
        },
    ),
    "accounts-ownerIds": (
        lambda _: OWNER_IDS,
        lambda n, _: {"ids": [encode_id("ClientOwner", uuid.uuid4()) for _ in range(n)]},
    ),
    "accounts-types": (lambda _: TYPES, lambda n, _: {"types": ["COMPANY"] * n}),
    "accounts-tags": (lambda _: TAGS, lambda n, _: {"tags": ["old"] * n}),
    "accounts-types-written-in-the-query": (literal_types, lambda n, _: {}),
}
# Lists not tried at the maximum (a stricter rule of their own refuses them there, or 250
# distinct valid items would need setting up): only one over it.
REFUSED_OVER_MAXIMUM: dict[str, tuple[Callable[[int], str], Build]] = {
    "nodes-ids": (lambda _: NODES, lambda n, world: {"ids": [world["account"]] * n}),
    "createContact-extraEmails": (
        lambda _: mutation("createContact"),
        lambda n, _: {
            "input": CONTACT | {"extraEmails": [f"ada{i}@example.com" for i in range(n)]}
        },
    ),
    "createAccount-tags": (
        lambda _: mutation("createAccount"),
        lambda n, _: {"input": {"name": "Beta", "tags": texts("tag", n)}},
    ),
    "createAccount-contacts": (
        lambda _: mutation("createAccount"),
        lambda n, _: {"input": {"name": "Beta", "contacts": [{"newContact": CONTACT}] * n}},
    ),
    "setCustomFieldValues-values": (
        lambda _: mutation("setCustomFieldValues"),
        lambda n, world: {
            "input": {"accountId": world["account"], "values": [{"key": "x", "value": "1"}] * n}
        },
    ),
    "createAccount-contacts.0.roles": (
        lambda _: mutation("createAccount"),
        lambda n, _: {
            "input": {
                "name": "Beta",
                "contacts": [{"newContact": CONTACT, "roles": ["COMMERCIAL"] * n}],
            }
        },
    ),
}


@pytest.mark.parametrize("case", list(ACCEPTED_AT_MAXIMUM))
async def test_an_input_list_at_the_maximum_is_accepted(api: Api, world: World, case: str) -> None:
    document, variables = ACCEPTED_AT_MAXIMUM[case]
    data = await api.data(document(MAX_INPUT_LIST), variables(MAX_INPUT_LIST, world))
    payload = next(iter(data.values()))
    assert payload.get("userErrors", []) == [], payload


@pytest.mark.parametrize("case", list(ACCEPTED_AT_MAXIMUM | REFUSED_OVER_MAXIMUM))
async def test_an_input_list_over_the_maximum_is_refused_before_any_work(
    api: Api, world: World, case: str
) -> None:
    document, variables = (ACCEPTED_AT_MAXIMUM | REFUSED_OVER_MAXIMUM)[case]
    before = await snapshot(api)

    body = await api.execute(document(MAX_INPUT_LIST + 1), variables(MAX_INPUT_LIST + 1, world))

    assert_refused_before_any_resolver(body, MAX_INPUT_LIST)
    assert await snapshot(api) == before


async def test_a_list_written_in_the_query_is_located(api: Api) -> None:
    document = literal_types(MAX_INPUT_LIST + 1)
    body = await api.execute(document)
    assert body["errors"][0]["locations"] == [{"line": 1, "column": document.index("[") + 1}]


# --- search text -----------------------------------------------------------------------------

SEARCHES = {
    "accounts": "accounts(filter: {search: $text})",
    "contacts": "contacts(filter: {search: $text})",
    "users": "users(search: $text)",
    "clientOwners": "clientOwners(search: $text)",
}


def search(field: str) -> str:
    return f"query($text: String) {{ {SEARCHES[field]} {{ totalCount }} }}"


@pytest.mark.parametrize("field", list(SEARCHES))
async def test_a_search_of_the_maximum_length_in_characters_answers(api: Api, field: str) -> None:
    text = "ø" * MAX_SEARCH
    data = await api.data(search(field), {"text": f"  {text}  "})
    assert data == {field: {"totalCount": 0}}


@pytest.mark.parametrize("field", list(SEARCHES))
@pytest.mark.parametrize("length", [MAX_SEARCH + 1, 1_000_000], ids=["one-over", "one-megabyte"])
async def test_a_longer_search_is_too_long(api: Api, field: str, length: int) -> None:
    body = await api.execute(search(field), {"text": "a" * length})
    error = too_long(body, MAX_SEARCH)
    assert f"at most {MAX_SEARCH} characters" in error["message"]


# --- the limits are settings -----------------------------------------------------------------

SMALL_LIMITS = {
    "CLIENTGRAPH_MAX_TAGS_PER_ACCOUNT": "2",
    "CLIENTGRAPH_MAX_SELECT_OPTIONS": "2",
    "CLIENTGRAPH_MAX_INPUT_LIST": "4",
    "CLIENTGRAPH_MAX_SEARCH_LENGTH": "3",
}


async def test_each_limit_follows_its_setting(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SMALL_LIMITS.items():
        monkeypatch.setenv(name, value)
    settings = Settings(database_url=database.url, secret=SECRET)
    async with new_firm(database, settings=settings) as api:
        tags = await api.mutate("createAccount", {"name": "Acme", "tags": texts("t", 3)})
        options = await api.mutate("defineCustomField", SELECT_FIELD | {"options": ["a", "b", "c"]})
        assert [error["code"] for error in tags["userErrors"]] == ["TOO_LONG"]
        assert [error["code"] for error in options["userErrors"]] == ["TOO_LONG"]
        too_long(await api.execute(TYPES, {"types": ["COMPANY"] * 5}), 4)
        too_long(await api.execute(search("users"), {"text": "abcd"}), 3)
        assert await api.data(search("users"), {"text": "abc"}) == {"users": {"totalCount": 0}}
