"""The query operations written in the tests and in README.md, each with variables to run it.

Tests: every module-level string constant of `tests/*.py` and of `bench/operations.py` (the
performance issue's Dashboard and account page, which tests import from there) that parses as
GraphQL (read from the source, not imported). README.md: every ```graphql block. Each query
operation becomes a document of its own (with the fragments it uses); mutations are skipped. The
README's elided ids ("QWNjb3VudDo…A") become placeholders for ids of the fixture; variables are
made from each operation's variable definitions: ids of the kind the name says (an account, a
contact, …, or several kinds for a bare `$id`), small page sizes, a search word.
"""

from __future__ import annotations

import ast
import base64
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import graphql
from clientgraph.schema.graphql_core import graphql_schema
from clientgraph.schema.schema import build_schema

from tests.difftest.world import World

ROOT = Path(__file__).resolve().parents[2]
ELIDED_ID = re.compile(r'"([A-Za-z0-9+/=]*)…([A-Z]?)"')
ELIDED_KINDS = {
    "Account": "account",
    "ClientOwner": "owner",
    "User": "user",
    "Notification": "notification",
    "ApiKey": "api_key",
    "Contact": "contact",
}
ID_KINDS_BY_NAME = [
    ("contact", "contact"),
    ("owner", "owner"),
    ("user", "user"),
    ("delivery", "delivery"),
    ("notification", "notification"),
    ("key", "api_key"),
    ("event", "event"),
    ("account", "assigned_account"),
]
BARE_ID_KINDS = ["assigned_account", "unassigned_account", "contact", "foreign_account", "garbage"]


@dataclass(frozen=True)
class Operation:
    source: str
    """Where it was written: `tests/test_x.py:NAME` or `README.md:LINE`."""
    document: str


def operations() -> list[Operation]:
    found: dict[str, Operation] = {}
    for source, text in [*_test_constants(), *_readme_blocks()]:
        for document in _query_operations(text):
            found.setdefault(document, Operation(source, document))
    return list(found.values())


def _test_constants() -> Iterator[tuple[str, str]]:
    for path in [*sorted((ROOT / "tests").glob("*.py")), ROOT / "bench" / "operations.py"]:
        for statement in ast.parse(path.read_text()).body:
            target, value = _assigned(statement)
            if target and isinstance(value, ast.Constant) and isinstance(value.value, str):
                yield f"{path.relative_to(ROOT)}:{target}", value.value


def _assigned(statement: ast.stmt) -> tuple[str | None, ast.expr | None]:
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target = statement.targets[0]
        return (target.id if isinstance(target, ast.Name) else None), statement.value
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
        return statement.target.id, statement.value
    return None, None


def _readme_blocks() -> Iterator[tuple[str, str]]:
    text = (ROOT / "README.md").read_text()
    for match in re.finditer(r"```graphql\n(.*?)```", text, re.S):
        line = text.count("\n", 0, match.start()) + 1
        yield f"README.md:{line}", ELIDED_ID.sub(_elided, match.group(1))


def _elided(match: re.Match[str]) -> str:
    """An elided global id of the README as a placeholder for one of the fixture's."""
    prefix = match.group(1)
    kind = next(
        (
            kind
            for type_name, kind in ELIDED_KINDS.items()
            if len(prefix) >= 6
            and base64.b64encode(f"{type_name}:".encode()).decode().startswith(prefix[:-1])
        ),
        "garbage",
    )
    return f'"@@{kind}.{max("AB".find(match.group(2)), 0)}@@"'


def _query_operations(text: str) -> list[str]:
    """Each query operation of `text` printed as a document of its own; [] if `text` is no
    GraphQL."""
    try:
        document = graphql.parse(text)
    except graphql.GraphQLError:
        return []
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, graphql.FragmentDefinitionNode)
    }
    found = []
    for definition in document.definitions:
        if (
            isinstance(definition, graphql.OperationDefinitionNode)
            and definition.operation == graphql.OperationType.QUERY
        ):
            used = _fragments_used(definition, fragments)
            found.append(graphql.print_ast(graphql.DocumentNode(definitions=(definition, *used))))
    return found


def _fragments_used(
    node: graphql.Node, fragments: dict[str, graphql.FragmentDefinitionNode]
) -> list[graphql.FragmentDefinitionNode]:
    used: dict[str, graphql.FragmentDefinitionNode] = {}

    class Spreads(graphql.Visitor):
        def enter_fragment_spread(self, spread: graphql.FragmentSpreadNode, *_: Any) -> None:
            name = spread.name.value
            if name in fragments and name not in used:
                used[name] = fragments[name]
                graphql.visit(fragments[name], self)

    graphql.visit(node, Spreads())
    return list(used.values())


def variable_sets(document: str, world: World) -> list[dict[str, Any]]:
    """Variables to run `document` with: one set, or one per kind of id for a bare `$id`."""
    operation = next(
        definition
        for definition in graphql.parse(document).definitions
        if isinstance(definition, graphql.OperationDefinitionNode)
    )
    schema = _schema()
    kinds = [None]
    if any(_is_bare_id(variable) for variable in operation.variable_definitions or ()):
        kinds = BARE_ID_KINDS
    sets = []
    for index, kind in enumerate(kinds):
        values = {}
        for variable in operation.variable_definitions or ():
            type_ = graphql.type_from_ast(schema, variable.type)
            value = _value(variable.variable.name.value, type_, world, kind, index)
            if value is not _OMIT:
                values[variable.variable.name.value] = value
        sets.append(values)
    return sets


_OMIT = object()


@functools.cache
def _schema() -> graphql.GraphQLSchema:
    return graphql_schema(build_schema())


def _is_bare_id(variable: graphql.VariableDefinitionNode) -> bool:
    name = variable.variable.name.value.lower()
    return "ID" in graphql.print_ast(variable.type) and name in ("id", "ids")


def _value(name: str, type_: Any, world: World, kind: str | None, index: int) -> Any:
    required = isinstance(type_, graphql.GraphQLNonNull)
    named = graphql.get_nullable_type(type_)
    if isinstance(named, graphql.GraphQLList):
        item = _value(name, named.of_type, world, kind, index)
        if item is _OMIT:
            return _OMIT
        if "ID" in str(named.of_type) and name.lower() == "ids":
            others = [world.ids[k][0] for k in ("contact", "foreign_account", "garbage")]
            return [item, *others, item]
        return [item]
    if isinstance(named, graphql.GraphQLEnumType):
        return list(named.values)[index % len(named.values)]
    if isinstance(named, graphql.GraphQLInputObjectType):
        return {
            field_name: value
            for field_name, field in named.fields.items()
            if isinstance(field.type, graphql.GraphQLNonNull)
            for value in [_value(field_name, field.type, world, kind, index)]
            if value is not _OMIT
        }
    lowered = name.lower()
    if named.name == "ID":
        chosen = kind or next((k for word, k in ID_KINDS_BY_NAME if word in lowered), None)
        return world.ids[chosen or "assigned_account"][index % 3]
    if named.name == "Int":
        return 3 if lowered in ("first", "last") or required else _OMIT
    if named.name == "Boolean":
        return True
    if named.name == "String":
        if lowered in ("after", "before"):
            return _OMIT
        return "a" if required or lowered == "search" else _OMIT
    return _OMIT
