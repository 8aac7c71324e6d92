"""Incremental sync (issue 16 point 6): `updatedSince` on the account and contact filters, and
the firm-wide `auditEvents` feed in commit order, which a partner paging with `after` follows
without missing an event whose transaction commits late."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from clientgraph.db import models
from clientgraph.ids import decode_id
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support import Api, asyncpg_dsn, eventually, owner_url
from tests.test_plan_parity import assert_same

LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)
SINCE = "2025-01-01T00:00:00+00:00"

ACCOUNTS_SINCE = """
query($since: DateTime) { accounts(filter: {updatedSince: $since}) {
  totalCount nodes { name updatedAt } } }
"""
CONTACTS_SINCE = """
query($since: DateTime) { contacts(filter: {updatedSince: $since}) {
  totalCount nodes { fullName } } }
"""
FEED = """
query($first: Int, $after: String, $filter: AuditEventFilter) {
  auditEvents(first: $first, after: $after, filter: $filter) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id action subjectType subjectId occurredAt actor { name }
      changes { field from to } } } } }
"""


async def _age(api: Api, model: Any, ids: list[uuid.UUID]) -> None:
    """Rows `ids` of `model` last changed long ago."""

    async def age(session: AsyncSession) -> None:
        await session.execute(update(model).where(model.id.in_(ids)).values(updated_at=LONG_AGO))

    await api.db.write(age, firm_id=api.firm_id)


async def _contact(api: Api, last_name: str) -> str:
    payload = await api.ok(
        "createContact", {"firstName": "Ada", "lastName": last_name}, "contact { id }"
    )
    return payload["contact"]["id"]


def _feed_actions(body: dict[str, Any]) -> list[str]:
    return [edge["node"]["action"] for edge in body["auditEvents"]["edges"]]


async def _feed(api: Api, token: str | None = None, **variables: Any) -> dict[str, Any]:
    return await assert_same(api, FEED, variables, token)


async def _settled(api: Api, count: int) -> None:
    """Wait until the feed holds the firm's `count` events: it shows an event once every
    transaction of the database cluster that began writing before it has ended, and other
    work on the machine's PostgreSQL may be writing meanwhile."""

    async def shown() -> bool:
        body = await api.execute(FEED)
        return len(body["data"]["auditEvents"]["edges"]) >= count

    await eventually(shown, timeout=60.0)


async def test_accounts_changed_since_a_time_are_the_ones_listed(api: Api) -> None:
    old = await api.create_account("Old Account")
    await api.create_account("New Account")
    await _age(api, models.Account, [decode_id(old["id"], "Account")])

    body = await assert_same(api, ACCOUNTS_SINCE, {"since": SINCE})

    assert [node["name"] for node in body["data"]["accounts"]["nodes"]] == ["New Account"]
    assert body["data"]["accounts"]["totalCount"] == 1


async def test_an_account_changed_again_is_listed_again(api: Api) -> None:
    account = await api.create_account("Touched")
    await _age(api, models.Account, [decode_id(account["id"], "Account")])
    await api.ok("updateAccount", {"accountId": account["id"], "name": "Touched Again"})

    body = await assert_same(api, ACCOUNTS_SINCE, {"since": SINCE})

    assert [node["name"] for node in body["data"]["accounts"]["nodes"]] == ["Touched Again"]


async def test_contacts_changed_since_a_time_are_the_ones_listed(api: Api) -> None:
    old = await _contact(api, "Oldman")
    await _contact(api, "Newman")
    await _age(api, models.Contact, [decode_id(old, "Contact")])

    body = await assert_same(api, CONTACTS_SINCE, {"since": SINCE})

    assert [node["fullName"] for node in body["data"]["contacts"]["nodes"]] == ["Ada Newman"]


async def test_the_feed_gives_the_firms_changes_oldest_first_with_their_subjects(
    api: Api,
) -> None:
    account = await api.create_account("Feed One")
    await api.ok("updateAccount", {"accountId": account["id"], "name": "Feed Two"})
    contact = await _contact(api, "Feedson")
    await _settled(api, 3)

    edges = (await _feed(api))["data"]["auditEvents"]["edges"]

    nodes = [edge["node"] for edge in edges]
    assert [(n["action"], n["subjectType"], n["subjectId"]) for n in nodes] == [
        ("account.created", "account", account["id"]),
        ("account.updated", "account", account["id"]),
        ("contact.created", "contact", contact),
    ]
    assert nodes[1]["changes"] == [{"field": "name", "from": "Feed One", "to": "Feed Two"}]
    assert nodes[0]["actor"] == {"name": "Firm Owner"}


async def test_paging_after_the_last_cursor_gives_only_what_came_since(api: Api) -> None:
    await api.create_account("Before")
    await _settled(api, 1)
    first = (await _feed(api))["data"]["auditEvents"]
    await api.create_account("After")
    await _settled(api, 2)

    rest = (await _feed(api, after=first["pageInfo"]["endCursor"]))["data"]

    assert _feed_actions(rest) == ["account.created"]
    assert rest["auditEvents"]["edges"][0]["node"]["subjectType"] == "account"
    assert rest["auditEvents"]["pageInfo"]["hasNextPage"] is False


async def test_pages_of_the_feed_cover_every_event_once(api: Api) -> None:
    for index in range(5):
        await api.create_account(f"Paged {index}")
    await _settled(api, 5)
    seen: list[str] = []
    after = None
    while True:
        page = (await _feed(api, first=2, after=after))["data"]["auditEvents"]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    everything = (await _feed(api))["data"]["auditEvents"]["edges"]
    assert seen == [edge["node"]["id"] for edge in everything]
    assert len(seen) == 5


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        ({"actions": ["account.updated"]}, ["account.updated"]),
        ({"subjectTypes": ["contact"]}, ["contact.created"]),
        (
            {"actions": ["account.created", "contact.created"]},
            ["account.created", "contact.created"],
        ),
        ({"since": "2999-01-01T00:00:00+00:00"}, []),
        ({"actions": []}, []),
    ],
)
async def test_the_feed_filters_by_action_subject_type_and_time(
    api: Api, filter_: dict[str, Any], expected: list[str]
) -> None:
    account = await api.create_account("Filtered")
    await api.ok("updateAccount", {"accountId": account["id"], "name": "Filtered Too"})
    await _contact(api, "Filterson")
    await _settled(api, 3)

    body = await _feed(api, filter=filter_)

    assert _feed_actions(body["data"]) == expected


async def test_the_feed_holds_no_other_firms_events(api: Api, other_firm: Api) -> None:
    await other_firm.create_account("Elsewhere")
    await api.create_account("Here")
    await _settled(api, 1)

    body = await _feed(api)

    assert _feed_actions(body["data"]) == ["account.created"]


@pytest.mark.parametrize(
    ("filter_", "message"),
    [
        ({"subjectTypes": ["accounts"]}, "Unknown subject type 'accounts'"),
        ({"actions": ["x"] * 51}, "at most 50 actions"),
        ({"subjectTypes": ["account"] * 51}, "at most 50 subjectTypes"),
        ({"actions": ["a" * 81]}, "at most 80 characters"),
    ],
)
async def test_a_bad_feed_filter_is_refused_in_words(
    api: Api, filter_: dict[str, Any], message: str
) -> None:
    body = await api.execute(FEED, {"filter": filter_})

    assert body["data"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == ["BAD_USER_INPUT"]
    assert message in body["errors"][0]["message"]


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (ACCOUNTS_SINCE, {"since": "2025-01-01T00:00:00"}),
        (ACCOUNTS_SINCE, {"since": "2025-01-01"}),
        (ACCOUNTS_SINCE, {"since": "0001-01-01T00:00:00+01:00"}),
        (CONTACTS_SINCE, {"since": "2025-01-01T00:00:00"}),
        (CONTACTS_SINCE, {"since": "0001-01-01T00:00:00+01:00"}),
        (FEED, {"filter": {"since": "2025-01-01T00:00:00"}}),
        (FEED, {"filter": {"since": "0001-01-01T00:00:00+01:00"}}),
    ],
)
async def test_a_time_without_a_zone_or_out_of_range_is_refused_in_words(
    api: Api, query: str, variables: dict[str, Any]
) -> None:
    body = await api.execute(query, variables)

    assert [error["extensions"]["code"] for error in body["errors"]] == ["BAD_USER_INPUT"]
    assert (
        "time zone" in body["errors"][0]["message"]
        or "out of range" in (body["errors"][0]["message"])
    )


async def test_a_forged_cursor_is_refused(api: Api) -> None:
    body = await api.execute(FEED, {"after": "WzEsMiwzXQ=="})

    assert [error["extensions"]["code"] for error in body["errors"]] == ["BAD_USER_INPUT"]


async def _api_key(api: Api, *permissions: str) -> str:
    permissions = permissions or ("VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS")
    payload = await api.ok("createApiKey", {"name": "Sync", "permissions": permissions}, "key")
    return str(payload["key"])


@pytest.mark.parametrize("caller", ["staff who sees every account", "an API key"])
async def test_without_the_feed_right_the_feed_is_refused(api: Api, caller: str) -> None:
    await api.create_account("Secret Change")
    if caller == "an API key":
        token = await _api_key(api)
    else:
        _, token = await api.staff("VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS")

    body = await api.execute(FEED, token=token)

    assert body["data"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == ["FORBIDDEN"]
    assert "READ_AUDIT_FEED" in body["errors"][0]["message"]


async def test_an_administrator_reads_the_feed(api: Api) -> None:
    await api.create_account("Seen By Admin")
    _, token = await api.staff(role="ADMIN")
    await _settled(api, 1)

    body = await _feed(api, token=token)

    assert "account.created" in _feed_actions(body["data"])


@pytest.mark.parametrize("caller", ["a partner's API key", "staff given the right"])
async def test_a_holder_of_the_feed_right_reads_every_accounts_events(
    api: Api, caller: str
) -> None:
    await api.create_account("Assigned To Nobody")
    if caller == "a partner's API key":
        token = await _api_key(api, "READ_AUDIT_FEED")
    else:
        _, token = await api.staff("READ_AUDIT_FEED")
    await _settled(api, 1)

    body = await _feed(api, token=token)

    assert "account.created" in _feed_actions(body["data"])


async def test_a_key_loses_the_feed_when_its_creator_is_no_longer_an_administrator(
    api: Api,
) -> None:
    admin_id, admin_token = await api.staff(role="ADMIN")
    created = await api.execute(
        "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key } }",
        {"input": {"name": "Partner sync", "permissions": ["READ_AUDIT_FEED"]}},
        token=admin_token,
    )
    key = created["data"]["createApiKey"]["key"]
    await api.ok("updateUser", {"userId": admin_id, "role": "STAFF", "permissions": []})

    body = await api.execute(FEED, token=key)

    assert [error["extensions"]["code"] for error in body["errors"]] == ["FORBIDDEN"]


async def _record_in_open_transaction(
    connection: asyncpg.Connection, api: Api, action: str
) -> None:
    await connection.execute(
        "INSERT INTO audit_events (id, firm_id, subject_type, subject_id, action, occurred_at,"
        " changes) VALUES ($1, $2, 'account', $3, $4, $5, '[]')",
        uuid.uuid4(),
        api.firm_id,
        uuid.uuid4(),
        action,
        datetime.now(UTC) - timedelta(minutes=1),
    )


async def test_an_event_whose_transaction_commits_late_still_comes_after_the_cursor(
    api: Api,
) -> None:
    """A transaction records an event and stays open while another change commits and a
    partner reads the feed: the partner is not given the later change yet, and once the slow
    transaction commits, paging on from its cursor brings both, slow one first."""
    if api.db.dialect != "postgresql":
        pytest.skip("one writer at a time on SQLite: no transaction commits out of order")
    await api.create_account("Settled")
    await _settled(api, 1)
    cursor = (await _feed(api))["data"]["auditEvents"]["pageInfo"]["endCursor"]
    slow = await asyncpg.connect(asyncpg_dsn(owner_url(api.db)))
    try:
        transaction = slow.transaction()
        await transaction.start()
        await _record_in_open_transaction(slow, api, "account.slow")
        await api.create_account("Quick")

        while_open = (await _feed(api, after=cursor))["data"]

        await transaction.commit()
    finally:
        await slow.close()
    await _settled(api, 3)
    after_commit = (await _feed(api, after=cursor))["data"]

    assert _feed_actions(while_open) == []
    assert _feed_actions(after_commit) == ["account.slow", "account.created"]
