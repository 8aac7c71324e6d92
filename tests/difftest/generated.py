"""Query operations generated from the schema by hypothesis-graphql, the same ones every run.

Generation is seeded: the documents depend only on the schema and `SEED`. They are drawn
before any database exists, so ids, cursors and search words cannot come from the data
directly: the strategies write placeholders (`@@account.3@@`, `@@cursor_contacts.7@@`,
`@@word.2@@`) that `fill` replaces with a real value of the run's fixture (or a foreign or
garbage id). Page sizes are mostly small and valid, `first` and `last` rarely come together,
and `after`/`before` mostly carry a real cursor of their own connection, so most queries run,
reach data and meet several pages; some page sizes are 0, negative or too large, and some
cursors are garbage, so errors are compared too.

Each document asks for one root field (weighted towards the ones single-page apps use most),
or for several; hypothesis-graphql's own `@given` runs its search engine around every example
(about 0.15 s each here, and examples that differ by one choice), so examples are drawn
straight from the strategy with a seeded random source instead.
"""

from __future__ import annotations

import dataclasses
import functools
import random
import re

import graphql
from clientgraph.schema.graphql_core import graphql_schema
from clientgraph.schema.schema import build_schema
from hypothesis import strategies as st
from hypothesis.control import BuildContext
from hypothesis.internal.conjecture.data import ConjectureData
from hypothesis_graphql import queries

from tests.difftest.world import World

SEED = 20261129
ROOT_WEIGHTS = {
    "accounts": 5,
    "account": 4,
    "node": 2,
    "nodes": 2,
    "contacts": 2,
    "contact": 2,
    "viewer": 2,
    "clientOwners": 2,
    "users": 1,
    "apiKeys": 1,
    "emailDeliveries": 1,
    "customFieldDefinitions": 1,
    "*": 3,
}
"""How often each root field is the one a document asks for; `*` draws from all of them."""
ID_KINDS = (
    ["account"] * 3
    + ["assigned_account"] * 4
    + ["unassigned_account"] * 2
    + ["contact"] * 3
    + ["owner"] * 2
    + ["user"] * 2
    + [
        "event",
        "notification",
        "api_key",
        "delivery",
        "firm",
        "foreign_account",
        "foreign_contact",
        "foreign_user",
        "foreign_owner",
        "foreign_firm",
        "garbage",
        "garbage",
    ]
)
PLACEHOLDER = re.compile(r"@@(\w+)\.(\d+)@@")


def _placeholder(kind: str, index: int) -> graphql.StringValueNode:
    return graphql.StringValueNode(value=f"@@{kind}.{index}@@")


def _int(value: int) -> graphql.IntValueNode:
    return graphql.IntValueNode(value=str(value))


IDS = st.builds(_placeholder, st.sampled_from(ID_KINDS), st.integers(0, 63))
PAGE_SIZES = st.sampled_from([1, 2, 3, 4] * 5 + [0, 7, 25, 100] + [-1, 101]).map(_int)
"""Mostly 1-4 (the fixture has pages of them), sometimes empty or whole, rarely refused."""
STRINGS = st.one_of(
    st.builds(_placeholder, st.just("word"), st.integers(0, 63)),
    st.builds(_placeholder, st.just("word"), st.integers(0, 63)),
    st.builds(_placeholder, st.just("word"), st.integers(0, 63)),
    st.text(st.characters(min_codepoint=1, max_codepoint=0x2FF), max_size=6).map(
        lambda text: graphql.StringValueNode(value=text)
    ),
)
CUSTOM_SCALARS = {"ID": IDS, "Int": PAGE_SIZES, "String": STRINGS}


class _Tuned(graphql.Visitor):
    """Most connection fields get either `first` or `last` (GraphQL allows both, the API
    refuses them together), and a cursor of their own connection in `after`/`before` (one in
    twelve a search word instead)."""

    def enter_field(self, node: graphql.FieldNode, *_: object) -> graphql.FieldNode:
        arguments = {argument.name.value: argument for argument in node.arguments or ()}
        first, last = arguments.get("first"), arguments.get("last")
        if first is not None and last is not None and _index(first.value) % 10:
            del arguments["last"]
        for name in ("after", "before"):
            argument = arguments.get(name)
            if argument is None or not isinstance(argument.value, graphql.StringValueNode):
                continue
            index = _index(argument.value)
            if index % 12 or not PLACEHOLDER.fullmatch(argument.value.value):
                arguments[name] = graphql.ArgumentNode(
                    name=argument.name, value=_placeholder(f"cursor_{node.name.value}", index)
                )
        return dataclasses.replace(node, arguments=tuple(arguments.values()))


def _index(value: graphql.ValueNode) -> int:
    """A number the generator drew for this value, to decide by without a draw of its own."""
    if isinstance(value, graphql.IntValueNode):
        return abs(int(value.value))
    if isinstance(value, graphql.StringValueNode):
        found = PLACEHOLDER.fullmatch(value.value)
        return int(found.group(2)) if found else len(value.value)
    return 0


def _print(document: graphql.DocumentNode) -> str:
    return graphql.print_ast(graphql.visit(document, _Tuned()))


@functools.cache
def generated_queries(count: int) -> tuple[str, ...]:
    """`count` distinct query operations, in a fixed order."""
    schema = graphql_schema(build_schema())
    assert schema.query_type is not None
    roots = list(schema.query_type.fields)
    strategies = {
        root: queries(
            schema,
            fields=None if root == "*" else [root],
            custom_scalars=CUSTOM_SCALARS,
            print_ast=_print,
            allow_x00=False,
        )
        for root in [*roots, "*"]
    }
    plan = [root for root in [*roots, "*"] for _ in range(ROOT_WEIGHTS.get(root, 1))]
    source = random.Random(SEED)
    found: dict[str, None] = {}
    draws = 0
    while len(found) < count:
        draws += 1
        assert draws < count * 3, f"only {len(found)} distinct documents in {draws} draws"
        found[_draw(strategies[plan[draws % len(plan)]], source)] = None
    return tuple(found)


def _draw(strategy: st.SearchStrategy[str], source: random.Random) -> str:
    """One example of `strategy`, drawn with `source` as the only randomness."""
    data = ConjectureData(random=source)
    with BuildContext(data, is_final=False, wrapped_test=None):  # type: ignore[arg-type]
        return data.draw(strategy)


def fill(document: str, world: World) -> str:
    """The document with each placeholder replaced by a real value of the fixture."""
    return PLACEHOLDER.sub(lambda match: _escaped(_real(match, world)), document)


def fill_value(value: object, world: World) -> object:
    """A variable's value (JSON) with each placeholder in its strings replaced."""
    if isinstance(value, str):
        return PLACEHOLDER.sub(lambda match: _real(match, world), value)
    if isinstance(value, list):
        return [fill_value(item, world) for item in value]
    if isinstance(value, dict):
        return {key: fill_value(item, world) for key, item in value.items()}
    return value


def _real(match: re.Match[str], world: World) -> str:
    kind, index = match.group(1), int(match.group(2))
    if kind.startswith("cursor_"):
        pool = world.cursors.get(kind.removeprefix("cursor_")) or world.words
    elif kind == "word":
        pool = world.words
    else:
        pool = world.ids[kind]
    return pool[index % len(pool)]


def _escaped(text: str) -> str:
    """`text` as the inside of a GraphQL string literal."""
    return graphql.print_ast(graphql.StringValueNode(value=text))[1:-1]
