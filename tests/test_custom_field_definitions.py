"""Defining custom fields through the API, on every backend: who may, which keys, types and
options are valid, and how definitions are listed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.register_support import (
    account_fields,
    define,
    forbidden,
    mutation_document,
)
from tests.support import EVERY_PERMISSION, Api, errors_of

DEFINITIONS = """
query($entity: CustomFieldEntity!) {
  customFieldDefinitions(entity: $entity) { entity key label type options }
}
"""
DEFINITION = "definition { entity key label type options }"


def outcome(body: dict[str, Any], name: str) -> list[Any]:
    """The top-level error codes of a response, or else its payload's user errors."""
    if body.get("errors"):
        return [error["extensions"]["code"] for error in body["errors"]]
    return errors_of(body["data"][name])


async def test_an_admin_defines_a_select_field(api: Api) -> None:
    payload = await api.ok(
        "defineCustomField",
        {
            "entity": "ACCOUNT",
            "key": "segment",
            "label": "Segment",
            "type": "SELECT",
            "options": ["Small", "Medium", "Large"],
        },
        DEFINITION,
    )

    expected = {
        "entity": "ACCOUNT",
        "key": "segment",
        "label": "Segment",
        "type": "SELECT",
        "options": ["Small", "Medium", "Large"],
    }
    assert payload["definition"] == expected
    assert (await api.data(DEFINITIONS, {"entity": "ACCOUNT"}))["customFieldDefinitions"] == [
        expected
    ]


async def test_an_admin_who_is_not_the_owner_may_define_a_field(api: Api) -> None:
    _, token = await api.staff(role="ADMIN")

    payload = await api.ok(
        "defineCustomField",
        {"entity": "CONTACT", "key": "birthday", "label": "Birthday", "type": "DATE"},
        DEFINITION,
        token,
    )

    assert payload["definition"] == {
        "entity": "CONTACT",
        "key": "birthday",
        "label": "Birthday",
        "type": "DATE",
        "options": [],
    }


async def test_staff_is_forbidden_to_define_a_custom_field(api: Api) -> None:
    _, token = await api.staff(*EVERY_PERMISSION)
    input_ = {"entity": "ACCOUNT", "key": "segment", "label": "Segment", "type": "TEXT"}

    await forbidden(api, "defineCustomField", input_, token)

    assert (await api.data(DEFINITIONS, {"entity": "ACCOUNT"}))["customFieldDefinitions"] == []


async def test_a_field_without_a_label_is_refused(api: Api) -> None:
    payload = await api.mutate(
        "defineCustomField",
        {"entity": "ACCOUNT", "key": "segment", "label": "  ", "type": "TEXT"},
        DEFINITION,
    )

    assert payload["definition"] is None
    assert errors_of(payload) == [(["label"], "REQUIRED")]
    assert (await api.data(DEFINITIONS, {"entity": "ACCOUNT"}))["customFieldDefinitions"] == []


@pytest.mark.parametrize(
    "key", ["Bad Key", "Segment", "1st", "_segment", "vat-no", "", "a" * 51, "momsnr_å"]
)
async def test_a_key_outside_the_pattern_is_invalid(api: Api, key: str) -> None:
    payload = await api.mutate(
        "defineCustomField",
        {"entity": "ACCOUNT", "key": key, "label": "Label", "type": "TEXT"},
        DEFINITION,
    )

    assert payload["definition"] is None
    assert errors_of(payload) == [(["key"], "INVALID")]
    assert (await api.data(DEFINITIONS, {"entity": "ACCOUNT"}))["customFieldDefinitions"] == []


@pytest.mark.parametrize("key", ["a", "vat_no_2", "a" * 50])
async def test_a_key_inside_the_pattern_is_accepted(api: Api, key: str) -> None:
    payload = await api.ok(
        "defineCustomField",
        {"entity": "ACCOUNT", "key": key, "label": "Label", "type": "TEXT"},
        "definition { key }",
    )

    assert payload["definition"] == {"key": key}


async def test_a_key_defined_twice_for_the_same_entity_is_taken(api: Api) -> None:
    await define(api, "segment", "Segment", "TEXT")

    payload = await api.mutate(
        "defineCustomField",
        {"entity": "ACCOUNT", "key": "segment", "label": "Other", "type": "NUMBER"},
        DEFINITION,
    )

    assert payload["definition"] is None
    assert errors_of(payload) == [(["key"], "TAKEN")]
    definitions = (await api.data(DEFINITIONS, {"entity": "ACCOUNT"}))["customFieldDefinitions"]
    assert [(d["label"], d["type"]) for d in definitions] == [("Segment", "TEXT")]


async def test_concurrent_definitions_of_one_key_leave_one_field_and_call_the_rest_taken(
    api: Api,
) -> None:
    input_ = {"entity": "ACCOUNT", "key": "segment", "label": "Segment", "type": "TEXT"}
    document = mutation_document("defineCustomField", "definition { key }")

    bodies = await asyncio.gather(*(api.execute(document, {"input": input_}) for _ in range(6)))

    outcomes = sorted((outcome(body, "defineCustomField") for body in bodies), key=len)
    assert outcomes == [[]] + [[(["key"], "TAKEN")]] * 5
    definitions = (await api.data(DEFINITIONS, {"entity": "ACCOUNT"}))["customFieldDefinitions"]
    assert [d["key"] for d in definitions] == ["segment"]


async def test_the_same_key_may_serve_accounts_and_contacts(api: Api) -> None:
    await define(api, "note", "Account note", "TEXT")

    await define(api, "note", "Contact note", "TEXT", entity="CONTACT")

    accounts = (await api.data(DEFINITIONS, {"entity": "ACCOUNT"}))["customFieldDefinitions"]
    contacts = (await api.data(DEFINITIONS, {"entity": "CONTACT"}))["customFieldDefinitions"]
    assert [(d["entity"], d["key"], d["label"]) for d in accounts] == [
        ("ACCOUNT", "note", "Account note")
    ]
    assert [(d["entity"], d["key"], d["label"]) for d in contacts] == [
        ("CONTACT", "note", "Contact note")
    ]


async def test_a_select_field_without_options_is_required_to_have_some(api: Api) -> None:
    payload = await api.mutate(
        "defineCustomField",
        {"entity": "ACCOUNT", "key": "segment", "label": "Segment", "type": "SELECT"},
        DEFINITION,
    )

    assert payload["definition"] is None
    assert errors_of(payload) == [(["options"], "REQUIRED")]


async def test_a_select_option_listed_twice_is_invalid(api: Api) -> None:
    payload = await api.mutate(
        "defineCustomField",
        {
            "entity": "ACCOUNT",
            "key": "segment",
            "label": "Segment",
            "type": "SELECT",
            "options": ["Small", "Small", "Large"],
        },
        DEFINITION,
    )

    assert payload["definition"] is None
    assert errors_of(payload) == [(["options", "1"], "INVALID")]
    assert (await api.data(DEFINITIONS, {"entity": "ACCOUNT"}))["customFieldDefinitions"] == []


@pytest.mark.parametrize("type_", ["TEXT", "NUMBER", "DATE", "BOOLEAN"])
async def test_options_on_a_field_that_is_not_select_are_invalid(api: Api, type_: str) -> None:
    payload = await api.mutate(
        "defineCustomField",
        {"entity": "ACCOUNT", "key": "field", "label": "Field", "type": type_, "options": ["A"]},
        DEFINITION,
    )

    assert payload["definition"] is None
    assert errors_of(payload) == [(["options"], "INVALID")]


async def test_custom_field_definitions_list_one_entity_by_label(api: Api) -> None:
    await define(api, "vat", "VAT number", "TEXT")
    await define(api, "segment", "Segment", "SELECT", ["Small", "Large"])
    await define(api, "branch", "Branch", "TEXT")
    await define(api, "birthday", "Birthday", "DATE", entity="CONTACT")

    data = await api.data(DEFINITIONS, {"entity": "ACCOUNT"})

    assert data["customFieldDefinitions"] == [
        {"entity": "ACCOUNT", "key": "branch", "label": "Branch", "type": "TEXT", "options": []},
        {
            "entity": "ACCOUNT",
            "key": "segment",
            "label": "Segment",
            "type": "SELECT",
            "options": ["Small", "Large"],
        },
        {"entity": "ACCOUNT", "key": "vat", "label": "VAT number", "type": "TEXT", "options": []},
    ]


async def test_another_firms_custom_fields_are_neither_listed_nor_settable(
    api: Api, other_firm: Api
) -> None:
    await define(other_firm, "segment", "Segment", "TEXT")
    account = await api.create_account("Acme")

    payload = await api.mutate(
        "setCustomFieldValues",
        {"accountId": account["id"], "values": [{"key": "segment", "value": "Retail"}]},
        "account { id }",
    )

    assert (await api.data(DEFINITIONS, {"entity": "ACCOUNT"}))["customFieldDefinitions"] == []
    assert errors_of(payload) == [(["values", "0", "key"], "NOT_FOUND")]
    assert (await account_fields(api, account["id"]))["customFields"] == []
