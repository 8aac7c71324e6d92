"""A relation's batch statement is built once for every caller of the same kind
(`db.loaders.batch_statement`): the caller's ids are parameters, so one statement text serves
two callers of the same rights, and each still reads only what they may see."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import AsyncIterator

import pytest
from clientgraph.auth.viewer import Viewer, portal_viewer, user_viewer
from clientgraph.db.engine import Database
from clientgraph.db.loaders import batch_statement
from clientgraph.db.relation import Relation
from clientgraph.list_limits import ListLimits
from clientgraph.resolvers import read_model
from clientgraph.resolvers.enums import Permission
from clientgraph.resolvers.read_model import CONTACT_LINKS

from tests.support import Api, count_statements, new_firm, settings_for

CONTACT_ACCOUNTS = "query($id: ID!) { contact(id: $id) { accounts { account { name } } } }"


@pytest.fixture
async def api(database: Database) -> AsyncIterator[Api]:
    """Served by the generic path, whose loaders run the batch statements."""
    async with new_firm(database, settings=settings_for(database.url, planned_reads=False)) as api:
        yield api


async def _shared_contact(api: Api) -> tuple[str, dict[str, str]]:
    """A contact at two accounts, each owned by one of two staff users who may see only their
    own accounts: the contact's id, and each user's token by the name of their account."""
    await api.enable_ownership()
    tokens: dict[str, str] = {}
    contact_id = None
    for name in ("Anna's books", "Bert's books"):
        user_id, token = await api.staff("VIEW_ASSIGNED_ACCOUNTS")
        owner = await api.add_owner(user_id=user_id)
        contact = (
            {"contactId": contact_id}
            if contact_id
            else {"newContact": {"firstName": "Sam", "lastName": "Shared"}}
        )
        payload = await api.ok(
            "createAccount",
            {"name": name, "ownerId": owner, "contacts": [contact]},
            "account { contacts { contact { id } } }",
        )
        contact_id = payload["account"]["contacts"][0]["contact"]["id"]
        tokens[name] = token
    assert contact_id is not None
    return contact_id, tokens


async def _accounts_seen(api: Api, contact_id: str, token: str | None = None) -> list[str]:
    data = await api.data(CONTACT_ACCOUNTS, {"id": contact_id}, token)
    return sorted(link["account"]["name"] for link in data["contact"]["accounts"])


async def test_two_callers_of_the_same_rights_each_see_only_their_own_through_one_statement(
    api: Api,
) -> None:
    contact_id, tokens = await _shared_contact(api)
    seen: dict[str, list[str]] = {}
    texts: dict[str, set[str]] = {}

    for name, token in tokens.items():
        with count_statements(api.db) as statements:
            seen[name] = await _accounts_seen(api, contact_id, token)
        texts[name] = set(statements)

    assert seen == {name: [name] for name in tokens}
    assert texts["Anna's books"] == texts["Bert's books"]
    assert await _accounts_seen(api, contact_id) == sorted(tokens)


def _staff(*permissions: Permission) -> Viewer:
    return user_viewer(uuid.uuid4(), uuid.uuid4(), "Staff", "STAFF", [p.value for p in permissions])


def test_callers_of_the_same_rights_share_one_statement_with_their_own_ids() -> None:
    first, second = (
        _staff(Permission.VIEW_ASSIGNED_ACCOUNTS),
        _staff(Permission.VIEW_ASSIGNED_ACCOUNTS),
    )

    statement, parameters, _ = batch_statement(CONTACT_LINKS, first, ListLimits())
    again, other_parameters, _ = batch_statement(CONTACT_LINKS, second, ListLimits())

    assert again is statement
    assert parameters == first.sql_parameters() != other_parameters == second.sql_parameters()


def test_a_caller_of_other_rights_gets_a_statement_of_their_own() -> None:
    assigned_only = _staff(Permission.VIEW_ASSIGNED_ACCOUNTS)
    sees_all = _staff(Permission.VIEW_ALL_ACCOUNTS)

    statement, _, _ = batch_statement(CONTACT_LINKS, assigned_only, ListLimits())

    assert batch_statement(CONTACT_LINKS, sees_all, ListLimits())[0] is not statement


def test_a_portal_contacts_statement_is_its_own() -> None:
    contact = portal_viewer(uuid.uuid4(), uuid.uuid4(), "Client")

    statement, parameters, _ = batch_statement(CONTACT_LINKS, contact, ListLimits())

    assert batch_statement(CONTACT_LINKS, contact, ListLimits())[0] is not statement
    assert parameters == {}


def test_every_declared_relation_has_a_name_of_its_own() -> None:
    """Batch statements are kept by relation, and a relation is known by its name: two
    relations of one name would share one statement."""
    declared = {
        id(value): value
        for module in vars(read_model).values()
        if inspect.ismodule(module)
        for value in vars(module).values()
        if isinstance(value, Relation)
    }
    names = [relation.name for relation in declared.values()]

    assert len(names) > 10
    assert len(set(names)) == len(names), sorted(names)
