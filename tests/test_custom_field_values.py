"""Setting custom field values of accounts and contacts through the API, on every backend: values
stored normalised or refused as invalid, the history of changes, and who may set them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.register_support import (
    account_fields,
    define,
    forbidden,
    mutation_document,
    values_of,
    version_of,
)
from tests.support import Api, errors_of, new_contact

CONTACT_FIELDS = """
query($id: ID!) {
  contact(id: $id) {
    version customFields { key label type value }
    history { nodes { action changes { field from to } } }
  }
}
"""


@pytest.mark.parametrize(
    ("type_", "raw", "stored"),
    [
        ("TEXT", "Retail, Nordics", "Retail, Nordics"),
        ("NUMBER", "12.50", "12.5"),
        ("NUMBER", "-3", "-3"),
        ("NUMBER", "1000", "1000"),
        ("NUMBER", "0.000", "0"),
        ("DATE", "2024-02-29", "2024-02-29"),
        ("BOOLEAN", "TRUE", "true"),
        ("BOOLEAN", "false", "false"),
        ("SELECT", "Medium", "Medium"),
    ],
)
async def test_a_value_that_fits_its_type_is_stored_normalised(
    api: Api, type_: str, raw: str, stored: str
) -> None:
    options = ["Small", "Medium", "Large"] if type_ == "SELECT" else None
    await define(api, "field", "Field", type_, options)
    account = await api.create_account("Acme")

    payload = await api.ok(
        "setCustomFieldValues",
        {"accountId": account["id"], "values": [{"key": "field", "value": raw}]},
        "account { customFields { key label type value } }",
    )

    expected = [{"key": "field", "label": "Field", "type": type_, "value": stored}]
    assert payload["account"]["customFields"] == expected
    assert (await account_fields(api, account["id"]))["customFields"] == expected


@pytest.mark.parametrize(
    ("type_", "raw"),
    [
        ("NUMBER", "abc"),
        ("NUMBER", "12,5"),
        ("NUMBER", "NaN"),
        ("DATE", "2023-02-29"),
        ("DATE", "29/02/2024"),
        ("BOOLEAN", "yes"),
        ("BOOLEAN", "1"),
        ("SELECT", "Huge"),
        ("SELECT", "medium"),
    ],
)
async def test_a_value_that_does_not_fit_its_type_is_invalid_and_not_stored(
    api: Api, type_: str, raw: str
) -> None:
    options = ["Small", "Medium", "Large"] if type_ == "SELECT" else None
    await define(api, "field", "Field", type_, options)
    account = await api.create_account("Acme")

    payload = await api.mutate(
        "setCustomFieldValues",
        {"accountId": account["id"], "values": [{"key": "field", "value": raw}]},
        "account { id }",
    )

    assert payload["account"] is None
    assert errors_of(payload) == [(["values", "0", "value"], "INVALID")]
    assert await values_of(api, account["id"]) == {"field": None}
    assert await version_of(api, account["id"]) == (1, 1)


async def test_a_number_too_large_to_hold_is_invalid_not_an_internal_error(api: Api) -> None:
    await define(api, "revenue", "Revenue", "NUMBER")
    account = await api.create_account("Acme")
    input_ = {"accountId": account["id"], "values": [{"key": "revenue", "value": "1e999999999"}]}

    body = await api.execute(
        mutation_document("setCustomFieldValues", "account { id }"), {"input": input_}
    )

    assert "errors" not in body
    assert body["data"] == {
        "setCustomFieldValues": {
            "account": None,
            "userErrors": [{"field": ["values", "0", "value"], "code": "INVALID"}],
        }
    }
    assert await values_of(api, account["id"]) == {"revenue": None}


async def test_an_unknown_key_is_not_found(api: Api) -> None:
    await define(api, "segment", "Segment", "TEXT")
    account = await api.create_account("Acme")

    payload = await api.mutate(
        "setCustomFieldValues",
        {
            "accountId": account["id"],
            "values": [{"key": "segment", "value": "Retail"}, {"key": "sector", "value": "x"}],
        },
        "account { id }",
    )

    assert payload["account"] is None
    assert errors_of(payload) == [(["values", "1", "key"], "NOT_FOUND")]
    assert await values_of(api, account["id"]) == {"segment": None}


async def test_one_invalid_value_stores_none_of_the_call(api: Api) -> None:
    await define(api, "segment", "Segment", "TEXT")
    await define(api, "revenue", "Revenue", "NUMBER")
    await define(api, "since", "Client since", "DATE")
    account = await api.create_account("Acme")

    payload = await api.mutate(
        "setCustomFieldValues",
        {
            "accountId": account["id"],
            "values": [
                {"key": "segment", "value": "Retail"},
                {"key": "revenue", "value": "abc"},
                {"key": "since", "value": "2020-01-31"},
            ],
        },
        "account { id }",
    )

    assert payload["account"] is None
    assert errors_of(payload) == [(["values", "1", "value"], "INVALID")]
    assert await values_of(api, account["id"]) == {
        "since": None,
        "revenue": None,
        "segment": None,
    }
    assert await version_of(api, account["id"]) == (1, 1)


async def test_every_invalid_value_of_a_call_is_reported(api: Api) -> None:
    await define(api, "revenue", "Revenue", "NUMBER")
    await define(api, "since", "Client since", "DATE")
    account = await api.create_account("Acme")

    payload = await api.mutate(
        "setCustomFieldValues",
        {
            "accountId": account["id"],
            "values": [
                {"key": "revenue", "value": "abc"},
                {"key": "nope", "value": "1"},
                {"key": "since", "value": "2023-02-29"},
            ],
        },
        "account { id }",
    )

    assert errors_of(payload) == [
        (["values", "0", "value"], "INVALID"),
        (["values", "1", "key"], "NOT_FOUND"),
        (["values", "2", "value"], "INVALID"),
    ]


async def test_a_null_value_clears_the_field(api: Api) -> None:
    await define(api, "segment", "Segment", "TEXT")
    account = await api.create_account("Acme")
    await api.ok(
        "setCustomFieldValues",
        {"accountId": account["id"], "values": [{"key": "segment", "value": "Retail"}]},
    )

    await api.ok(
        "setCustomFieldValues",
        {"accountId": account["id"], "values": [{"key": "segment", "value": None}]},
    )

    fields = await account_fields(api, account["id"])
    assert fields["customFields"] == [
        {"key": "segment", "label": "Segment", "type": "TEXT", "value": None}
    ]
    assert fields["version"] == 3
    assert fields["history"]["nodes"][0]["changes"] == [
        {"field": "customFields.segment", "from": "Retail", "to": None}
    ]


async def test_account_custom_fields_list_every_account_field_by_label(api: Api) -> None:
    await define(api, "vat", "VAT number", "TEXT")
    await define(api, "segment", "Segment", "SELECT", ["Small", "Large"])
    await define(api, "active_since", "Active since", "DATE")
    await define(api, "birthday", "Birthday", "DATE", entity="CONTACT")
    account = await api.create_account("Acme")
    await api.ok(
        "setCustomFieldValues",
        {"accountId": account["id"], "values": [{"key": "segment", "value": "Large"}]},
    )

    fields = (await account_fields(api, account["id"]))["customFields"]

    assert fields == [
        {"key": "active_since", "label": "Active since", "type": "DATE", "value": None},
        {"key": "segment", "label": "Segment", "type": "SELECT", "value": "Large"},
        {"key": "vat", "label": "VAT number", "type": "TEXT", "value": None},
    ]


async def test_values_belong_to_their_account_only(api: Api) -> None:
    await define(api, "segment", "Segment", "TEXT")
    acme = await api.create_account("Acme")
    beta = await api.create_account("Beta")

    await api.ok(
        "setCustomFieldValues",
        {"accountId": acme["id"], "values": [{"key": "segment", "value": "Retail"}]},
    )

    assert await values_of(api, acme["id"]) == {"segment": "Retail"}
    assert await values_of(api, beta["id"]) == {"segment": None}


async def test_each_change_of_values_lands_in_the_history(api: Api) -> None:
    await define(api, "segment", "Segment", "TEXT")
    await define(api, "revenue", "Revenue", "NUMBER")
    account = await api.create_account("Acme")
    await api.ok(
        "setCustomFieldValues",
        {"accountId": account["id"], "values": [{"key": "segment", "value": "Retail"}]},
    )

    payload = await api.ok(
        "setCustomFieldValues",
        {
            "accountId": account["id"],
            "values": [
                {"key": "segment", "value": "Wholesale"},
                {"key": "revenue", "value": "1500.00"},
            ],
        },
        "account { version }",
    )

    assert payload["account"] == {"version": 3}
    history = (await account_fields(api, account["id"]))["history"]["nodes"]
    assert history[0]["action"] == "account.custom_fields_changed"
    assert history[0]["actor"] == {"name": "Firm Owner"}
    assert sorted(history[0]["changes"], key=lambda change: change["field"]) == [
        {"field": "customFields.revenue", "from": None, "to": "1500"},
        {"field": "customFields.segment", "from": "Retail", "to": "Wholesale"},
    ]
    assert history[1] == {
        "action": "account.custom_fields_changed",
        "actor": {"name": "Firm Owner"},
        "changes": [{"field": "customFields.segment", "from": None, "to": "Retail"}],
    }


async def test_setting_the_value_a_field_already_has_records_nothing(api: Api) -> None:
    await define(api, "revenue", "Revenue", "NUMBER")
    account = await api.create_account("Acme")
    await api.ok(
        "setCustomFieldValues",
        {"accountId": account["id"], "values": [{"key": "revenue", "value": "12.5"}]},
    )
    before = await version_of(api, account["id"])

    await api.ok(
        "setCustomFieldValues",
        {"accountId": account["id"], "values": [{"key": "revenue", "value": "12.50"}]},
    )

    assert await version_of(api, account["id"]) == before


async def test_contact_custom_fields_are_set_on_the_contact(api: Api) -> None:
    await define(api, "birthday", "Birthday", "DATE", entity="CONTACT")
    await define(api, "newsletter", "Newsletter", "BOOLEAN", entity="CONTACT")
    await define(api, "segment", "Segment", "TEXT")
    contact = await new_contact(api, first="Eva", last="Berg")

    payload = await api.ok(
        "setCustomFieldValues",
        {"contactId": contact, "values": [{"key": "birthday", "value": "1980-05-17"}]},
        "contact { id customFields { key value } } account { id }",
    )

    assert payload["contact"] == {
        "id": contact,
        "customFields": [
            {"key": "birthday", "value": "1980-05-17"},
            {"key": "newsletter", "value": None},
        ],
    }
    assert payload["account"] is None
    read = (await api.data(CONTACT_FIELDS, {"id": contact}))["contact"]
    assert read["customFields"] == [
        {"key": "birthday", "label": "Birthday", "type": "DATE", "value": "1980-05-17"},
        {"key": "newsletter", "label": "Newsletter", "type": "BOOLEAN", "value": None},
    ]
    assert read["version"] == 2
    assert read["history"]["nodes"][0] == {
        "action": "contact.custom_fields_changed",
        "changes": [{"field": "customFields.birthday", "from": None, "to": "1980-05-17"}],
    }


async def test_an_account_field_cannot_be_set_on_a_contact(api: Api) -> None:
    await define(api, "segment", "Segment", "TEXT")
    contact = await new_contact(api, first="Eva", last="Berg")

    payload = await api.mutate(
        "setCustomFieldValues",
        {"contactId": contact, "values": [{"key": "segment", "value": "Retail"}]},
        "contact { id }",
    )

    assert payload["contact"] is None
    assert errors_of(payload) == [(["values", "0", "key"], "NOT_FOUND")]


@pytest.mark.parametrize("subjects", ["both", "neither"])
async def test_exactly_one_of_account_and_contact_is_required(api: Api, subjects: str) -> None:
    await define(api, "segment", "Segment", "TEXT")
    await define(api, "segment", "Segment", "TEXT", entity="CONTACT")
    account = await api.create_account("Acme")
    contact = await new_contact(api, account["id"], first="Eva", last="Berg")
    input_: dict[str, Any] = {"values": [{"key": "segment", "value": "Retail"}]}
    if subjects == "both":
        input_ |= {"accountId": account["id"], "contactId": contact}

    payload = await api.mutate("setCustomFieldValues", input_, "account { id } contact { id }")

    assert (payload["account"], payload["contact"]) == (None, None)
    assert errors_of(payload) == [(["accountId"], "REQUIRED")]
    assert await values_of(api, account["id"]) == {"segment": None}
    contact_fields = (await api.data(CONTACT_FIELDS, {"id": contact}))["contact"]
    assert [field["value"] for field in contact_fields["customFields"]] == [None]


async def test_staff_who_may_only_view_is_forbidden_to_set_values(api: Api) -> None:
    await define(api, "segment", "Segment", "TEXT")
    account = await api.create_account("Acme")
    _, token = await api.staff("VIEW_ALL_ACCOUNTS", "ASSIGN_ACCOUNTS")
    input_ = {"accountId": account["id"], "values": [{"key": "segment", "value": "Retail"}]}

    await forbidden(api, "setCustomFieldValues", input_, token)

    assert await values_of(api, account["id"]) == {"segment": None}
    assert await version_of(api, account["id"]) == (1, 1)


async def test_staff_who_may_edit_all_accounts_may_set_values(api: Api) -> None:
    await define(api, "segment", "Segment", "TEXT")
    account = await api.create_account("Acme")
    _, token = await api.staff("VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS", name="Sven Staff")

    await api.ok(
        "setCustomFieldValues",
        {"accountId": account["id"], "values": [{"key": "segment", "value": "Retail"}]},
        token=token,
    )

    fields = await account_fields(api, account["id"])
    assert fields["customFields"][0]["value"] == "Retail"
    assert fields["history"]["nodes"][0]["actor"] == {"name": "Sven Staff"}


async def test_setting_values_on_another_firms_account_is_not_found(
    api: Api, other_firm: Api
) -> None:
    await define(api, "segment", "Segment", "TEXT")
    await define(other_firm, "segment", "Segment", "TEXT")
    foreign = await other_firm.create_account("Foreign AB")

    payload = await api.mutate(
        "setCustomFieldValues",
        {"accountId": foreign["id"], "values": [{"key": "segment", "value": "Hijacked"}]},
        "account { id }",
    )

    assert payload["account"] is None
    assert errors_of(payload) == [(["accountId"], "NOT_FOUND")]
    assert await values_of(other_firm, foreign["id"]) == {"segment": None}


async def test_setting_values_on_another_firms_contact_is_not_found(
    api: Api, other_firm: Api
) -> None:
    await define(api, "birthday", "Birthday", "DATE", entity="CONTACT")
    await define(other_firm, "birthday", "Birthday", "DATE", entity="CONTACT")
    foreign = await new_contact(other_firm, first="Olle", last="Other")

    payload = await api.mutate(
        "setCustomFieldValues",
        {"contactId": foreign, "values": [{"key": "birthday", "value": "1980-05-17"}]},
        "contact { id }",
    )

    assert payload["contact"] is None
    assert errors_of(payload) == [(["contactId"], "NOT_FOUND")]
    read = (await other_firm.data(CONTACT_FIELDS, {"id": foreign}))["contact"]
    assert [field["value"] for field in read["customFields"]] == [None]


async def test_a_number_with_an_exponent_too_long_to_read_is_invalid(api: Api) -> None:
    account = await api.create_account("Acme")
    await api.ok(
        "defineCustomField", {"entity": "ACCOUNT", "key": "size", "label": "Size", "type": "NUMBER"}
    )

    payload = await api.mutate(
        "setCustomFieldValues",
        {
            "accountId": account["id"],
            "values": [{"key": "size", "value": "1e99999999999999999999"}],
        },
        "account { id }",
    )

    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (["values", "0", "value"], "INVALID")
    ]
