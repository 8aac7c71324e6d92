"""Creating, changing, reading and finding accounts through the API, on every backend."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import Api, errors_of, top_level_codes

ACCOUNT = """
query($id: ID!) {
  account(id: $id) {
    id name customerNumber type status tags version updatedAt
    history { nodes { action actor { id } changes { field from to } } }
  }
}
"""
ACCOUNT_NAMES = """
query($filter: AccountFilter) { accounts(filter: $filter) { totalCount nodes { name status } } }
"""
ACCOUNT_COUNT = "{ accounts { totalCount } }"
VIEWER_ID = "{ viewer { user { id } } }"
FIRM_SETTINGS = (
    "{ viewer { firm { settings "
    "{ clientOwnershipEnabled customerNumberMinLength customerNumberMaxLength } } } }"
)
UPDATE_ACCOUNT = """
mutation($input: UpdateAccountInput!) {
  updateAccount(input: $input) { account { id } userErrors { field code } }
}
"""
ACCOUNT_SELECTION = "account { id name customerNumber type tags version }"


async def read_account(api: Api, account_id: str, token: str | None = None) -> dict[str, Any]:
    return (await api.data(ACCOUNT, {"id": account_id}, token))["account"]


async def account_count(api: Api) -> int:
    return (await api.data(ACCOUNT_COUNT))["accounts"]["totalCount"]


async def names_found(api: Api, filter_: dict[str, Any] | None) -> list[str]:
    data = await api.data(ACCOUNT_NAMES, {"filter": filter_})
    return [node["name"] for node in data["accounts"]["nodes"]]


async def viewer_id(api: Api) -> str:
    return (await api.data(VIEWER_ID))["viewer"]["user"]["id"]


# --- createAccount -------------------------------------------------------------------------


async def test_creating_an_account_with_a_blank_name_is_refused_as_required(api: Api) -> None:
    payload = await api.mutate("createAccount", {"name": "   "}, "account { id }")

    assert payload["account"] is None
    assert errors_of(payload) == [(["name"], "REQUIRED")]
    assert await account_count(api) == 0


async def test_created_account_tags_are_stripped_deduplicated_and_sorted(api: Api) -> None:
    payload = await api.ok(
        "createAccount",
        {"name": "Acme", "tags": [" vip ", "b2b", "vip", "audit  "]},
        ACCOUNT_SELECTION,
    )

    assert payload["account"]["tags"] == ["audit", "b2b", "vip"]
    stored = await read_account(api, payload["account"]["id"])
    assert stored["tags"] == ["audit", "b2b", "vip"]


async def test_a_customer_number_already_used_in_the_firm_is_taken(api: Api) -> None:
    await api.create_account("Acme", customerNumber="1001")

    payload = await api.mutate(
        "createAccount", {"name": "Beta", "customerNumber": "1001"}, "account { id }"
    )

    assert payload["account"] is None
    assert errors_of(payload) == [(["customerNumber"], "TAKEN")]
    assert await names_found(api, None) == ["Acme"]


async def test_the_same_customer_number_is_free_in_another_firm(api: Api, other_firm: Api) -> None:
    await other_firm.create_account("Acme", customerNumber="1001")

    account = await api.create_account("Beta", customerNumber="1001")

    assert account["customerNumber"] == "1001"
    assert await names_found(api, None) == ["Beta"]
    assert await names_found(other_firm, None) == ["Acme"]


async def test_a_customer_number_below_the_firm_minimum_length_is_too_short(api: Api) -> None:
    await api.ok("updateFirmSettings", {"customerNumberMinLength": 4})

    payload = await api.mutate(
        "createAccount", {"name": "Acme", "customerNumber": "123"}, "account { id }"
    )
    accepted = await api.create_account("Beta", customerNumber="1234")

    assert errors_of(payload) == [(["customerNumber"], "TOO_SHORT")]
    assert payload["account"] is None
    assert accepted["customerNumber"] == "1234"
    assert await names_found(api, None) == ["Beta"]


async def test_a_customer_number_above_the_firm_maximum_length_is_too_long(api: Api) -> None:
    await api.ok("updateFirmSettings", {"customerNumberMaxLength": 6})

    payload = await api.mutate(
        "createAccount", {"name": "Acme", "customerNumber": "1234567"}, "account { id }"
    )
    accepted = await api.create_account("Beta", customerNumber="123456")

    assert errors_of(payload) == [(["customerNumber"], "TOO_LONG")]
    assert payload["account"] is None
    assert accepted["customerNumber"] == "123456"
    assert await names_found(api, None) == ["Beta"]


async def test_firm_settings_refuse_a_minimum_above_the_maximum(api: Api) -> None:
    payload = await api.mutate(
        "updateFirmSettings",
        {"customerNumberMinLength": 5, "customerNumberMaxLength": 3},
        "settings { customerNumberMinLength }",
    )

    assert payload["settings"] is None
    assert [code for _, code in errors_of(payload)] == ["INVALID"]
    settings = (await api.data(FIRM_SETTINGS))["viewer"]["firm"]["settings"]
    assert settings == {
        "clientOwnershipEnabled": False,
        "customerNumberMinLength": None,
        "customerNumberMaxLength": None,
    }


async def test_firm_settings_refuse_a_maximum_below_the_stored_minimum(api: Api) -> None:
    await api.ok("updateFirmSettings", {"customerNumberMinLength": 5})

    payload = await api.mutate("updateFirmSettings", {"customerNumberMaxLength": 3})

    assert [code for _, code in errors_of(payload)] == ["INVALID"]
    settings = (await api.data(FIRM_SETTINGS))["viewer"]["firm"]["settings"]
    assert settings["customerNumberMinLength"] == 5
    assert settings["customerNumberMaxLength"] is None


async def test_an_owner_given_while_ownership_is_disabled_is_refused(api: Api) -> None:
    await api.enable_ownership()
    owner = await api.add_owner(name="Nina Extern")
    await api.ok("updateFirmSettings", {"clientOwnershipEnabled": False})

    payload = await api.mutate(
        "createAccount", {"name": "Acme", "ownerId": owner}, "account { id }"
    )

    assert payload["account"] is None
    assert errors_of(payload) == [(["ownerId"], "OWNERSHIP_DISABLED")]
    assert await account_count(api) == 0


# --- updateAccount -------------------------------------------------------------------------


async def test_changing_name_type_and_tags_bumps_the_version_once_and_records_each_field(
    api: Api,
) -> None:
    account = await api.create_account("Acme", type="COMPANY", tags=["a"])

    payload = await api.ok(
        "updateAccount",
        {"accountId": account["id"], "name": "Acme Ltd", "type": "INDIVIDUAL", "tags": ["b", "a"]},
        ACCOUNT_SELECTION,
    )

    assert payload["account"]["version"] == account["version"] + 1 == 2
    stored = await read_account(api, account["id"])
    assert (stored["name"], stored["type"], stored["tags"], stored["version"]) == (
        "Acme Ltd",
        "INDIVIDUAL",
        ["a", "b"],
        2,
    )
    latest = stored["history"]["nodes"][0]
    assert latest["action"] == "account.updated"
    assert sorted(latest["changes"], key=lambda change: change["field"]) == [
        {"field": "name", "from": "Acme", "to": "Acme Ltd"},
        {"field": "tags", "from": "a", "to": "a, b"},
        {"field": "type", "from": "COMPANY", "to": "INDIVIDUAL"},
    ]


async def test_an_update_that_changes_nothing_keeps_the_version(api: Api) -> None:
    account = await api.create_account("Acme", type="COMPANY", tags=["a", "b"])
    before = await read_account(api, account["id"])

    payload = await api.ok(
        "updateAccount",
        {"accountId": account["id"], "name": " Acme ", "type": "COMPANY", "tags": ["b", "a"]},
        ACCOUNT_SELECTION,
    )

    assert payload["account"]["version"] == 1
    after = await read_account(api, account["id"])
    assert after == before
    assert [event["action"] for event in after["history"]["nodes"]] == ["account.created"]


async def test_a_stale_expected_version_is_refused_and_changes_nothing(api: Api) -> None:
    account = await api.create_account("Acme")
    await api.ok("updateAccount", {"accountId": account["id"], "name": "Acme 2"})

    payload = await api.mutate(
        "updateAccount",
        {"accountId": account["id"], "expectedVersion": 1, "name": "Acme 3"},
        "account { id }",
    )

    assert payload["account"] is None
    assert errors_of(payload) == [(["expectedVersion"], "STALE_VERSION")]
    stored = await read_account(api, account["id"])
    assert (stored["name"], stored["version"]) == ("Acme 2", 2)
    assert len(stored["history"]["nodes"]) == 2


async def test_the_current_expected_version_is_accepted(api: Api) -> None:
    account = await api.create_account("Acme")
    await api.ok("updateAccount", {"accountId": account["id"], "name": "Acme 2"})

    payload = await api.ok(
        "updateAccount",
        {"accountId": account["id"], "expectedVersion": 2, "name": "Acme 3"},
        ACCOUNT_SELECTION,
    )

    assert (payload["account"]["name"], payload["account"]["version"]) == ("Acme 3", 3)


async def test_staff_with_edit_all_accounts_may_not_change_a_customer_number(api: Api) -> None:
    account = await api.create_account("Acme", customerNumber="1001")
    before = await read_account(api, account["id"])
    _, token = await api.staff("VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS")

    body = await api.execute(
        UPDATE_ACCOUNT,
        {"input": {"accountId": account["id"], "name": "Renamed", "customerNumber": "2002"}},
        token,
    )

    assert top_level_codes(body) == ["FORBIDDEN"]
    assert await read_account(api, account["id"]) == before


async def test_an_admin_may_change_a_customer_number(api: Api) -> None:
    account = await api.create_account("Acme", customerNumber="1001")
    admin_id, token = await api.staff(role="ADMIN")

    payload = await api.ok(
        "updateAccount",
        {"accountId": account["id"], "customerNumber": "2002"},
        ACCOUNT_SELECTION,
        token,
    )

    assert (payload["account"]["customerNumber"], payload["account"]["version"]) == ("2002", 2)
    latest = (await read_account(api, account["id"]))["history"]["nodes"][0]
    assert latest == {
        "action": "account.updated",
        "actor": {"id": admin_id},
        "changes": [{"field": "customerNumber", "from": "1001", "to": "2002"}],
    }


async def test_fields_left_out_of_an_update_stay_as_they_are(api: Api) -> None:
    account = await api.create_account(
        "Acme", customerNumber="C-1", type="INDIVIDUAL", tags=["vip"]
    )

    await api.ok("updateAccount", {"accountId": account["id"], "name": "Acme Ltd"})

    stored = await read_account(api, account["id"])
    assert (stored["name"], stored["customerNumber"], stored["type"], stored["tags"]) == (
        "Acme Ltd",
        "C-1",
        "INDIVIDUAL",
        ["vip"],
    )


# --- history -------------------------------------------------------------------------------


async def test_history_begins_with_account_created_holding_the_creation_values(api: Api) -> None:
    account = await api.create_account(
        "Acme", customerNumber="C-1", type="INDIVIDUAL", tags=["b", "a"]
    )

    events = (await read_account(api, account["id"]))["history"]["nodes"]

    assert len(events) == 1
    assert events[0]["action"] == "account.created"
    assert events[0]["actor"] == {"id": await viewer_id(api)}
    assert sorted(events[0]["changes"], key=lambda change: change["field"]) == [
        {"field": "customerNumber", "from": None, "to": "C-1"},
        {"field": "name", "from": None, "to": "Acme"},
        {"field": "tags", "from": None, "to": "a, b"},
        {"field": "type", "from": None, "to": "INDIVIDUAL"},
    ]


async def test_history_is_newest_first_and_names_whoever_made_each_change(api: Api) -> None:
    account = await api.create_account("One")
    editor_id, editor_token = await api.staff("VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS")
    await api.ok("updateAccount", {"accountId": account["id"], "name": "Two"}, token=editor_token)
    await api.ok("updateAccount", {"accountId": account["id"], "name": "Three"})

    events = (await read_account(api, account["id"]))["history"]["nodes"]

    owner_id = await viewer_id(api)
    assert [(event["action"], event["actor"]["id"]) for event in events] == [
        ("account.updated", owner_id),
        ("account.updated", editor_id),
        ("account.created", owner_id),
    ]
    assert [event["changes"] for event in events[:2]] == [
        [{"field": "name", "from": "Two", "to": "Three"}],
        [{"field": "name", "from": "One", "to": "Two"}],
    ]


# --- accounts(filter:) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "found"),
    [
        ("ström", ["STRÖM AB"]),
        ("STRÖM", ["STRÖM AB"]),
        ("ærø", ["ÆRØ Shipping"]),
        ("shipping", ["ÆRØ Shipping"]),
        ("rø s", ["ÆRØ Shipping"]),
    ],
)
async def test_search_ignores_case_including_non_ascii_letters(
    api: Api, term: str, found: list[str]
) -> None:
    for name in ("STRÖM AB", "ÆRØ Shipping", "Nordic Trade"):
        await api.create_account(name)

    assert await names_found(api, {"search": term}) == found


async def test_search_matches_the_customer_number(api: Api) -> None:
    await api.create_account("Acme", customerNumber="KN-4711")
    await api.create_account("Beta", customerNumber="KN-0815")

    assert await names_found(api, {"search": "kn-47"}) == ["Acme"]


async def test_the_status_filter_defaults_to_active_accounts(api: Api) -> None:
    await api.create_account("Acme")
    await api.create_account("Beta")

    default = (await api.data(ACCOUNT_NAMES, {"filter": None}))["accounts"]
    inactive = (await api.data(ACCOUNT_NAMES, {"filter": {"status": ["INACTIVE"]}}))["accounts"]
    active = await names_found(api, {"status": ["ACTIVE"]})

    assert default == {
        "totalCount": 2,
        "nodes": [{"name": "Acme", "status": "ACTIVE"}, {"name": "Beta", "status": "ACTIVE"}],
    }
    assert inactive == {"totalCount": 0, "nodes": []}
    assert active == ["Acme", "Beta"]


async def test_the_types_filter_keeps_accounts_of_the_given_types(api: Api) -> None:
    await api.create_account("Anna Person", type="INDIVIDUAL")
    await api.create_account("Beta Company", type="COMPANY")
    await api.create_account("Club", type="OTHER")

    assert await names_found(api, {"types": ["INDIVIDUAL", "OTHER"]}) == ["Anna Person", "Club"]
    assert await names_found(api, {"types": ["COMPANY"]}) == ["Beta Company"]


async def test_the_tags_filter_requires_every_tag(api: Api) -> None:
    await api.create_account("Both", tags=["vip", "b2b"])
    await api.create_account("Vip only", tags=["vip"])
    await api.create_account("B2b only", tags=["b2b"])

    assert await names_found(api, {"tags": ["vip", "b2b"]}) == ["Both"]
    assert await names_found(api, {"tags": ["vip"]}) == ["Both", "Vip only"]
