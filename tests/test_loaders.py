"""Nested fields load through DataLoaders: the statement count follows the query's shape,
never the number of rows."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from clientgraph.db import models
from clientgraph.db.engine import Database
from clientgraph.db.queries import fold
from clientgraph.ids import decode_id
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support import (
    Api,
    count_statements,
    new_firm,
    served_with,
    settings_for,
)

DASHBOARD = """
query($first: Int!) {
  accounts(first: $first) {
    nodes {
      owner { name user { email } accountCount }
      tags
      teamMembers { name }
      contacts { roles contact { fullName email customFields { key value } } }
      relatedAccounts { name }
      customFields { key value }
    }
  }
}
"""


async def _firm_with_accounts(api: Api, count: int) -> None:
    await api.enable_ownership()
    member_id, _ = await api.staff("VIEW_ALL_ACCOUNTS", name="Team Member")
    owner = await api.add_owner(user_id=member_id)
    account_ids = [
        decode_id(
            (await api.create_account(f"Account {i:03}", ownerId=owner, tags=["a", f"t{i}"]))["id"],
            "Account",
        )
        for i in range(count)
    ]
    member = decode_id(member_id, "User")

    async def link_everything(session: AsyncSession) -> None:
        for index, account_id in enumerate(account_ids):
            contact = models.Contact(
                id=uuid.uuid4(),
                firm_id=api.firm_id,
                first_name="Ann",
                last_name=f"Contact {index}",
                first_name_folded="ann",
                last_name_folded=fold(f"Contact {index}"),
                search_folded=f"ann contact {index}",
            )
            session.add(contact)
            await session.flush()
            session.add_all(
                [
                    models.ContactEmail(
                        firm_id=api.firm_id,
                        contact_id=contact.id,
                        email=f"ann{index}@example.com",
                        email_folded=f"ann{index}@example.com",
                        position=0,
                    ),
                    models.AccountContact(
                        firm_id=api.firm_id,
                        account_id=account_id,
                        contact_id=contact.id,
                        is_commercial=True,
                    ),
                    models.AccountTeamMember(
                        firm_id=api.firm_id, account_id=account_id, user_id=member
                    ),
                ]
            )

    await api.db.write(link_everything, firm_id=api.firm_id)


GENERIC = {"planned_reads": False}
"""These tests are about the loaders of Strawberry's executor, the reference path; the planned
read path answers the same queries in one statement (tests/test_plan_*.py)."""

DASHBOARD_SETTINGS = GENERIC
"""At the default node limit: 50 accounts of this dashboard count 42,550 nodes."""


@pytest.fixture
async def api(database: Database) -> AsyncIterator[Api]:
    async with new_firm(database, settings=settings_for(database.url, **GENERIC)) as client:
        yield client


async def _statements_for(db: Database, count: int) -> int:
    async with new_firm(db, settings=settings_for(db.url, **DASHBOARD_SETTINGS)) as api:
        await _firm_with_accounts(api, count)
        with count_statements(db) as statements:
            data = await api.data(DASHBOARD, {"first": count})
        nodes = data["accounts"]["nodes"]
        assert len(nodes) == count
        assert all(len(node["contacts"]) == 1 and node["teamMembers"] for node in nodes)
        assert nodes[0]["owner"]["accountCount"] == count
        return len(statements)


async def test_dashboard_statement_count_is_the_same_for_5_and_50_accounts(
    database: Database,
) -> None:
    assert await _statements_for(database, 5) == await _statements_for(database, 50)


async def test_every_nested_relation_is_one_batched_statement(database: Database) -> None:
    async with new_firm(database, settings=settings_for(database.url, **DASHBOARD_SETTINGS)) as api:
        await _firm_with_accounts(api, 3)

        with count_statements(api.db) as statements:
            await api.data(DASHBOARD, {"first": 3})

    selects = [statement for statement in statements if statement.startswith("SELECT")]
    # the viewer and the page, then one each for owner, owner.user, accountCount, tags,
    # teamMembers, contacts, contact emails, relatedAccounts, and custom fields (each
    # definition with its value) once for the accounts and once for their contacts
    assert len(selects) == 12, selects


NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Account { name } } }"


async def test_nodes_loads_many_accounts_in_one_statement(api: Api) -> None:
    ids = [(await api.create_account(f"Account {i}"))["id"] for i in range(6)]

    with count_statements(api.db) as statements:
        data = await api.data(NODES, {"ids": ids})

    assert [node["id"] for node in data["nodes"]] == ids
    selects = [statement for statement in statements if statement.startswith("SELECT")]
    assert len(selects) == 2, selects


NESTED_CONNECTIONS = """
query($first: Int!) {
  clientOwners {
    nodes {
      accounts(first: $first) {
        totalCount
        nodes { name history(first: 1) { totalCount nodes { action } } }
      }
    }
  }
}
"""


async def _nested_statements(db: Database, owners: int) -> int:
    async with new_firm(db, settings=settings_for(db.url, **GENERIC)) as api:
        await api.enable_ownership()
        for index in range(owners):
            owner = await api.add_owner(name=f"Owner {index}")
            for number in range(3):
                await api.create_account(f"Account {index}.{number}", ownerId=owner)
        with count_statements(db) as statements:
            data = await api.data(NESTED_CONNECTIONS, {"first": 2})
        nodes = data["clientOwners"]["nodes"]
        assert [node["accounts"]["totalCount"] for node in nodes] == [3] * owners
        assert all(
            account["history"]["nodes"][0]["action"] == "account.created"
            for node in nodes
            for account in node["accounts"]["nodes"]
        )
        return len([statement for statement in statements if statement.startswith("SELECT")])


async def test_nested_connections_load_their_first_pages_in_batches(database: Database) -> None:
    assert await _nested_statements(database, 2) == await _nested_statements(database, 6)


async def test_batches_of_any_size_send_the_same_statement_texts(database: Database) -> None:
    """Every pooled connection caches a prepared statement per SQL text: a text per batch
    size would fill those caches with copies of one query and keep re-preparing them."""
    texts_by_size: dict[int, set[str]] = {}
    async with new_firm(database, settings=settings_for(database.url, **DASHBOARD_SETTINGS)) as api:
        await _firm_with_accounts(api, 12)
        for size in (1, 2, 7, 12):
            with count_statements(api.db) as statements:
                await api.data(DASHBOARD, {"first": size})
            texts_by_size[size] = set(statements)

    assert all(texts == texts_by_size[1] for texts in texts_by_size.values()), texts_by_size


SIBLING_FAILS = """
query($account: ID!, $ids: [ID!]!) {
  node(id: $account) {
    ... on Account { contacts { contact { history(first: 101) { totalCount } } } tags }
  }
  nodes(ids: $ids) {
    ... on ApiKey {
      user { clientOwner { user { clientOwner { user { clientOwner { name } } } } } }
    }
  }
}
"""


async def test_a_load_cancelled_by_a_failing_sibling_field_leaves_the_request_able_to_read(
    api: Api,
) -> None:
    """graphql-core cancels an object's other fields when one of its non-null fields fails
    (`contacts`, through a contact's page size past the maximum, right after their batch
    read), and Strawberry cancels a batch no field waits for any more (`tags`, whose statement
    is then under way). The request's later loads, an ApiKey's `user` and on through
    `nodes(ids:)`, still answer: on PostgreSQL they failed with "Can't reconnect until invalid
    transaction is rolled back" (INTERNAL_SERVER_ERROR). Answered by the generic path, whose
    loaders these are."""
    await api.enable_ownership()
    user = (await api.data("{ viewer { user { id } } }"))["viewer"]["user"]["id"]
    account = await api.create_account(
        "Tagged",
        ownerId=await api.add_owner(user_id=user),
        tags=["vip"],
        contacts=[{"newContact": {"firstName": "A", "lastName": "B"}}],
    )
    key = await api.ok(
        "createApiKey", {"name": "Partner", "permissions": ["VIEW_ALL_ACCOUNTS"]}, "apiKey { id }"
    )
    variables = {"account": account["id"], "ids": [key["apiKey"]["id"]]}
    async with served_with(api, settings_for(api.db.url, planned_reads=False)) as generic:
        body = await generic.execute(SIBLING_FAILS, variables)
    assert [error["extensions"]["code"] for error in body["errors"]] == ["BAD_USER_INPUT"], body
    owner = {"clientOwner": {"name": "Firm Owner"}}
    chain = {"user": {"clientOwner": {"user": {"clientOwner": {"user": owner}}}}}
    assert body["data"] == {"node": None, "nodes": [chain]}
