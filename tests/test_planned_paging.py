"""Orders and keyset paging answer alike on both read paths, ties included (issue 15 point 4).

A firm whose every ordering has ties: account names equal but for case, customer numbers equal
once case-folded, accounts without a number or an owner, address-book entries, users and
contacts of the same name, custom fields of the same label, and rows of one instant (accounts,
history, notifications, e-mails, API keys). Every connection is walked page by page with its
own cursors, forward (`first`/`after`) and backward (`last`/`before`), and every ordered list
read whole; each request is sent to the app with the planned read path and to the one without
(tests/difftest/paths.py), and both must answer byte for byte alike, the planned one by a plan.
The answer must also be right: rows in their order with ties by id, each page's `pageInfo`
true to the rows around it, and the walks visiting each row once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from clientgraph.db import models
from clientgraph.db.engine import Database
from clientgraph.db.queries import fold
from clientgraph.ids import decode_any_id, decode_id
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.difftest.paths import READ_PATH_HEADER, Paths, both_paths
from tests.support import Api, new_firm

PAGE = 1
"""One row a page, so that a cursor falls inside every group of ties."""
INSTANT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PAGE_ARGUMENTS = "first: $first, after: $after, last: $last, before: $before"
PAGE_VARIABLES = "$first: Int, $after: String, $last: Int, $before: String"
PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"


@dataclass(frozen=True)
class Ties:
    """The firm's callers and the rows the nested lists hang from."""

    owner: str
    member: str
    account: str
    contact: str
    entry: str


async def _tied_firm(api: Api) -> Ties:
    await api.enable_ownership()
    members = [await api.staff(name=name) for name in ("Sam Same", "sam same", "Sam Same")]
    await api.staff(name="Ann Other")
    entries = [await api.add_owner(user_id=gid) for gid, _ in members]
    await api.add_owner(name="Pat Same")
    accounts = []
    for index, (name, number) in enumerate(
        [
            ("Tie", "AB-1"),
            ("tie", "ab-1"),
            ("TIE", None),
            ("Tie", None),
            ("Alpha", "Z-9"),
            ("Tie", "C-3"),
            ("Omega", None),
        ]
    ):
        created = await api.create_account(
            name, customerNumber=number, ownerId=entries[index % len(entries)]
        )
        accounts.append(created["id"])
    for unowned in accounts[4::2]:
        await api.ok("assignClientOwner", {"accountId": unowned, "ownerId": None})
    rich = accounts[0]
    for gid, _ in members:
        await api.ok("assignTeamMember", {"accountId": rich, "userId": gid})
        for other in accounts[1:3]:
            await api.ok("assignTeamMember", {"accountId": other, "userId": gid})
    contacts = []
    for index, (first, last) in enumerate(
        [("Kim", "Same"), ("kim", "SAME"), ("Kim", "Same"), ("Kim", "Samesen"), ("Al", "Same")]
    ):
        links = [{"accountId": gid} for gid in accounts[: 3 if index < 3 else 1]]
        created = await api.ok(
            "createContact",
            {
                "firstName": first,
                "lastName": last,
                "email": f"kim{index}-{uuid.uuid4().hex[:6]}@example.dk",
                "links": links,
            },
            "contact { id }",
        )
        contacts.append(created["contact"]["id"])
        await api.ok("inviteContact", {"contactId": contacts[-1]})
    for key in ("b_key", "a_key", "c_key"):
        await api.ok(
            "defineCustomField",
            {"entity": "ACCOUNT", "key": key, "label": "Same Label", "type": "TEXT"},
        )
    for name in ("One", "Two", "Three"):
        await api.ok(
            "createApiKey", {"name": name, "permissions": ["VIEW_ALL_ACCOUNTS"]}, "apiKey { id }"
        )
    for index in (0, 3):
        await api.ok("updateAccount", {"accountId": accounts[index], "tags": ["touched"]})
    await api.db.write(_at_one_instant(api.firm_id), firm_id=api.firm_id)
    member_id = decode_id(members[0][0], "User")
    assert member_id is not None
    return Ties(
        owner=api.token,
        member=api.token_for(member_id),
        account=rich,
        contact=contacts[0],
        entry=entries[0],
    )


def _at_one_instant(firm_id: uuid.UUID) -> Callable[[AsyncSession], Any]:
    """Rows of one instant: ties broken only by id."""

    async def write(session: AsyncSession) -> None:
        for model, column in (
            (models.Account, "created_at"),
            (models.Account, "updated_at"),
            (models.AuditEvent, "occurred_at"),
            (models.Notification, "created_at"),
            (models.OutboxEvent, "created_at"),
            (models.ApiKey, "created_at"),
        ):
            await session.execute(
                update(model).where(model.firm_id == firm_id).values({column: INSTANT})
            )

    return write


@pytest.fixture(scope="module")
async def paths(database: Database) -> AsyncIterator[Paths]:
    async with both_paths(database) as both:
        yield both


@pytest.fixture(scope="module")
async def ties(database: Database) -> AsyncIterator[Ties]:
    async with new_firm(database) as api:
        yield await _tied_firm(api)


async def ask(paths: Paths, token: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The data both apps answer alike, the planned one by a plan."""
    headers = {"Authorization": f"Bearer {token}"}
    body = {"query": query, "variables": variables}
    planned, generic = await asyncio.gather(
        paths.planned.post("/graphql", json=body, headers=headers),
        paths.generic.post("/graphql", json=body, headers=headers),
    )
    answer = orjson.loads(planned.content)
    assert orjson.dumps(answer) == orjson.dumps(orjson.loads(generic.content)), (
        f"{query}\n{variables}\nplanned: {planned.text}\ngeneric: {generic.text}"
    )
    assert planned.status_code == 200 and "errors" not in answer, planned.text
    assert planned.headers[READ_PATH_HEADER] == "planned", (query, variables)
    return answer["data"]


def _uuid(node: dict[str, Any]) -> uuid.UUID:
    decoded = decode_any_id(node["id"])
    assert decoded is not None, node
    return decoded[1]


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _nulls_last(value: str | None) -> tuple[bool, str]:
    return (value is None, fold(value or ""))


@dataclass(frozen=True)
class Listing:
    """A connection or list: its document, where it sits in the data, the caller, and the
    sort key each item must be in (its order's keys, then the tie-break), reversed or not."""

    name: str
    document: str
    at: tuple[str, ...]
    key: Callable[[dict[str, Any]], tuple[Any, Any]]
    reverse: bool = False
    caller: str = "owner"
    parent: str | None = None
    """The field of `Ties` whose id the document's `$id` is."""

    def items(self, data: dict[str, Any]) -> Any:
        for step in self.at:
            data = data[step]
        return data

    def variables(self, ties: Ties) -> dict[str, Any]:
        return {"id": getattr(ties, self.parent)} if self.parent else {}


ROOT = f"query({PAGE_VARIABLES})"
NESTED = f"query({PAGE_VARIABLES}, $id: ID!)"
ACCOUNT_NODE = "id name customerNumber createdAt updatedAt owner { name }"
ACCOUNT_KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "NAME": lambda node: fold(node["name"]),
    "CUSTOMER_NUMBER": lambda node: _nulls_last(node["customerNumber"]),
    "CREATED_AT": lambda node: _time(node["createdAt"]),
    "UPDATED_AT": lambda node: _time(node["updatedAt"]),
    "OWNER_NAME": lambda node: _nulls_last(node["owner"] and node["owner"]["name"]),
}


def _connection(
    name: str,
    document: str,
    at: tuple[str, ...],
    node: str,
    key: Callable[[dict[str, Any]], Any],
    *,
    reverse: bool = False,
    caller: str = "owner",
    parent: str | None = None,
) -> Listing:
    """A connection whose `document` says ARGUMENTS for its paging arguments and SELECTION
    for its own, its items ordered by `key` and then by id."""
    selection = f"{{ {PAGE_INFO} edges {{ cursor node {{ {node} }} }} }}"
    return Listing(
        name,
        document.replace("ARGUMENTS", PAGE_ARGUMENTS).replace("SELECTION", selection),
        at,
        lambda item: (key(item), _uuid(item)),
        reverse=reverse,
        caller=caller,
        parent=parent,
    )


def _accounts(field: str, direction: str) -> Listing:
    return _connection(
        f"accounts-{field}-{direction}",
        f"{ROOT} {{ accounts(ARGUMENTS, orderBy: {{field: {field}, direction: {direction}}}) "
        "SELECTION }",
        ("accounts",),
        ACCOUNT_NODE,
        ACCOUNT_KEYS[field],
        reverse=direction == "DESC",
    )


CONNECTIONS = [
    *(_accounts(field, direction) for field in ACCOUNT_KEYS for direction in ("ASC", "DESC")),
    _connection(
        "contacts",
        f"{ROOT} {{ contacts(ARGUMENTS) SELECTION }}",
        ("contacts",),
        "id firstName lastName",
        lambda node: (fold(node["lastName"]), fold(node["firstName"])),
    ),
    _connection(
        "users",
        f"{ROOT} {{ users(ARGUMENTS) SELECTION }}",
        ("users",),
        "id name",
        lambda node: fold(node["name"]),
    ),
    _connection(
        "clientOwners",
        f"{ROOT} {{ clientOwners(ARGUMENTS) SELECTION }}",
        ("clientOwners",),
        "id name",
        lambda node: fold(node["name"]),
    ),
    _connection(
        "emailDeliveries",
        f"{ROOT} {{ emailDeliveries(ARGUMENTS) SELECTION }}",
        ("emailDeliveries",),
        "id createdAt",
        lambda node: _time(node["createdAt"]),
        reverse=True,
    ),
    _connection(
        "notifications",
        f"{ROOT} {{ viewer {{ notifications(ARGUMENTS) SELECTION }} }}",
        ("viewer", "notifications"),
        "id createdAt",
        lambda node: _time(node["createdAt"]),
        reverse=True,
        caller="member",
    ),
    _connection(
        "account-history",
        f"{NESTED} {{ account(id: $id) {{ history(ARGUMENTS) SELECTION }} }}",
        ("account", "history"),
        "id occurredAt",
        lambda node: _time(node["occurredAt"]),
        reverse=True,
        parent="account",
    ),
    _connection(
        "contact-history",
        f"{NESTED} {{ contact(id: $id) {{ history(ARGUMENTS) SELECTION }} }}",
        ("contact", "history"),
        "id occurredAt",
        lambda node: _time(node["occurredAt"]),
        reverse=True,
        parent="contact",
    ),
    _connection(
        "owner-accounts",
        f"{NESTED} {{ node(id: $id) {{ ...on ClientOwner {{ accounts(ARGUMENTS) SELECTION }} }} }}",
        ("node", "accounts"),
        "id name",
        lambda node: fold(node["name"]),
        parent="entry",
    ),
]


def _assert_ordered_with_ties(listing: Listing, items: list[dict[str, Any]]) -> None:
    keys = [listing.key(item) for item in items]
    assert keys == sorted(keys, reverse=listing.reverse), listing.name
    values = [key for key, _ in keys]
    assert len(set(values)) < len(values), f"{listing.name}: the firm has no ties to order"


@pytest.mark.parametrize("listing", CONNECTIONS, ids=lambda listing: listing.name)
async def test_every_connection_pages_through_its_ties_forward_alike_on_both_paths(
    paths: Paths, ties: Ties, listing: Listing
) -> None:
    token = getattr(ties, listing.caller)
    parent = listing.variables(ties)
    whole = listing.items(await ask(paths, token, listing.document, {**parent, "first": 100}))
    assert not whole["pageInfo"]["hasNextPage"] and not whole["pageInfo"]["hasPreviousPage"]
    _assert_ordered_with_ties(listing, [edge["node"] for edge in whole["edges"]])

    walked: list[dict[str, Any]] = []
    after = None
    while True:
        variables = {**parent, "first": PAGE, "after": after}
        page = listing.items(await ask(paths, token, listing.document, variables))
        start = len(walked)
        walked.extend(page["edges"])
        info = page["pageInfo"]
        assert info["hasPreviousPage"] == (start > 0)
        assert info["hasNextPage"] == (len(walked) < len(whole["edges"]))
        assert info["startCursor"] == page["edges"][0]["cursor"]
        assert info["endCursor"] == page["edges"][-1]["cursor"]
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert walked == whole["edges"]

    last_cursor = walked[-1]["cursor"]
    beyond = listing.items(
        await ask(paths, token, listing.document, {**parent, "first": PAGE, "after": last_cursor})
    )
    assert beyond["edges"] == []
    assert beyond["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "startCursor": None,
        "endCursor": None,
    }


@pytest.mark.parametrize("listing", CONNECTIONS, ids=lambda listing: listing.name)
async def test_every_connection_pages_through_its_ties_backward_alike_on_both_paths(
    paths: Paths, ties: Ties, listing: Listing
) -> None:
    token = getattr(ties, listing.caller)
    parent = listing.variables(ties)
    whole = listing.items(await ask(paths, token, listing.document, {**parent, "first": 100}))

    walked: list[dict[str, Any]] = []
    before = None
    while True:
        variables = {**parent, "last": PAGE, "before": before}
        page = listing.items(await ask(paths, token, listing.document, variables))
        walked[:0] = page["edges"]
        info = page["pageInfo"]
        assert info["hasNextPage"] == (before is not None)
        assert info["hasPreviousPage"] == (len(walked) < len(whole["edges"]))
        assert info["startCursor"] == page["edges"][0]["cursor"]
        assert info["endCursor"] == page["edges"][-1]["cursor"]
        if not info["hasPreviousPage"]:
            break
        before = info["startCursor"]
    assert walked == whole["edges"]

    first_cursor = walked[0]["cursor"]
    beyond = listing.items(
        await ask(paths, token, listing.document, {**parent, "last": PAGE, "before": first_cursor})
    )
    assert beyond["edges"] == []
    assert beyond["pageInfo"]["hasNextPage"] and not beyond["pageInfo"]["hasPreviousPage"]


LISTS = [
    Listing(
        "teamMembers",
        "query($id: ID!) { account(id: $id) { teamMembers { id name } } }",
        ("account", "teamMembers"),
        lambda user: (fold(user["name"]), _uuid(user)),
        parent="account",
    ),
    Listing(
        "account-contacts",
        "query($id: ID!) { account(id: $id) { contacts { contact { id firstName lastName } } } }",
        ("account", "contacts"),
        lambda link: (
            (fold(link["contact"]["lastName"]), fold(link["contact"]["firstName"])),
            _uuid(link["contact"]),
        ),
        parent="account",
    ),
    Listing(
        "relatedAccounts",
        "query($id: ID!) { account(id: $id) { relatedAccounts { id name } } }",
        ("account", "relatedAccounts"),
        lambda account: (fold(account["name"]), _uuid(account)),
        parent="account",
    ),
    Listing(
        "contact-accounts",
        "query($id: ID!) { contact(id: $id) { accounts { account { id name } } } }",
        ("contact", "accounts"),
        lambda link: (fold(link["account"]["name"]), _uuid(link["account"])),
        parent="contact",
    ),
    Listing(
        "customFieldDefinitions",
        "{ customFieldDefinitions(entity: ACCOUNT) { key label } }",
        ("customFieldDefinitions",),
        lambda field: (fold(field["label"]), field["key"]),
    ),
    Listing(
        "account-customFields",
        "query($id: ID!) { account(id: $id) { customFields { key label } } }",
        ("account", "customFields"),
        lambda field: (fold(field["label"]), field["key"]),
        parent="account",
    ),
    Listing(
        "apiKeys",
        "{ apiKeys { id createdAt } }",
        ("apiKeys",),
        lambda key: (-_time(key["createdAt"]).timestamp(), _uuid(key)),
    ),
]


@pytest.mark.parametrize("listing", LISTS, ids=lambda listing: listing.name)
async def test_every_ordered_list_answers_its_ties_alike_in_id_order(
    paths: Paths, ties: Ties, listing: Listing
) -> None:
    items = listing.items(await ask(paths, ties.owner, listing.document, listing.variables(ties)))
    _assert_ordered_with_ties(listing, items)
