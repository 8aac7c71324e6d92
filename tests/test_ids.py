"""An object has one id, the one the service gives out (base64 of "Type:" and the lower-case
dashed uuid, standard alphabet, padded). Any other spelling of it finds nothing: `node` and
`nodes` answer null, typed queries null, filters match nothing, a mutation says NOT_FOUND. So
`node(id).id` is always the id asked for. Cursors, which hold ids, are held to the same rule."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from clientgraph.ids import encode_id

from tests.support import Api

B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def spellings(global_id: str) -> dict[str, str]:
    """Other spellings of `global_id`: each decoded by a lenient reader to the same object."""
    type_name, _, raw = base64.b64decode(global_id).decode().partition(":")
    value = uuid.UUID(raw)
    assert encode_id(type_name, value) == global_id
    found = {
        "uuid-upper-case": b64(f"{type_name}:{str(value).upper()}"),
        "uuid-in-braces": b64(f"{type_name}:{{{value}}}"),
        "uuid-without-dashes": b64(f"{type_name}:{value.hex}"),
        "uuid-as-urn": b64(f"{type_name}:{value.urn}"),
        "uuid-with-uuid-prefix": b64(f"{type_name}:uuid:{value}"),
        "uuid-dashes-elsewhere": b64(f"{type_name}:{value.hex[:4]}-{value.hex[4:]}----"),
        "type-lower-case": b64(f"{type_name.lower()}:{value}"),
        "space-before": " " + global_id,
        "newline-after": global_id + "\n",
        "garbage-after": global_id + "AAAA",
        "base64-after-padding": global_id + b64("x"),
        "extra-padding": global_id + "=",
    }
    if global_id.endswith("="):
        last = global_id.rstrip("=")[-1]
        unused_bit_set = B64_ALPHABET[B64_ALPHABET.index(last) ^ 1]
        found["base64-without-padding"] = global_id.rstrip("=")
        found["base64-unused-bits-set"] = global_id.replace(last + "=", unused_bit_set + "=")
    return found


ACCOUNT_SPELLINGS = list(spellings(encode_id("Account", uuid.uuid4())))
NODE = "query($id: ID!) { node(id: $id) { id } nodes(ids: [$id]) { id } }"
ACCOUNT = "query($id: ID!) { account(id: $id) { id name } }"
TYPES = ("Account", "Contact", "User", "ClientOwner", "Firm")


async def one_of_each(api: Api) -> dict[str, str]:
    """The id of an object of every type the caller can see."""
    await api.enable_ownership()
    owner = await api.add_owner(name="Olga Owner")
    contact = {"newContact": {"firstName": "Ada", "lastName": "Lund"}}
    account = (
        await api.ok(
            "createAccount",
            {"name": "Acme", "ownerId": owner, "contacts": [contact]},
            "account { id contacts { contact { id } } }",
        )
    )["account"]
    viewer = await api.data("{ viewer { user { id } firm { id } } }")
    return {
        "Account": account["id"],
        "Contact": account["contacts"][0]["contact"]["id"],
        "User": viewer["viewer"]["user"]["id"],
        "ClientOwner": owner,
        "Firm": viewer["viewer"]["firm"]["id"],
    }


@pytest.mark.parametrize("type_name", TYPES)
async def test_the_id_given_out_finds_its_object_under_the_same_id(
    api: Api, type_name: str
) -> None:
    global_id = (await one_of_each(api))[type_name]
    data = await api.data(NODE, {"id": global_id})
    assert data == {"node": {"id": global_id}, "nodes": [{"id": global_id}]}


@pytest.mark.parametrize("type_name", TYPES)
async def test_no_other_spelling_of_an_id_finds_its_object(api: Api, type_name: str) -> None:
    global_id = (await one_of_each(api))[type_name]
    found = {}
    for label, other in spellings(global_id).items():
        data = await api.data(NODE, {"id": other})
        if data != {"node": None, "nodes": [None]}:
            found[label] = data
    assert found == {}


@pytest.mark.parametrize("label", ACCOUNT_SPELLINGS)
async def test_another_spelling_of_an_account_id_is_not_found_anywhere(
    api: Api, label: str
) -> None:
    account = (await api.create_account("Acme"))["id"]
    other = spellings(account)[label]

    assert await api.data(ACCOUNT, {"id": other}) == {"account": None}
    renamed = await api.mutate("updateAccount", {"accountId": other, "name": "Renamed"})
    assert [(error["field"], error["code"]) for error in renamed["userErrors"]] == [
        (["accountId"], "NOT_FOUND")
    ]
    assert (await api.data(ACCOUNT, {"id": account}))["account"]["name"] == "Acme"


FILTERS = {
    "accounts-ownerIds": "accounts(filter: {ownerIds: [$id]}) { totalCount }",
    "contacts-accountId": "contacts(filter: {accountId: $id}) { totalCount }",
}


@pytest.mark.parametrize("filter", list(FILTERS))
async def test_a_filter_by_another_spelling_of_an_id_matches_nothing(api: Api, filter: str) -> None:
    ids = await one_of_each(api)
    global_id = ids["ClientOwner"] if filter == "accounts-ownerIds" else ids["Account"]
    query = f"query($id: ID!) {{ {FILTERS[filter]} }}"
    field = filter.split("-")[0]
    assert await api.data(query, {"id": global_id}) == {field: {"totalCount": 1}}
    matched = {}
    for label, other in spellings(global_id).items():
        data = await api.data(query, {"id": other})
        if data != {field: {"totalCount": 0}}:
            matched[label] = data
    assert matched == {}


# --- cursors -----------------------------------------------------------------------------------

PAGE = """query($after: String) {
  accounts(first: 1, after: $after, orderBy: {field: CREATED_AT, direction: ASC}) {
    edges { cursor node { name } } } }"""


def cursor_of(parts: list[object], *, separators: tuple[str, str] = (",", ":")) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts, separators=separators).encode()).decode()


def cursor_spellings(cursor: str) -> dict[str, str]:
    """Other spellings of a cursor of (created_at, id): each the same position in the list."""
    created_at, account_id = json.loads(base64.urlsafe_b64decode(cursor))
    assert cursor_of([created_at, account_id]) == cursor
    elsewhere = datetime.fromisoformat(created_at).astimezone(timezone(timedelta(hours=2)))
    return {
        "uuid-upper-case": cursor_of([created_at, account_id.upper()]),
        "uuid-in-braces": cursor_of([created_at, f"{{{account_id}}}"]),
        "time-in-another-zone": cursor_of([elsewhere.isoformat(), account_id]),
        "json-with-spaces": cursor_of([created_at, account_id], separators=(", ", ": ")),
        "base64-standard-alphabet-and-newline": base64.b64encode(
            base64.urlsafe_b64decode(cursor)
        ).decode()
        + "\n",
    }


async def test_a_cursor_is_refused_in_any_spelling_but_the_one_given_out(api: Api) -> None:
    for name in ("Acme", "Beta"):
        await api.create_account(name)
    first = (await api.data(PAGE))["accounts"]["edges"][0]
    second = await api.data(PAGE, {"after": first["cursor"]})
    assert [edge["node"]["name"] for edge in second["accounts"]["edges"]] == ["Beta"]
    accepted = {}
    for label, other in cursor_spellings(first["cursor"]).items():
        body = await api.execute(PAGE, {"after": other})
        codes = [error["extensions"]["code"] for error in body.get("errors") or []]
        if codes != ["BAD_USER_INPUT"]:
            accepted[label] = body
    assert accepted == {}
