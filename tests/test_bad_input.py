"""Hostile but schema-valid input, on every backend: every mutation and list query answers 200
with user errors or a coded top-level error (never INTERNAL_SERVER_ERROR), and a refused
mutation leaves the rows of both firms exactly as they were.

Inputs are data: "@key" stands for the id `key` of the caller's firm (see `build_world`),
"@other.key" for one of the other firm, and "#" in a text is replaced to make it unique."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from clientgraph.db import models
from clientgraph.ids import encode_id
from clientgraph.resolvers.enums import UserErrorCode
from sqlalchemy import select

from tests.support import Api

World = dict[str, Any]
ALLOWED_TOP_LEVEL = {"FORBIDDEN", "BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED", "RATE_LIMITED"}
USER_ERROR_CODES = {code.value for code in UserErrorCode}
NOWHERE = "5f0c2b1e-9d7a-4e51-8b3c-000000000000"
ID_KEYS = {"Account": "account", "Contact": "contact", "User": "user", "ClientOwner": "owner"}
ID_KEYS |= {"ApiKey": "api_key", "Notification": "notification", "EmailDelivery": "delivery"}
ID_KEYS |= {"Webhook": "webhook", "WebhookDelivery": "webhook_delivery"}
HOOK_URL = "https://93.184.215.14/hook"
"""A public address, written as one: no name to resolve."""
TEXTS = {
    "empty": "",
    "blank": "   ",
    "10k-chars": "x" * 10_000,
    "emoji-rtl": "👩‍💼 Ærø مرحبا שלום \u202ereversed",
    "percent": "%",
    "underscore": "_",
    "backslash": "\\",
    "sql": "'; DROP TABLE accounts; --",
    "nul": "a\x00b",
    "casefold-grows-100": "ß" * 100,
    "casefold-grows-200": "ß" * 200,
    "casefold-grows-email": "ΐ" * 32 + "@" + ".".join(["ΐ" * 15] * 6) + ".com",
}
WILDCARDS = ("percent", "underscore", "backslash")
INTS = {"zero": 0, "minus-one": -1, "int32-max": 2_147_483_647, "int32-min": -2_147_483_648}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def hostile_ids(kind: str, world: World, other: World) -> dict[str, str]:
    return {
        "empty": "",
        "x": "x",
        "punctuation": "!!!",
        "account-not-a-uuid": b64("Account:not-a-uuid"),
        "account-of-nothing": b64(f"Account:{NOWHERE}"),
        f"{kind}-of-nothing": b64(f"{kind}:{NOWHERE}"),
        "wrong-type": world["account"] if kind == "User" else world["user"],
        "other-firm": other[ID_KEYS[kind]],
    }


def resolve(value: Any, world: World, other: World) -> Any:
    """A fresh copy of `value` with its "@…" references and "#" filled in."""
    if isinstance(value, dict):
        return {key: resolve(item, world, other) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, world, other) for item in value]
    if isinstance(value, str) and value.startswith("@other."):
        return other[value.removeprefix("@other.")]
    if isinstance(value, str) and value.startswith("@"):
        return world[value[1:]]
    if isinstance(value, str) and "#" in value:
        return value.replace("#", uuid.uuid4().hex[:8])
    return value


# --- the firms every test works in ----------------------------------------------------------


async def build_world(api: Api) -> World:
    """Ownership on, two owners, a staff user, two accounts (the first with two contacts and
    the user on its team), a notification for the caller, an API key, an invitation e-mail and
    two custom fields."""
    await api.enable_ownership()
    world = {"owner": await api.add_owner(name="Olga Owner")}
    hook = {"url": HOOK_URL, "events": ["account.created"]}
    world["webhook"] = (await api.ok("createWebhook", hook, "webhook { id }"))["webhook"]["id"]
    world["owner2"] = await api.add_owner(name="Per Other")
    world["user"], _ = await api.staff("VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS")
    contacts = [
        {"newContact": {"firstName": "Ada", "lastName": "Lund", "email": "ada@example.com"}},
        {"newContact": {"firstName": "Bo", "lastName": "Berg"}},
    ]
    created = await api.ok(
        "createAccount",
        {"name": "Acme", "customerNumber": "C-1", "ownerId": world["owner"], "contacts": contacts},
        "account { id contacts { contact { id firstName } } }",
    )
    world["account"] = created["account"]["id"]
    linked = {c["contact"]["firstName"]: c["contact"]["id"] for c in created["account"]["contacts"]}
    world["contact"], world["contact2"] = linked["Ada"], linked["Bo"]
    world["account2"] = (await api.create_account("Beta", ownerId=world["owner"]))["id"]
    await api.ok("assignTeamMember", {"accountId": world["account"], "userId": world["user"]})
    me = encode_id("User", api.user_id)
    await api.ok("assignTeamMember", {"accountId": world["account2"], "userId": me})
    notes = await api.data("{ viewer { notifications { nodes { id } } } }")
    world["notification"] = notes["viewer"]["notifications"]["nodes"][0]["id"]
    world["me"] = me
    key = await api.ok("createApiKey", {"name": "P", "permissions": RIGHT}, "apiKey { id }")
    world["api_key"] = key["apiKey"]["id"]
    await api.ok("inviteContact", {"contactId": world["contact"]})
    mail = await api.data("{ emailDeliveries(first: 1) { nodes { id } } }")
    world["delivery"] = mail["emailDeliveries"]["nodes"][0]["id"]
    hooked = await api.data(
        "query($id: ID!) { webhookDeliveries(webhookId: $id, first: 1) { nodes { id } } }",
        {"id": world["webhook"]},
    )
    world["webhook_delivery"] = hooked["webhookDeliveries"]["nodes"][0]["id"]
    for entity, name, kind in (("ACCOUNT", "tier", "TEXT"), ("CONTACT", "size", "NUMBER")):
        field = {"entity": entity, "key": name, "label": name.title(), "type": kind}
        await api.ok("defineCustomField", field)
    return world


@pytest.fixture
async def worlds(api: Api, other_firm: Api) -> tuple[World, World]:
    return await build_world(api), await build_world(other_firm)


async def snapshot(api: Api) -> dict[str, list[str]]:
    """Every row of the firm, table by table."""
    tables: dict[str, list[str]] = {}
    async with api.db.firm_session(api.firm_id) as session:
        for table in models.Base.metadata.sorted_tables:
            key = table.c.get("firm_id", table.c.get("id"))
            rows = (await session.execute(select(table).where(key == api.firm_id))).all()
            tables[table.name] = sorted(repr(tuple(row)) for row in rows)
    return tables


def brief(value: Any) -> Any:
    """`value` with long strings and lists shortened, for failure messages."""
    if isinstance(value, str) and len(value) > 40:
        return f"<{len(value)} chars {value[:12]!r}…>"
    if isinstance(value, list):
        shown = [brief(item) for item in value[:3]]
        return [*shown, f"<{len(value) - 3} more>"] if len(value) > 3 else shown
    if isinstance(value, dict):
        return {key: brief(item) for key, item in value.items()}
    return value


def judge(response: Any, name: str | None = None) -> tuple[bool, str | None]:
    """(refused, what breaks the contract): 200; no error without an allowed code; user
    errors only with codes of UserErrorCode."""
    if response.status_code != 200:
        return True, f"HTTP {response.status_code}"
    body = response.json()
    codes = [(error.get("extensions") or {}).get("code") for error in body.get("errors") or []]
    if "INTERNAL_SERVER_ERROR" in codes:
        return True, "INTERNAL_SERVER_ERROR"
    if any(code not in ALLOWED_TOP_LEVEL for code in codes):
        return True, f"top-level error codes {codes}"
    if codes or name is None:
        return bool(codes), None
    user_codes = [error["code"] for error in body["data"][name]["userErrors"]]
    if any(code not in USER_ERROR_CODES for code in user_codes):
        return True, f"user error codes {user_codes}"
    return bool(user_codes), None


@dataclass
class Firms:
    """The two firms, and their rows as last seen. A refused mutation must leave them as they
    were (`attempt` checks it), so the rows after one refusal are the rows before the next
    attempt, and only an accepted mutation makes them be read again."""

    apis: tuple[Api, Api]
    rows: list[dict[str, list[str]]] | None = None

    async def read(self) -> list[dict[str, list[str]]]:
        self.rows = [await snapshot(firm) for firm in self.apis]
        return self.rows


async def attempt(
    firms: Firms, name: str, input_: dict[str, Any], *, must_refuse: bool
) -> str | None:
    """Send one mutation as the first firm; what breaks the contract, if anything."""
    input_type = name[0].upper() + name[1:] + "Input"
    document = (
        f"mutation($input: {input_type}!) {{ {name}(input: $input) "
        "{ __typename userErrors { field code message } } }"
    )
    before = firms.rows if firms.rows is not None else await firms.read()
    response = await firms.apis[0].post(document, {"input": input_})
    refused, problem = judge(response, name)
    if problem is None and must_refuse and not refused:
        problem = "accepted"
    if not refused:
        firms.rows = None
    elif await firms.read() != before:
        problem = f"{problem or 'refused'}, yet rows changed (half-applied)"
    if problem is None:
        return None
    return f"{problem}; input={brief(input_)}; response={response.text[:400]}"


# --- every mutation, field by field ---------------------------------------------------------

NEW_CONTACT = {"firstName": "Ny", "lastName": "Kontakt", "email": "ny@example.com"}
NEW_CONTACT |= {"extraEmails": ["ny2@example.com"], "phone": "20 12 34 56", "phoneCountry": "DK"}
ROLE, RIGHT = ["COMMERCIAL"], ["CREATE_ACCOUNTS"]
BASES: dict[str, dict[str, Any]] = {
    "updateFirmSettings": {"clientOwnershipEnabled": True},
    "createUser": {"name": "Nora", "email": "n#@example.com", "permissions": RIGHT},
    "updateUser": {"userId": "@user", "permissions": RIGHT},
    "deleteUser": {"userId": "@user", "transferClientsTo": "@owner2"},
    "addClientOwner": {"userId": "@user"},
    "addClientOwner/name": {"name": "Nina #"},
    "assignClientOwner": {"accountId": "@account", "ownerId": "@owner2"},
    "transferClients": {
        "fromOwnerId": "@owner",
        "toOwnerId": "@owner2",
        "accountIds": ["@account"],
    },
    "removeClientOwner": {"ownerId": "@owner2", "transferClientsTo": "@owner"},
    "createAccount": {
        "name": "Gamma",
        "ownerId": "@owner",
        "tags": ["vip"],
        "contacts": [{"contactId": "@contact", "roles": ROLE}],
    },
    "createAccount/new": {
        "name": "Delta",
        "ownerId": "@owner",
        "contacts": [{"newContact": NEW_CONTACT}],
    },
    "updateAccount": {"accountId": "@account"},
    "deactivateAccount": {"accountId": "@account"},
    "reactivateAccount": {"accountId": "@account"},
    "deleteAccount": {"accountId": "@account"},
    "assignTeamMember": {"accountId": "@account2", "userId": "@user"},
    "unassignTeamMember": {"accountId": "@account", "userId": "@user"},
    "createContact": NEW_CONTACT | {"links": [{"accountId": "@account", "description": "Books"}]},
    "updateContact": {"contactId": "@contact"},
    "deleteContact": {"contactId": "@contact2"},
    "linkContact": {"accountId": "@account2", "contactId": "@contact", "description": "Board"},
    "updateAccountContact": {"accountId": "@account", "contactId": "@contact", "roles": ROLE},
    "unlinkContact": {"accountId": "@account", "contactId": "@contact2"},
    "inviteContact": {"contactId": "@contact"},
    "revokePortalAccess": {"contactId": "@contact"},
    "defineCustomField": {
        "entity": "ACCOUNT",
        "key": "k#",
        "label": "Region",
        "type": "SELECT",
        "options": ["N", "S"],
    },
    "setCustomFieldValues": {"accountId": "@account", "values": [{"key": "tier", "value": "1"}]},
    "setCustomFieldValues/contact": {
        "contactId": "@contact",
        "values": [{"key": "size", "value": "42"}],
    },
    "markNotificationsRead": {"ids": ["@notification"]},
    "createApiKey": {"name": "Partner", "userId": "@me", "permissions": RIGHT},
    "revokeApiKey": {"apiKeyId": "@api_key"},
    "retryEmailDelivery": {"deliveryId": "@delivery"},
    "changePassword": {"currentPassword": "not the password", "newPassword": "a new password!"},
    "resetUserPassword": {"userId": "@user"},
    "createWebhook": {"url": HOOK_URL, "events": ["account.created"], "description": "Books"},
    "updateWebhook": {"webhookId": "@webhook", "description": "Ledger"},
    "deleteWebhook": {"webhookId": "@webhook"},
    "rotateWebhookSecret": {"webhookId": "@webhook"},
    "redeliverWebhook": {"deliveryId": "@webhook_delivery"},
}
# path:kind, where a kind is an id type, text, texts (a list of them), list or int
CONTACT_TEXTS = "firstName:text lastName:text email:text phone:text phoneCountry:text"
FIELDS = {
    "updateFirmSettings": "customerNumberMinLength:int customerNumberMaxLength:int",
    "createUser": "name:text email:text permissions:list",
    "updateUser": "userId:User name:text permissions:list",
    "deleteUser": "userId:User transferClientsTo:ClientOwner",
    "addClientOwner": "userId:User",
    "addClientOwner/name": "name:text",
    "assignClientOwner": "accountId:Account ownerId:ClientOwner",
    "transferClients": "fromOwnerId:ClientOwner toOwnerId:ClientOwner accountIds.0:Account"
    " accountIds:list",
    "removeClientOwner": "ownerId:ClientOwner transferClientsTo:ClientOwner",
    "createAccount": "name:text customerNumber:text ownerId:ClientOwner tags:texts"
    " contacts.0.contactId:Contact contacts.0.description:text contacts:list",
    "createAccount/new": " ".join(
        f"contacts.0.newContact.{field}" for field in f"{CONTACT_TEXTS} extraEmails:texts".split()
    ),
    "updateAccount": "accountId:Account expectedVersion:int name:text customerNumber:text"
    " tags:texts",
    "deactivateAccount": "accountId:Account",
    "reactivateAccount": "accountId:Account",
    "deleteAccount": "accountId:Account",
    "assignTeamMember": "accountId:Account userId:User",
    "unassignTeamMember": "accountId:Account userId:User",
    "createContact": f"{CONTACT_TEXTS} extraEmails:texts links.0.accountId:Account"
    " links.0.description:text links:list",
    "updateContact": f"contactId:Contact expectedVersion:int {CONTACT_TEXTS} extraEmails:texts",
    "deleteContact": "contactId:Contact",
    "linkContact": "accountId:Account contactId:Contact description:text",
    "updateAccountContact": "accountId:Account contactId:Contact description:text roles:list",
    "unlinkContact": "accountId:Account contactId:Contact",
    "inviteContact": "contactId:Contact",
    "revokePortalAccess": "contactId:Contact",
    "defineCustomField": "key:text label:text options:texts",
    "setCustomFieldValues": "accountId:Account values.0.key:text values.0.value:text values:list",
    "setCustomFieldValues/contact": "contactId:Contact values.0.value:text",
    "markNotificationsRead": "ids.0:Notification ids:list",
    "createApiKey": "name:text userId:User permissions:list",
    "revokeApiKey": "apiKeyId:ApiKey",
    "retryEmailDelivery": "deliveryId:EmailDelivery",
    "changePassword": "currentPassword:text newPassword:text",
    "resetUserPassword": "userId:User",
    "createWebhook": "url:text events:texts description:text",
    "updateWebhook": "webhookId:Webhook url:text events:texts description:text",
    "deleteWebhook": "webhookId:Webhook",
    "rotateWebhookSecret": "webhookId:Webhook",
    "redeliverWebhook": "deliveryId:WebhookDelivery",
}
FIELD_CASES = [(base, *item.split(":")) for base, spec in FIELDS.items() for item in spec.split()]


def slot(input_: dict[str, Any], path: str) -> tuple[Any, Any]:
    """The container and key of the field at dotted `path` (list indexes as numbers)."""
    *parents, last = path.split(".")
    target: Any = input_
    for part in parents:
        target = target[int(part) if isinstance(target, list) else part]
    return target, int(last) if isinstance(target, list) else last


def hostile_values(kind: str, current: Any, world: World, other: World) -> dict[str, Any]:
    if kind == "text":
        return TEXTS
    if kind == "int":
        return INTS
    if kind == "texts":
        return {
            "empty-list": [],
            "500-elements": [f"item{index}@example.com" for index in range(500)],
            "duplicates": ["same@example.com", "same@example.com"],
            "hostile-elements": list(TEXTS.values()),
            **{f"one-{name}": [value] for name, value in TEXTS.items()},
        }
    if kind == "list":
        return {"empty-list": [], "500-elements": current * 500, "duplicates": current * 2}
    return hostile_ids(kind, world, other)


@pytest.mark.parametrize(
    ("base", "path", "kind"), FIELD_CASES, ids=[f"{base}-{path}" for base, path, _ in FIELD_CASES]
)
async def test_a_hostile_field_value_is_refused_cleanly_or_accepted(
    api: Api, other_firm: Api, worlds: tuple[World, World], base: str, path: str, kind: str
) -> None:
    world, other = worlds
    container, key = slot(resolve(BASES[base], world, other), path)
    current = container[key] if kind == "list" else None
    problems = []
    firms = Firms((api, other_firm))
    for label, value in hostile_values(kind, current, world, other).items():
        input_ = resolve(BASES[base], world, other)
        container, key = slot(input_, path)
        container[key] = value
        name = base.split("/")[0]
        problem = await attempt(firms, name, input_, must_refuse=kind in ID_KEYS)
        if problem:
            problems.append(f"[{label}] {problem}")
    assert not problems, "\n".join(problems)


COVERED_ELSEWHERE = {
    "importAccounts": "its input is a file, which a JSON body cannot carry: "
    "tests/test_register_import.py uploads hostile files (malformed, oversized, wrong encoding)",
}


async def test_every_mutation_of_the_schema_is_covered(api: Api) -> None:
    data = await api.data("{ __schema { mutationType { fields { name } } } }")
    names = {field["name"] for field in data["__schema"]["mutationType"]["fields"]}
    assert names == {base.split("/")[0] for base in FIELDS} | COVERED_ELSEWHERE.keys()


async def test_the_harness_tells_an_acceptance_and_sees_its_change(
    api: Api, other_firm: Api
) -> None:
    before = await snapshot(api)
    problem = await attempt(
        Firms((api, other_firm)), "createAccount", {"name": "Seen"}, must_refuse=True
    )
    assert problem is not None and problem.startswith("accepted")
    assert await snapshot(api) != before


# --- list queries ---------------------------------------------------------------------------

SEARCHES = {
    "accounts-search": "accounts(filter: {search: $text, status: []})",
    "accounts-tags": "accounts(filter: {tags: [$text], status: []})",
    "contacts-search": "contacts(filter: {search: $text})",
    "users-search": "users(search: $text)",
    "clientOwners-search": "clientOwners(search: $text)",
}


@pytest.mark.parametrize("field", list(SEARCHES.values()), ids=list(SEARCHES))
async def test_a_hostile_search_answers_and_wildcards_match_literally(
    api: Api, worlds: tuple[World, World], field: str
) -> None:
    query = f"query($text: String!) {{ {field} {{ totalCount nodes {{ id }} }} }}"
    refusals = {"nul"} | ({"10k-chars"} if "search:" in field else set())
    problems = []
    for label, text in TEXTS.items():
        response = await api.post(query, {"text": text})
        refused, problem = judge(response)
        if problem is None and refused != (label in refusals):
            problem = "refused" if refused else "was not refused"
        if problem is None and label in WILDCARDS:
            count = next(iter(response.json()["data"].values()))["totalCount"]
            problem = f"a literal {text!r} matched {count} rows" if count else None
        if problem:
            problems.append(f"[{label}] {problem}; response={response.text[:400]}")
    assert not problems, "\n".join(problems)


ID_FILTERS = {
    "accounts-ownerIds": ("ClientOwner", "accounts(filter: {ownerIds: [$id], status: []})"),
    "contacts-accountId": ("Account", "contacts(filter: {accountId: $id})"),
}


@pytest.mark.parametrize(("kind", "field"), list(ID_FILTERS.values()), ids=list(ID_FILTERS))
async def test_a_filter_by_a_malformed_or_foreign_id_matches_nothing(
    api: Api, worlds: tuple[World, World], kind: str, field: str
) -> None:
    query = f"query($id: ID!) {{ {field} {{ totalCount }} }}"
    problems = []
    for label, value in hostile_ids(kind, *worlds).items():
        body = await api.execute(query, {"id": value})
        if "errors" in body or body["data"] != {field.split("(")[0]: {"totalCount": 0}}:
            problems.append(f"[{label}] id={value!r}: {body}")
    assert not problems, "\n".join(problems)


ORDERS = ("NAME", "CUSTOMER_NUMBER", "CREATED_AT", "UPDATED_AT", "OWNER_NAME")
CONNECTIONS = {
    "accounts": "accounts(ARGS) { SEL }",
    "contacts": "contacts(ARGS) { SEL }",
    "users": "users(ARGS) { SEL }",
    "clientOwners": "clientOwners(ARGS) { SEL }",
    "account-history": "account(id: $account) { history(ARGS) { SEL } }",
    "owner-accounts": "node(id: $owner) { ... on ClientOwner { accounts(ARGS) { SEL } } }",
    "notifications": "viewer { notifications(ARGS) { SEL } }",
    "emailDeliveries": "emailDeliveries(ARGS) { SEL }",
    **{
        f"accounts-by-{order.lower()}-{way.lower()}": (
            f"accounts(ARGS, orderBy: {{field: {order}, direction: {way}}}) {{ SEL }}"
        )
        for order in ORDERS
        for way in ("ASC", "DESC")
    },
}
PAGE_ARGUMENTS = {
    "first-0": ({"first": 0}, None),
    "first-minus-1": ({"first": -1}, "BAD_USER_INPUT"),
    "first-int32-max": ({"first": 2_147_483_647}, "BAD_USER_INPUT"),
    "first-int32-min": ({"first": -2_147_483_648}, "BAD_USER_INPUT"),
    "after-garbage": ({"after": "garbage!"}, "BAD_USER_INPUT"),
    "after-empty": ({"after": ""}, "BAD_USER_INPUT"),
}
BACKWARD_ARGUMENTS = {
    "last-0": ({"last": 0}, None),
    "last-minus-1": ({"last": -1}, "BAD_USER_INPUT"),
    "last-int32-max": ({"last": 2_147_483_647}, "BAD_USER_INPUT"),
    "first-and-last": ({"first": 1, "last": 1}, "BAD_USER_INPUT"),
    "before-garbage": ({"last": 2, "before": "garbage!"}, "BAD_USER_INPUT"),
}
TYPES = {"first": "Int", "last": "Int", "after": "String", "before": "String"}


async def page(api: Api, world: World, name: str, **arguments: Any) -> Any:
    """The response to one page of connection `name`."""
    template = CONNECTIONS[name]
    refs = {var: world[var] for var in ("account", "owner") if f"${var}" in template}
    declared = [f"${arg}: {TYPES[arg]}" for arg in arguments] + [f"${var}: ID!" for var in refs]
    args = ", ".join(f"{arg}: ${arg}" for arg in arguments)
    field = template.replace("ARGS", args).replace("SEL", "totalCount edges { cursor }")
    return await api.post(f"query({', '.join(declared)}) {{ {field} }}", arguments | refs)


def expect(response: Any, code: str | None) -> str | None:
    problem = judge(response)[1]
    errors = (response.json().get("errors") or []) if problem is None else []
    codes = [error["extensions"]["code"] for error in errors]
    if problem is None and codes != ([code] if code else []):
        problem = f"expected {code or 'data'}, got {codes or 'data'}"
    return f"{problem}; response={response.text[:400]}" if problem else None


@pytest.mark.parametrize("name", list(CONNECTIONS))
async def test_page_arguments_outside_the_rules_are_bad_user_input(
    api: Api, worlds: tuple[World, World], name: str
) -> None:
    problems = []
    for label, (arguments, code) in (PAGE_ARGUMENTS | BACKWARD_ARGUMENTS).items():
        problem = expect(await page(api, worlds[0], name, **arguments), code)
        if problem:
            problems.append(f"[{label}] {problem}")
    assert not problems, "\n".join(problems)


def encode_cursor(parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode()


def part_kind(part: Any) -> str:
    if type(part) is int:
        return "int"
    for kind, parse in (("uuid", uuid.UUID), ("time", datetime.fromisoformat)):
        try:
            parse(part)
            return kind
        except (TypeError, ValueError):
            pass
    return "text" if isinstance(part, str) else "other"


FORGERIES = {
    "ints-beyond-int32": ("int", 2**40),
    "ints-below-int32": ("int", -(2**40)),
    "times-before-year-1-in-utc": ("time", "0001-01-01T00:00:00+14:00"),
    "times-after-year-9999-in-utc": ("time", "9999-12-31T23:59:59-14:00"),
    "texts-10k-chars": ("text", "x" * 10_000),
    "texts-wildcards": ("text", "%_\\"),
    "uuids-braced": ("uuid", "{" + NOWHERE + "}"),
}


def garbage_cursors(real: str) -> dict[str, str]:
    """Cursors of every shape, and forgeries of the real cursor `real`: all its parts of one
    kind replaced by an extreme value of that kind."""
    parts = json.loads(base64.urlsafe_b64decode(real))
    kinds = [part_kind(part) for part in parts]
    forged = {
        label: encode_cursor([value if k == kind else p for p, k in zip(parts, kinds, strict=True)])
        for label, (kind, value) in FORGERIES.items()
        if kind in kinds
    }
    return forged | {
        "empty": "",
        "not-base64": "garbage!",
        "sql": "'; DROP TABLE accounts; --",
        "10k-chars": "A" * 10_000,
        "json-null": encode_cursor(None),
        "json-object": encode_cursor({"a": 1}),
        "nulls": encode_cursor([None] * len(parts)),
        "parts-reversed": encode_cursor(parts[::-1]),
        "one-part-more": encode_cursor([*parts, 1]),
        "nested-lists": encode_cursor([[part] for part in parts]),
    }


@pytest.mark.parametrize("name", list(CONNECTIONS))
async def test_garbage_and_forged_cursors_are_refused_or_answered(
    api: Api, worlds: tuple[World, World], name: str
) -> None:
    world = worlds[0]
    connection = (await page(api, world, name, first=1)).json()["data"]
    while "edges" not in connection:
        connection = next(iter(connection.values()))
    directions = [("first", "after"), ("last", "before")]
    problems = []
    for label, cursor in garbage_cursors(connection["edges"][0]["cursor"]).items():
        for size, argument in directions:
            response = await page(api, world, name, **{size: 2, argument: cursor})
            problem = judge(response)[1]
            if problem:
                problems.append(f"[{argument}={label}] {problem}; {response.text[:400]}")
    assert not problems, "\n".join(problems)


# --- node and nodes -------------------------------------------------------------------------

NODE = "query($id: ID!) { node(id: $id) { id } account(id: $id) { id } contact(id: $id) { id } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"


async def test_node_answers_null_for_every_malformed_or_foreign_id(
    api: Api, other_firm: Api, worlds: tuple[World, World]
) -> None:
    world, other = worlds
    foreign = await other_firm.data("{ viewer { firm { id } } }")
    ids = {
        f"{kind}-{label}": value
        for kind in ID_KEYS
        for label, value in hostile_ids(kind, world, other).items()
        if label != "wrong-type"
    }
    ids |= {f"other-firm-{key}": value for key, value in other.items()}
    ids |= {
        "other-firm-firm": foreign["viewer"]["firm"]["id"],
        "unknown-type": b64(f"Nope:{NOWHERE}"),
        "no-colon": b64(NOWHERE),
        "padding-only": "====",
        "10k-chars": "QQ" * 5_000,
        "sql": "'; DROP TABLE accounts; --",
    }
    for label, value in ids.items():
        body = await api.execute(NODE, {"id": value})
        assert "errors" not in body, label
        assert body["data"] == {"node": None, "account": None, "contact": None}, label
    values = list(ids.values())[:100]
    body = await api.execute(NODES, {"ids": values})
    assert "errors" not in body and body["data"] == {"nodes": [None] * len(values)}


@pytest.mark.parametrize(("count", "code"), [(100, None), (101, "BAD_USER_INPUT")])
async def test_nodes_takes_at_most_one_hundred_ids(api: Api, count: int, code: str | None) -> None:
    account = (await api.create_account("Acme"))["id"]
    response = await api.post(NODES, {"ids": [account] * count})
    assert expect(response, code) is None
    if code is None:
        assert response.json()["data"]["nodes"] == [{"id": account}] * count


# --- all or nothing -------------------------------------------------------------------------

STATE = """
query($a: ID!, $b: ID!) { accounts(filter: {status: []}) { totalCount } contacts { totalCount }
  a: account(id: $a) { ...State } b: account(id: $b) { ...State } }
fragment State on Account { version owner { id } contacts { contact { id } }
  customFields { value } }
"""
VALID_NEW = {"newContact": {"firstName": "Ny", "lastName": "Kontakt"}}
BAD_CONTACTS = {
    "new-contact-bad-email": {"newContact": {"firstName": "A", "lastName": "B", "email": "a.b"}},
    "new-contact-blank-name": {"newContact": {"firstName": " ", "lastName": "B"}},
    "new-contact-bad-phone": {"newContact": {"firstName": "A", "lastName": "B", "phone": "12"}},
    "contact-and-new-contact": {"contactId": "@contact", **VALID_NEW},
    "contact-of-other-firm": {"contactId": "@other.contact"},
    "contact-of-nothing": {"contactId": b64(f"Contact:{NOWHERE}")},
}
BAD_ACCOUNTS = {
    "malformed-id": "x",
    "account-of-nothing": b64(f"Account:{NOWHERE}"),
    "account-of-other-firm": "@other.account",
    "user-id": "@user",
}
BAD_LINKS = BAD_ACCOUNTS | {"inactive-account": "@inactive", "same-account-twice": "@account"}
BAD_VALUES = {
    "number-not-a-number": {"key": "employees", "value": "many"},
    "number-out-of-range": {"key": "employees", "value": "1e999"},
    "unknown-key": {"key": "nope", "value": "1"},
    "key-of-a-contact-field": {"key": "size", "value": "1"},
    "same-key-twice": {"key": "tier", "value": "silver"},
}
HALF_ACCOUNT = {"name": "Half Made", "ownerId": "@owner", "contacts": [VALID_NEW, "@BAD"]}
HALF_CONTACT = {"firstName": "Half", "lastName": "Linked"}
LINKS = [{"accountId": "@account"}, {"accountId": "@BAD"}]
VALUES = [{"key": "tier", "value": "gold"}, {"key": "employees", "value": "12"}, "@BAD"]
SET_VALUES = {"accountId": "@account", "values": VALUES}
MOVE = {"fromOwnerId": "@owner", "toOwnerId": "@owner2"}
MOVE_MIDDLE = MOVE | {"accountIds": ["@account", "@BAD", "@account2"]}
MOVE_FIRST = MOVE | {"accountIds": ["@BAD", "@account"]}
BAD_MOVES = BAD_ACCOUNTS | {"account-of-another-owner": "@third"}
# name: (mutation, input with "@BAD" where one bad part goes, the bad parts)
ALL_OR_NOTHING = {
    "createAccount-second-contact": ("createAccount", HALF_ACCOUNT, BAD_CONTACTS),
    "createContact-second-link": ("createContact", HALF_CONTACT | {"links": LINKS}, BAD_LINKS),
    "createContact-first-link": ("createContact", HALF_CONTACT | {"links": LINKS[::-1]}, BAD_LINKS),
    "setCustomFieldValues": ("setCustomFieldValues", SET_VALUES, BAD_VALUES),
    "transferClients-middle-id": ("transferClients", MOVE_MIDDLE, BAD_MOVES),
    "transferClients-first-id": ("transferClients", MOVE_FIRST, BAD_MOVES),
}
ATOMIC_CASES = [(case, label) for case, (_, _, bad) in ALL_OR_NOTHING.items() for label in bad]


@pytest.mark.parametrize(("case", "label"), ATOMIC_CASES, ids=[f"{c}-{b}" for c, b in ATOMIC_CASES])
async def test_a_mutation_with_one_bad_part_changes_nothing(
    api: Api, other_firm: Api, worlds: tuple[World, World], case: str, label: str
) -> None:
    world, other = worlds
    world["third"] = (await api.create_account("Third", ownerId=world["owner2"]))["id"]
    world["inactive"] = (await api.create_account("Gone", ownerId=world["owner"]))["id"]
    await api.ok("deactivateAccount", {"accountId": world["inactive"]})
    field = {"entity": "ACCOUNT", "key": "employees", "label": "Employees", "type": "NUMBER"}
    await api.ok("defineCustomField", field)
    name, input_, bad = ALL_OR_NOTHING[case]
    input_ = resolve(input_, world | {"BAD": resolve(bad[label], world, other)}, other)
    state = {"a": world["account"], "b": world["account2"]}
    before = await api.data(STATE, state)

    problem = await attempt(Firms((api, other_firm)), name, input_, must_refuse=True)

    assert problem is None, problem
    assert await api.data(STATE, state) == before
