"""Every query field the planned read path covers gives the generic path's exact JSON: the
types beyond the dashboard, fragments, aliases, @skip/@include, variables, pagination by
cursor, `node`, and ids of another firm."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from clientgraph.db import models
from clientgraph.ids import decode_id, encode_id
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support import Api, new_firm
from tests.test_plan_parity import answers, assert_same, seed_clients

EVERYTHING_ON_AN_ACCOUNT = """
query($id: ID!) { account(id: $id) {
  __typename id name customerNumber type status version createdAt updatedAt tags
  owner { __typename id name accountCount user { id name email role isActive permissions
    clientOwner { id name } }
    accounts(first: 2) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { id name } } } }
  teamMembers { id name role isActive permissions clientOwner { name } }
  relatedAccounts { id name status }
  customFields { __typename key label type value }
  history(first: 3) { totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id action occurredAt actor { id name } apiKey { name }
      changes { __typename field from to } } } }
} }
"""

EVERY_CONTACT_OF_AN_ACCOUNT = """
query($id: ID!) { account(id: $id) {
  contacts { description linkedAt roles account { id }
    contact { id firstName lastName fullName phone portalAccess email version
      history(first: 5) { totalCount nodes { action actor { name } } } } } } }
"""

ONE_CONTACT = """
query($id: ID!) { contact(id: $id) { __typename id fullName email emails portalAccess version
  lastLoginAt
  accounts { description linkedAt roles account { id name } contact { id } }
  customFields { key value } history { totalCount edges { cursor node { action } } } } }
"""

FRAGMENTS_ALIASES_AND_DIRECTIVES = """
fragment Names on Account { name customerNumber }
fragment Owner on ClientOwner { ownerName: name }
query Page($withTags: Boolean!, $skipOwner: Boolean!) {
  first: accounts(first: 2) { edges { node { ...Names ... on Account { alias: id } } } }
  rest: accounts(first: 2, orderBy: {field: NAME, direction: DESC}) {
    nodes { ...Names tags @include(if: $withTags) owner @skip(if: $skipOwner) { ...Owner } }
    pageInfo { __typename endCursor } } }
"""

ACCOUNTS_AFTER = """
query($after: String, $before: String, $first: Int, $last: Int) {
  accounts(first: $first, after: $after, last: $last, before: $before) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { name } } } }
"""

ACCOUNTS_AFTER_BY_CREATION = """
{ accounts(orderBy: {field: CREATED_AT}) { edges { cursor node { name createdAt } } } }
"""

FILTERS = """
query($filter: AccountFilter, $order: AccountOrder) {
  accounts(first: 10, filter: $filter, orderBy: $order) {
    totalCount nodes { name customerNumber owner { name } } edges { cursor } } }
"""

NODE = """
query($id: ID!) { node(id: $id) { __typename id
  ... on Account { name tags }
  ... on Contact { fullName }
  ... on ClientOwner { name }
  ... on User { email }
  ... on Firm { name settings { clientOwnershipEnabled customerNumberMinLength } }
  ... on AuditEvent { action changes { field } } } }
"""

NODES = """
query($ids: [ID!]!) { nodes(ids: $ids) { id __typename ... on Account { name owner { name } }
  ... on Contact { fullName accounts { account { name } } } ... on Firm { name } } }
"""

ROOT_LISTS = """
query { viewer { permissions apiKey { name } user { id name role } firm { id name
    settings { clientOwnershipEnabled customerNumberMinLength customerNumberMaxLength } }
    notifications(first: 5) { totalCount nodes { id kind message createdAt readAt
      account { name } } } }
  contacts(first: 3) { totalCount pageInfo { hasNextPage endCursor }
    nodes { id fullName email emails accounts { roles account { name } } } }
  named: contacts(filter: {search: "åse"}) { nodes { fullName } }
  clientOwners { totalCount nodes { id name accountCount user { email } } }
  users(first: 5) { totalCount edges { cursor node { id name email role permissions } } }
  customFieldDefinitions(entity: ACCOUNT) { entity key label type options }
}
"""

ADMIN_LISTS = """
query { apiKeys { id name createdAt expiresAt lastUsedAt revokedAt permissions
    createdBy { name } user { name } }
  emailDeliveries(first: 5) { totalCount nodes { id kind recipient status attempts createdAt
    lastAttemptAt nextAttemptAt lastError sentAt } }
  contact(id: "not an id") { id }
}
"""


async def seed_more(api: Api, clients: dict[str, Any]) -> dict[str, Any]:
    """Custom fields with values, an API key, an invitation e-mail."""
    await api.ok(
        "defineCustomField",
        {
            "entity": "ACCOUNT",
            "key": "tier",
            "label": "Tier",
            "type": "SELECT",
            "options": ["gold", "silver"],
        },
    )
    await api.ok(
        "defineCustomField",
        {"entity": "ACCOUNT", "key": "since", "label": "Client since", "type": "DATE"},
    )
    await api.ok(
        "defineCustomField",
        {"entity": "CONTACT", "key": "nick", "label": "Nickname", "type": "TEXT"},
    )
    await api.ok(
        "setCustomFieldValues",
        {"accountId": clients["accounts"][0], "values": [{"key": "tier", "value": "gold"}]},
    )
    await api.ok("createApiKey", {"name": "Partner", "permissions": ["VIEW_ALL_ACCOUNTS"]})
    contacts = await api.data("{ contacts { nodes { id email } } }")
    invited = next(c for c in contacts["contacts"]["nodes"] if c["email"])
    await api.ok("inviteContact", {"contactId": invited["id"]})
    return {**clients, "contact": invited["id"]}


@pytest.fixture
async def seeded(api: Api) -> dict[str, Any]:
    return await seed_more(api, await seed_clients(api))


async def test_every_field_of_an_account_is_planned_and_identical(
    api: Api, seeded: dict[str, Any]
) -> None:
    for account_id in seeded["accounts"]:
        await assert_same(api, EVERYTHING_ON_AN_ACCOUNT, {"id": account_id})
        await assert_same(
            api, EVERYTHING_ON_AN_ACCOUNT, {"id": account_id}, token=seeded["member_token"]
        )
        await assert_same(api, EVERY_CONTACT_OF_AN_ACCOUNT, {"id": account_id}, deep=True)
        await assert_same(
            api,
            EVERY_CONTACT_OF_AN_ACCOUNT,
            {"id": account_id},
            token=seeded["member_token"],
            deep=True,
        )


async def test_a_contact_is_planned_and_identical(api: Api, seeded: dict[str, Any]) -> None:
    contacts = await api.data("{ contacts { nodes { id } } }")
    for contact in contacts["contacts"]["nodes"]:
        await assert_same(api, ONE_CONTACT, {"id": contact["id"]})
        await assert_same(api, ONE_CONTACT, {"id": contact["id"]}, token=seeded["member_token"])


@pytest.mark.parametrize("with_tags", [True, False])
@pytest.mark.parametrize("skip_owner", [True, False])
async def test_fragments_aliases_and_directives_are_planned_and_identical(
    api: Api, seeded: dict[str, Any], with_tags: bool, skip_owner: bool
) -> None:
    variables = {"withTags": with_tags, "skipOwner": skip_owner}
    body = await assert_same(api, FRAGMENTS_ALIASES_AND_DIRECTIVES, variables)
    node = body["data"]["rest"]["nodes"][0]
    assert ("tags" in node) is with_tags
    assert ("owner" in node) is not skip_owner


async def test_paging_by_cursor_forwards_and_backwards_is_planned_and_identical(
    api: Api, seeded: dict[str, Any]
) -> None:
    first = await assert_same(api, ACCOUNTS_AFTER, {"first": 1})
    cursor = first["data"]["accounts"]["pageInfo"]["endCursor"]
    second = await assert_same(api, ACCOUNTS_AFTER, {"first": 1, "after": cursor})
    assert second["data"]["accounts"]["pageInfo"]["hasPreviousPage"] is True
    last = second["data"]["accounts"]["pageInfo"]["endCursor"]
    await assert_same(api, ACCOUNTS_AFTER, {"last": 1, "before": last})
    await assert_same(api, ACCOUNTS_AFTER, {"first": 0})
    await assert_same(api, ACCOUNTS_AFTER, {"first": 5, "after": cursor}, seeded["member_token"])


@pytest.mark.parametrize(
    "variables",
    [
        {"filter": {"search": "ALPHA"}},
        {"filter": {"status": []}, "order": {"field": "OWNER_NAME", "direction": "DESC"}},
        {"filter": {"tags": ["vip"]}, "order": {"field": "CUSTOMER_NUMBER"}},
        {"filter": {"unowned": True}},
        {"filter": {"types": ["INDIVIDUAL"]}, "order": {"field": "CREATED_AT"}},
        {"order": {"field": "UPDATED_AT", "direction": "DESC"}},
    ],
)
async def test_filters_and_orders_are_planned_and_identical(
    api: Api, seeded: dict[str, Any], variables: dict[str, Any]
) -> None:
    await assert_same(api, FILTERS, variables)


async def test_node_of_each_type_is_planned_and_identical(api: Api, seeded: dict[str, Any]) -> None:
    ids = [*seeded["accounts"], seeded["contact"], encode_id("Firm", api.firm_id)]
    ids.append(encode_id("User", api.user_id))
    history = await api.data(
        "query($id: ID!) { account(id: $id) { history { nodes { id } } owner { id } } }",
        {"id": seeded["accounts"][0]},
    )
    ids.append(history["account"]["history"]["nodes"][0]["id"])
    ids.append(history["account"]["owner"]["id"])
    for global_id in [*ids, "garbage", encode_id("Nothing", api.firm_id)]:
        await assert_same(api, NODE, {"id": global_id})
        await assert_same(api, NODE, {"id": global_id}, token=seeded["member_token"])


async def test_nodes_in_the_order_asked_are_planned_and_identical(
    api: Api, seeded: dict[str, Any]
) -> None:
    ids = [
        seeded["accounts"][2],
        "garbage",
        seeded["contact"],
        seeded["accounts"][0],
        seeded["accounts"][0],
        encode_id("Firm", api.firm_id),
        encode_id("User", api.user_id),
    ]
    for token in (None, seeded["member_token"]):
        body = await assert_same(api, NODES, {"ids": ids}, token)
        assert body["data"]["nodes"][1] is None
        await assert_same(api, NODES, {"ids": []}, token)


async def test_the_root_lists_are_planned_and_identical(api: Api, seeded: dict[str, Any]) -> None:
    await assert_same(api, ROOT_LISTS)
    await assert_same(api, ROOT_LISTS, token=seeded["member_token"])
    await assert_same(api, ADMIN_LISTS)


async def test_an_administrators_list_asked_by_staff_goes_to_the_generic_path(
    api: Api, seeded: dict[str, Any]
) -> None:
    planned, generic = await answers(api, ADMIN_LISTS, token=seeded["member_token"])
    assert planned.headers["X-Read-Path"] == "generic"
    assert planned.json() == generic.json()
    assert planned.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=UTC),
        datetime(1999, 12, 31, 23, 59, 59, 1, tzinfo=UTC),
    ],
)
async def test_times_and_awkward_text_come_out_as_on_the_generic_path(
    api: Api, seeded: dict[str, Any], moment: datetime
) -> None:
    """Microseconds only when not 0, `+00:00`, and text with quotes, controls and emoji."""
    account_id = decode_id(seeded["accounts"][1], "Account")

    async def work(session: AsyncSession) -> None:
        await session.execute(
            update(models.Account)
            .where(models.Account.firm_id == api.firm_id, models.Account.id == account_id)
            .values(created_at=moment, updated_at=moment, name='Quote " \\ tab\t nl\n 🎉 \u2028')
        )
        await session.execute(
            update(models.AuditEvent)
            .where(models.AuditEvent.firm_id == api.firm_id)
            .values(occurred_at=moment)
        )

    await api.db.write(work, firm_id=api.firm_id)
    query = """query($id: ID!) { account(id: $id) { name createdAt updatedAt
      history { edges { cursor node { occurredAt } } } } }"""
    await assert_same(api, query, {"id": seeded["accounts"][1]})
    await assert_same(api, ACCOUNTS_AFTER_BY_CREATION, {})


async def test_a_default_and_an_explicit_null_of_a_variable_get_plans_of_their_own(
    api: Api, seeded: dict[str, Any]
) -> None:
    query = "query($n: Int = 1) { accounts(first: $n) { nodes { name } } }"
    one = await assert_same(api, query, {})
    every = await assert_same(api, query, {"n": None})
    assert len(one["data"]["accounts"]["nodes"]) == 1
    assert len(every["data"]["accounts"]["nodes"]) == 3


async def test_an_id_of_another_firm_is_null_on_the_planned_path(
    api: Api, seeded: dict[str, Any]
) -> None:
    async with new_firm(api.db) as stranger:
        for global_id in seeded["accounts"]:
            body = await assert_same(
                stranger, "query($id: ID!) { account(id: $id) { id name } }", {"id": global_id}
            )
            assert body["data"]["account"] is None
            body = await assert_same(stranger, NODE, {"id": global_id})
            assert body["data"]["node"] is None
