"""An input with several bad fields reports every one of them in `userErrors`, each with its
field path, as Shopify does, and nothing is written when any is reported (issue 16 point 7).

Inputs are data: "@account", "@contact", "@user" and "@me" (the caller) stand for the ids of
the world's rows."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import Api, stored

Fields = set[tuple[str, str]]
TOO_LONG_DESCRIPTION = "d" * 501

CASES: dict[str, tuple[str, dict[str, Any], Fields]] = {
    "createContact: blank last name, bad e-mail, bad phone": (
        "createContact",
        {"firstName": "Ada", "lastName": " ", "email": "no-at-sign", "phone": "12"},
        {("lastName", "REQUIRED"), ("email", "INVALID"), ("phone", "INVALID")},
    ),
    "createContact: bad extra e-mail, unknown country, bad link": (
        "createContact",
        {
            "firstName": "",
            "lastName": "Lovelace",
            "email": "ada@example.com",
            "extraEmails": ["ada@example.com", "nope"],
            "phone": "20 12 34 56",
            "phoneCountry": "XX",
            "links": [{"accountId": "x", "description": TOO_LONG_DESCRIPTION}],
        },
        {
            ("firstName", "REQUIRED"),
            ("extraEmails.0", "INVALID"),
            ("extraEmails.1", "INVALID"),
            ("phoneCountry", "INVALID"),
            ("links.0.accountId", "NOT_FOUND"),
            ("links.0.description", "TOO_LONG"),
        },
    ),
    "updateContact: blank first name, bad e-mail, bad phone": (
        "updateContact",
        {"contactId": "@contact", "firstName": "", "email": "a@", "phone": "+1"},
        {("firstName", "REQUIRED"), ("email", "INVALID"), ("phone", "INVALID")},
    ),
    "createAccount: blank name, blank tag, unknown owner, bad new contact": (
        "createAccount",
        {
            "name": " ",
            "tags": ["vip", " "],
            "ownerId": "x",
            "contacts": [
                {"newContact": {"firstName": "", "lastName": "B", "email": "bad"}},
                {"contactId": "x", "description": TOO_LONG_DESCRIPTION},
            ],
        },
        {
            ("name", "REQUIRED"),
            ("tags.1", "INVALID"),
            ("ownerId", "NOT_FOUND"),
            ("contacts.0.newContact.firstName", "REQUIRED"),
            ("contacts.0.newContact.email", "INVALID"),
            ("contacts.1.contactId", "NOT_FOUND"),
            ("contacts.1.description", "TOO_LONG"),
        },
    ),
    "updateAccount: blank name, null type, blank tag": (
        "updateAccount",
        {"accountId": "@account", "name": "", "type": None, "tags": [""]},
        {("name", "REQUIRED"), ("type", "REQUIRED"), ("tags.0", "INVALID")},
    ),
    "createUser: blank name, bad e-mail": (
        "createUser",
        {"name": "", "email": "nobody"},
        {("name", "REQUIRED"), ("email", "INVALID")},
    ),
    "updateUser: blank name, null role, null permissions": (
        "updateUser",
        {"userId": "@user", "name": " ", "role": None, "permissions": None},
        {("name", "REQUIRED"), ("role", "REQUIRED"), ("permissions", "REQUIRED")},
    ),
    "updateFirmSettings: null switch, both lengths out of range": (
        "updateFirmSettings",
        {
            "clientOwnershipEnabled": None,
            "customerNumberMinLength": 0,
            "customerNumberMaxLength": 101,
        },
        {
            ("clientOwnershipEnabled", "REQUIRED"),
            ("customerNumberMinLength", "INVALID"),
            ("customerNumberMaxLength", "INVALID"),
        },
    ),
    "defineCustomField: bad key, blank label, options on TEXT": (
        "defineCustomField",
        {"entity": "ACCOUNT", "key": "Bad Key", "label": " ", "type": "TEXT", "options": ["a"]},
        {("key", "INVALID"), ("label", "REQUIRED"), ("options", "INVALID")},
    ),
    "createApiKey: blank name, past expiry": (
        "createApiKey",
        {"name": "", "permissions": [], "expiresAt": "2001-01-01T00:00:00Z"},
        {("name", "REQUIRED"), ("expiresAt", "INVALID")},
    ),
    "linkContact: unknown account and contact, overlong description": (
        "linkContact",
        {"accountId": "x", "contactId": "y", "description": TOO_LONG_DESCRIPTION},
        {("accountId", "NOT_FOUND"), ("contactId", "NOT_FOUND"), ("description", "TOO_LONG")},
    ),
    "updateAccountContact: null roles, overlong description": (
        "updateAccountContact",
        {
            "accountId": "@account",
            "contactId": "@contact",
            "roles": None,
            "description": TOO_LONG_DESCRIPTION,
        },
        {("roles", "REQUIRED"), ("description", "TOO_LONG")},
    ),
    "deleteUser: yourself, in favour of an unknown owner": (
        "deleteUser",
        {"userId": "@me", "transferClientsTo": "x"},
        {("userId", "INVALID"), ("transferClientsTo", "NOT_FOUND")},
    ),
    "transferClients: unknown source, target and account": (
        "transferClients",
        {"fromOwnerId": "x", "toOwnerId": "y", "accountIds": ["z"]},
        {("fromOwnerId", "NOT_FOUND"), ("toOwnerId", "NOT_FOUND"), ("accountIds.0", "NOT_FOUND")},
    ),
}


async def world(api: Api) -> dict[str, str]:
    account = await api.create_account("Acme")
    contact = await api.ok(
        "createContact",
        {"firstName": "Grace", "lastName": "Hopper", "links": [{"accountId": account["id"]}]},
        "contact { id }",
    )
    user_id, _ = await api.staff()
    me = (await api.data("{ viewer { user { id } } }"))["viewer"]["user"]["id"]
    return {
        "account": account["id"],
        "contact": contact["contact"]["id"],
        "user": user_id,
        "me": me,
    }


def filled(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str) and value.startswith("@"):
        return ids[value[1:]]
    if isinstance(value, list):
        return [filled(item, ids) for item in value]
    if isinstance(value, dict):
        return {key: filled(item, ids) for key, item in value.items()}
    return value


@pytest.mark.parametrize("case", list(CASES))
async def test_every_bad_field_is_reported_at_once_and_nothing_is_written(
    api: Api, case: str
) -> None:
    mutation, input_, expected = CASES[case]
    ids = await world(api)
    before = await stored(api)

    payload = await api.mutate(mutation, filled(input_, ids))

    reported = {(".".join(error["field"]), error["code"]) for error in payload["userErrors"]}
    assert reported == expected
    assert all(error["message"] for error in payload["userErrors"])
    assert await stored(api) == before


async def test_a_new_account_reports_a_missing_owner_and_a_taken_number_together(
    api: Api,
) -> None:
    await api.create_account("First", customerNumber="1001")
    await api.enable_ownership()
    before = await stored(api)

    payload = await api.mutate("createAccount", {"name": "Second", "customerNumber": "1001"})

    reported = {(".".join(error["field"]), error["code"]) for error in payload["userErrors"]}
    assert reported == {("ownerId", "OWNER_REQUIRED"), ("customerNumber", "TAKEN")}
    assert await stored(api) == before


async def test_a_right_the_caller_lacks_is_refused_before_the_input_is_checked(api: Api) -> None:
    _, token = await api.staff("VIEW_ALL_ACCOUNTS")

    body = await api.execute(
        'mutation { createUser(input: {name: "", email: "bad"}) { userErrors { code } } }',
        token=token,
    )

    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
