"""A differential corpus that catches planner bugs (issue 15, point 4).

As tests/test_planned_reads.py does, two apps over one database — one with the planned read
path, one without — are sent the same requests and must answer alike, with no pair excused;
here the corpus is built to meet what that one does not:

- every kind of caller (`world.ALL_CALLERS`): the OWNER, a non-owner ADMIN, STAFF who view all
  accounts, STAFF who view assigned ones, two API keys with subsets of the rights, and another
  firm's OWNER;
- generated documents rewritten with variables, `@include`/`@skip` and named fragments, ids of
  the type each argument names (tests/difftest/variants.py); each asked by every caller in turn
  and then again with other variable values, on the same apps, so a plan cached under too
  narrow a key answers the wrong request;
- every connection walked forward with `first`/`after` and back with `last`/`before` on the
  cursors of the answers before, across the fixture's ties (equal names, no customer number,
  no owner, owners of one name);
- mutation payloads with nested selections (a change that changes nothing, so both apps may
  make it).

Each test asserts, per caller, that the planner planned at least `PLANNED_SHARE` of the
documents both paths answer without an error, and the shares per caller and corpus are written
to `var/difftest/planned-shares-<database>.json`.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import graphql
import orjson
import pytest
from clientgraph.db.engine import Database
from clientgraph.schema.graphql_core import graphql_schema
from clientgraph.schema.schema import build_schema

from tests.difftest.generated import fill, fill_value, generated_queries
from tests.difftest.paths import Exchange, Paths, both_paths, gather_cursors, summary
from tests.difftest.variants import variant
from tests.difftest.world import ALL_CALLERS, World, build_world

DOCUMENTS = 48
"""Each caller asks each twice: 160 were used to measure the injected bugs below (README); 48
keep the suite inside its time."""
AT_ONCE = 4
PLANNED_SHARE = 0.9
PAGE = 4
MOST_PAGES = 6
TALLY = Path(__file__).resolve().parents[1] / "var" / "difftest"

Shares = dict[tuple[str, str], Counter[str]]


@pytest.fixture(scope="module")
async def paths(database: Database) -> AsyncIterator[Paths]:
    async with both_paths(database) as both:
        yield both


@pytest.fixture(scope="module")
async def world(database: Database, paths: Paths) -> World:
    built = await build_world(database)
    await gather_cursors(paths, built)
    return built


@pytest.fixture(scope="module")
def shares(database: Database) -> Any:
    found: Shares = {}
    yield found
    TALLY.mkdir(parents=True, exist_ok=True)
    report = {
        f"{corpus} {caller}": {**counts, "share": _share(counts)}
        for (corpus, caller), counts in sorted(found.items())
    }
    (TALLY / f"planned-shares-{database.dialect}.json").write_bytes(
        orjson.dumps(report, option=orjson.OPT_INDENT_2)
    )


def _share(counts: Counter[str]) -> float:
    return counts["planned"] / counts["clean"] if counts["clean"] else 1.0


class Tally:
    """The mismatches of one test, and per caller how many of the documents both paths
    answered without an error the planner planned."""

    def __init__(self, corpus: str, shares: Shares) -> None:
        self.corpus = corpus
        self.shares = shares
        self.mismatches: list[Any] = []
        self.counts: dict[str, Counter[str]] = {}
        self.declined: list[tuple[str, Exchange]] = []

    def add(self, caller: str, exchange: Exchange) -> None:
        if exchange.mismatch is not None:
            self.mismatches.append(exchange.mismatch)
        counts = self.counts.setdefault(caller, Counter())
        if exchange.clean:
            counts["clean"] += 1
            planned = exchange.planned.read_path == "planned"
            counts["planned"] += planned
            if not planned:
                self.declined.append((caller, exchange))

    def check(self) -> None:
        for caller, counts in self.counts.items():
            self.shares.setdefault((self.corpus, caller), Counter()).update(counts)
        assert not self.mismatches, summary(self.mismatches)
        low = {
            caller: f"{counts['planned']} of {counts['clean']}"
            for caller, counts in self.counts.items()
            if _share(counts) < PLANNED_SHARE
        }
        examples = "\n\n".join(
            f"{caller}: {exchange.query}\n{orjson.dumps(exchange.variables).decode()}"
            for caller, exchange in self.declined[:8]
        )
        assert not low, (
            f"planned fewer than {PLANNED_SHARE:.0%} of error-free documents: {low}; "
            f"declined, for example:\n{examples}"
        )


def test_variants_are_valid_and_use_variables_directives_fragments_and_own_ids() -> None:
    schema = graphql_schema(build_schema())
    variants = [variant(document) for document in generated_queries(DOCUMENTS)]
    invalid = [v.document for v in variants if graphql.validate(schema, graphql.parse(v.document))]
    assert invalid == []
    texts = [v.document for v in variants]
    assert sum("$" in text for text in texts) > DOCUMENTS * 0.8
    assert sum("@include(if: $" in text for text in texts) > DOCUMENTS * 0.2
    assert sum("@skip(if: $" in text for text in texts) > DOCUMENTS * 0.2
    assert sum("\nfragment Part" in text for text in texts) > DOCUMENTS * 0.2
    flipped = [
        v
        for v in variants
        if any(isinstance(value, bool) for value in v.values[0].values())
        and v.values[0] != v.values[1]
    ]
    assert len(flipped) > DOCUMENTS * 0.2
    account_ids = [
        value
        for v in variants
        for name, value in v.values[0].items()
        if name.startswith("id") and "account(id: $" + name + ")" in v.document
    ]
    kinds = Counter(value.split(".")[0].strip("@") for value in account_ids)
    assert sum(n for kind, n in kinds.items() if kind.endswith("account")) > len(account_ids) * 0.7
    assert {"assigned_account", "unassigned_account", "foreign_account"} <= set(kinds)
    assert variant(generated_queries(DOCUMENTS)[0]) == variants[0]


@pytest.mark.parametrize("caller", ALL_CALLERS)
async def test_variants_answer_alike_for_each_caller_in_turn_and_with_other_values(
    paths: Paths, world: World, shares: Shares, caller: str
) -> None:
    """The callers' tests run one after the other on the same two apps, so each caller meets
    the plans cached for the callers before; each document is asked with its first values and
    then at once with other ones."""
    tally = Tally("variants", shares)
    token = world.tokens[caller]

    async def ask(document: str) -> None:
        rewritten = variant(document)
        query = fill(rewritten.document, world)
        for values in rewritten.values:
            tally.add(caller, await paths.exchange(caller, token, query, fill_value(values, world)))

    documents = generated_queries(DOCUMENTS)
    for start in range(0, DOCUMENTS, AT_ONCE):
        await asyncio.gather(*(ask(document) for document in documents[start : start + AT_ONCE]))
    tally.check()


PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"
SELECTION = f"totalCount {PAGE_INFO} edges {{ cursor node {{ id }} }}"
ARGUMENTS = "first: $first, after: $after, last: $last, before: $before"
VARIABLES = "$first: Int, $after: String, $last: Int, $before: String"
ACCOUNT_ORDERS = [
    (field_name, direction)
    for field_name in ("NAME", "CUSTOMER_NUMBER", "CREATED_AT", "UPDATED_AT", "OWNER_NAME")
    for direction in ("ASC", "DESC")
]
CONNECTIONS: dict[str, tuple[str, tuple[str, ...], str | None]] = {
    **{
        f"accounts by {field_name} {direction}": (
            f"query({VARIABLES}) {{ page: accounts({ARGUMENTS}, filter: {{status: []}},"
            f" orderBy: {{field: {field_name}, direction: {direction}}}) {{ {SELECTION} }} }}",
            ("page",),
            None,
        )
        for field_name, direction in ACCOUNT_ORDERS
    },
    "contacts": (
        f"query({VARIABLES}) {{ page: contacts({ARGUMENTS}) {{ {SELECTION} }} }}",
        ("page",),
        None,
    ),
    "users": (
        f"query({VARIABLES}) {{ page: users({ARGUMENTS}) {{ {SELECTION} }} }}",
        ("page",),
        None,
    ),
    "clientOwners": (
        f"query({VARIABLES}) {{ page: clientOwners({ARGUMENTS}) {{ {SELECTION} }} }}",
        ("page",),
        None,
    ),
    "emailDeliveries": (
        f"query({VARIABLES}) {{ page: emailDeliveries({ARGUMENTS}) {{ {SELECTION} }} }}",
        ("page",),
        None,
    ),
    "ClientOwner.accounts": (
        f"query({VARIABLES}, $id: ID!) {{ parent: node(id: $id) {{ ... on ClientOwner"
        f" {{ page: accounts({ARGUMENTS}) {{ {SELECTION} }} }} }} }}",
        ("parent", "page"),
        "owner",
    ),
    "Account.history": (
        f"query({VARIABLES}, $id: ID!) {{ parent: account(id: $id)"
        f" {{ page: history({ARGUMENTS}) {{ {SELECTION} }} }} }}",
        ("parent", "page"),
        "account",
    ),
    "Contact.history": (
        f"query({VARIABLES}, $id: ID!) {{ parent: contact(id: $id)"
        f" {{ page: history({ARGUMENTS}) {{ {SELECTION} }} }} }}",
        ("parent", "page"),
        "contact",
    ),
    "Viewer.notifications": (
        f"query({VARIABLES}) {{ parent: viewer {{ page: notifications({ARGUMENTS})"
        f" {{ {SELECTION} }} }} }}",
        ("parent", "page"),
        None,
    ),
}
PARENTS = {"owner": 0, "account": 3, "contact": 0}
"""The parent of a nested connection: the owner with the most accounts, an account on the
assigned STAFF user's team with a long history, the contact whose history is longest."""


def _connection(exchange: Exchange, path: tuple[str, ...]) -> dict[str, Any] | None:
    value: Any = exchange.generic.body
    for key in ("data", *path):
        value = value.get(key) if isinstance(value, dict) else None
    return value


async def _walk(
    paths: Paths,
    tally: Tally,
    caller: str,
    token: str,
    query: str,
    path: tuple[str, ...],
    base: dict[str, Any],
) -> int:
    """Pages forward from the start, then back from the end, each on the cursor the page
    before gave; the number of pages asked."""
    asked = 0
    for forward in (True, False):
        cursor: str | None = None
        for _ in range(MOST_PAGES):
            if forward:
                variables = {**base, "first": PAGE, "after": cursor}
            else:
                variables = {**base, "last": PAGE, "before": cursor}
            exchange = await paths.exchange(caller, token, query, variables)
            tally.add(caller, exchange)
            asked += 1
            page = _connection(exchange, path)
            if page is None:
                break
            info = page["pageInfo"]
            more = info["hasNextPage"] if forward else info["hasPreviousPage"]
            cursor = info["endCursor"] if forward else info["startCursor"]
            if not more or cursor is None:
                break
    return asked


@pytest.mark.parametrize("connection", CONNECTIONS)
async def test_every_connection_pages_forward_and_back_alike_on_real_cursors(
    paths: Paths, world: World, shares: Shares, connection: str
) -> None:
    query, path, parent = CONNECTIONS[connection]
    base = {} if parent is None else {"id": world.ids[parent][PARENTS[parent]]}
    tally = Tally("cursors", shares)
    asked = await asyncio.gather(
        *(
            _walk(paths, tally, caller, world.tokens[caller], query, path, base)
            for caller in ALL_CALLERS
        )
    )
    assert max(asked) >= 4, f"no caller met more than one page each way: {asked}"
    tally.check()


LISTS = [
    """{ accounts(first: 100, filter: {status: []}) { nodes {
         id contacts { contact { id } } teamMembers { id } } } }""",
    "{ contacts(first: 100) { nodes { id accounts { account { id } } } } }",
]
"""Lists in name order read through a join (an account's contacts and team, a contact's
accounts), where the database gives ties in no particular order unless the id breaks them."""


async def test_lists_in_name_order_answer_alike_across_ties(
    paths: Paths, world: World, shares: Shares
) -> None:
    tally = Tally("lists", shares)
    for query in LISTS:
        for caller in ALL_CALLERS:
            tally.add(caller, await paths.exchange(caller, world.tokens[caller], query))
    tally.check()


ACCOUNT_PAYLOAD = """
mutation Rename($id: ID!, $name: String!) {
  updateAccount(input: {accountId: $id, name: $name}) {
    userErrors { field code message }
    account {
      id name version tags
      owner { name accountCount user { name email role } accounts(first: 3) { totalCount %s } }
      teamMembers { name role }
      contacts {
        roles description
        contact { firstName lastName emails accounts { account { name } } }
      }
      history(first: 2) { totalCount edges { node { action actor { name } changes { field } } } }
      relatedAccounts { name owner { name } }
      customFields { key label type value }
    }
  }
}
""".replace("%s", PAGE_INFO)


@pytest.mark.parametrize("kind", ["assigned_account", "unassigned_account", "foreign_account"])
async def test_mutation_payloads_with_nested_selections_answer_alike(
    paths: Paths, world: World, kind: str
) -> None:
    """`updateAccount` to the name the account has changes nothing, so both apps may make
    it, for every caller; the payload reads the account's relations as a query would."""
    reader = "other_firm" if kind.startswith("foreign") else "owner"
    mismatches = []
    for account_id in world.ids[kind][:3]:
        read = await paths.exchange(
            reader,
            world.tokens[reader],
            "query($id: ID!) { account(id: $id) { name } }",
            {"id": account_id},
        )
        variables = {"id": account_id, "name": read.generic.body["data"]["account"]["name"]}
        exchanges = await asyncio.gather(
            *(
                paths.exchange(caller, world.tokens[caller], ACCOUNT_PAYLOAD, variables)
                for caller in ALL_CALLERS
            )
        )
        mismatches.extend(e.mismatch for e in exchanges if e.mismatch is not None)
        answered = [
            e.generic.body["data"]["updateAccount"]["account"]
            for e in exchanges
            if "errors" not in e.generic.body
        ]
        assert kind == "foreign_account" or any(answered), exchanges[0].generic.body
    assert not mismatches, summary(mismatches)
