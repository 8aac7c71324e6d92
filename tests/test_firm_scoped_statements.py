"""Every statement the service sends for a request names its firm (issue 17, point 5: the way
to shard by firm, README "Sharding by firm (Citus), a sketch"): a statement that reads,
changes or deletes rows of a tenant table filters by `firm_id`, and one that inserts them
writes `firm_id`. Row-level security already keeps firms apart; this is what lets a
distributed database route each statement to the one node holding the firm, instead of asking
every node.

The statements are those of a representative run of HTTP traffic (sign-in, the planned and
the generic read paths, mutations of each kind), captured as the engine sends them and parsed
with PostgreSQL's own parser (pglast). The exceptions are the lookups made before the firm is
known, each named below with why."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from clientgraph.db.models import Base
from pglast import parse_sql

from tests.support import Api, before_each_statement, served_with, settings_for
from tests.test_sign_in import PASSWORD, give_password, login

TENANT_TABLES = frozenset(
    table.name for table in Base.metadata.sorted_tables if "firm_id" in table.columns
)
FIRM_KEYS = {"firms": "id"}
"""Tables whose own key is the firm id."""

BEFORE_THE_FIRM_IS_KNOWN = {
    "users": "sign-in by e-mail: the e-mail's users in every firm (app.sign_in_email)",
    "refresh_tokens": "a refresh token by its hash, whose row names the firm",
}
"""Tables a statement may read without a firm: row-level security lets these lookups see the
few rows one sign-in needs (clientgraph.db.tenancy), and each finds at most a handful."""

FLUSHED_BY_ID = re.compile(r"UPDATE (\w+) SET .+ WHERE \1\.id = \$\d+::UUID")
"""The ORM's flush of a row the transaction loaded (with its firm) updates it by its primary
key, `id` alone. Until those keys become `(firm_id, id)` (README's Citus sketch names the
migration), a distributed database would send such an update to every node."""

ACCOUNTS = """
query Register {
  accounts(first: 10) {
    totalCount
    nodes { id name customerNumber tags owner { name } contacts { contact { firstName } } }
  }
  clientOwners(first: 10) { nodes { name accountCount } }
}"""


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every node of a pglast tree in its dictionary form."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list | tuple):
        for value in node:
            yield from walk(value)


def tables_of(tree: list[dict[str, Any]]) -> set[str]:
    return {node["relname"] for node in tree if node.get("@") == "RangeVar"}


def names_the_firm(tree: list[dict[str, Any]], tables: set[str]) -> bool:
    """Whether the statement compares or writes a firm column: `firm_id` (of any of its
    tables), or the key of `firms`."""
    keys = {"firm_id", *(FIRM_KEYS[table] for table in tables if table in FIRM_KEYS)}
    for node in tree:
        if node.get("@") == "ColumnRef":
            last = node["fields"][-1]
            if last.get("@") == "String" and last["sval"] in keys:
                return True
        if node.get("@") == "ResTarget" and node.get("name") in keys:
            return True
    return False


def unscoped(statement: str) -> set[str] | None:
    """The tenant tables (or `firms`) `statement` touches without naming the firm, or None
    when it names it (or touches no such table)."""
    tree = [node for parsed in parse_sql(statement) for node in walk(parsed(skip_none=True))]
    tables = tables_of(tree) & (TENANT_TABLES | set(FIRM_KEYS))
    if not tables or names_the_firm(tree, tables):
        return None
    return tables


@pytest.fixture
def postgresql_api(api: Api) -> Api:
    if api.db.dialect != "postgresql":
        pytest.skip("the statements a distributed PostgreSQL would route")
    return api


async def representative_traffic(api: Api) -> None:
    """A firm's day through HTTP: each kind of read and write the API serves."""
    await api.enable_ownership()
    owner = await api.add_owner(name="Nina Nord")
    other = await api.add_owner(name="Otto Ost")
    account = await api.create_account(
        "Fjord Fiskeri", customerNumber="2001", ownerId=owner, tags=["vip"]
    )
    await api.create_account("Bageriet", customerNumber="2002", ownerId=owner)
    await api.ok(
        "createContact",
        {
            "firstName": "Mette",
            "lastName": "Frederiksen",
            "email": f"{uuid.uuid4().hex[:8]}@example.com",
            "links": [{"accountId": account["id"], "roles": ["COMMERCIAL"]}],
        },
        "contact { id }",
    )
    await api.ok(
        "updateAccount",
        {"accountId": account["id"], "name": "Fjord Fiskeri ApS", "tags": ["vip", "vat"]},
    )
    await api.ok("assignClientOwner", {"accountId": account["id"], "ownerId": other})
    await api.ok("transferClients", {"fromOwnerId": owner, "toOwnerId": other})
    await api.staff("VIEW_ALL_ACCOUNTS")
    await api.data(ACCOUNTS)
    async with served_with(api, settings_for(api.db.url, planned_reads=False)) as generic:
        await generic.data(ACCOUNTS)
    await api.data(
        "query($id: ID!) { node(id: $id) { ... on Account { history(first: 10) "
        "{ nodes { action } } } } viewer { user { name } permissions } }",
        {"id": account["id"]},
    )
    email = await give_password(api.db, api.firm_id, api.user_id, PASSWORD)
    tokens = (await login(api.http, email, PASSWORD)).json()
    refreshed = await api.http.post("/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    await api.http.post("/auth/logout", json={"refreshToken": refreshed.json()["refreshToken"]})


async def test_every_statement_of_a_firms_traffic_names_the_firm(postgresql_api: Api) -> None:
    statements: list[str] = []
    with before_each_statement(postgresql_api.db, statements.append):
        await representative_traffic(postgresql_api)

    unexplained = {}
    lookups: set[str] = set()
    for statement in statements:
        tables = unscoped(statement)
        if tables is None:
            continue
        if tables <= set(BEFORE_THE_FIRM_IS_KNOWN):
            lookups |= tables
        elif not FLUSHED_BY_ID.fullmatch(statement):
            unexplained[statement] = sorted(tables)

    assert len(statements) > 50
    assert unexplained == {}
    assert lookups == set(BEFORE_THE_FIRM_IS_KNOWN), "an exception listed is no longer needed"


@pytest.mark.parametrize(
    ("statement", "scoped"),
    [
        ("SELECT a.id FROM accounts AS a WHERE a.firm_id = $1 AND a.id = $2", True),
        ("SELECT a.id FROM accounts AS a WHERE a.id = $1", False),
        ("INSERT INTO account_tags (firm_id, account_id, tag) VALUES ($1, $2, $3)", True),
        ("INSERT INTO account_tags (account_id, tag) VALUES ($1, $2)", False),
        ("UPDATE accounts SET name = $1 WHERE id = $2", False),
        ("DELETE FROM account_tags WHERE firm_id = $1 AND account_id = $2", True),
        ("SELECT firms.name FROM firms WHERE firms.id = $1", True),
        ("SELECT set_config('app.firm_id', $1, true)", True),
        ("UPDATE accounts SET name = $1 FROM owners WHERE owners.firm_id = $2", True),
    ],
    ids=[
        "select-scoped",
        "select-unscoped",
        "insert-scoped",
        "insert-unscoped",
        "update-unscoped",
        "delete-scoped",
        "firms-by-key",
        "no-table",
        "a-joined-tables-firm",
    ],
)
def test_the_check_tells_a_statement_that_names_the_firm_from_one_that_does_not(
    statement: str, scoped: bool
) -> None:
    assert (unscoped(statement) is None) == scoped


@pytest.mark.parametrize(
    ("statement", "flushed"),
    [
        ("UPDATE accounts SET version=$1::INTEGER WHERE accounts.id = $2::UUID", True),
        ("UPDATE accounts SET version=$1::INTEGER WHERE accounts.owner_id = $2::UUID", False),
        ("UPDATE accounts SET version=$1::INTEGER WHERE contacts.id = $2::UUID", False),
    ],
    ids=["by-its-id", "by-another-column", "by-another-tables-id"],
)
def test_only_an_update_of_one_row_by_its_id_counts_as_the_orms_flush(
    statement: str, flushed: bool
) -> None:
    assert bool(FLUSHED_BY_ID.fullmatch(statement)) == flushed
