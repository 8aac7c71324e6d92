"""Generated documents rewritten the way clients write them: with variables, `@include`/`@skip`
and named fragments, and with ids of the type each argument names.

hypothesis-graphql writes every argument as a literal, no directive and no fragment of its
own, so a plan cache that ignored variable values, or a planner that got a directive or a
fragment spread wrong, passed every generated document. `variant` rewrites a generated document
(still holding the placeholders of tests/difftest/generated.py) with a random source seeded by
the document itself, so the same document always gives the same variant:

- most literal arguments become variables of the argument's type, their value the literal;
- some fields get `@include(if: $…)` or `@skip(if: $…)`;
- some selection sets move into a named fragment on the field's type;
- an id an argument or input field names by its type (`account(id:)`, `ownerId`, …) is drawn
  mostly from ids of that type in the caller's firm (visible or not), sometimes from another
  firm's or from another type; `node`/`nodes` keep ids of every kind.

Each variant carries two sets of variable values: the literals, and other values (every
directive's condition flipped, other page sizes, the next id or cursor of the same kind), to be
asked one after the other on one app.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass, field, replace
from typing import Any

import graphql
from clientgraph.schema.graphql_core import graphql_schema
from clientgraph.schema.schema import build_schema

from tests.difftest.generated import ID_KINDS as GENERATED_ID_KINDS
from tests.difftest.generated import PLACEHOLDER

AS_VARIABLE = 0.7
DIRECTIVE = 0.2
FRAGMENT = 0.25
OWN_KINDS = {
    "account": ["assigned_account"] * 4
    + ["unassigned_account"] * 3
    + ["foreign_account", "contact", "garbage"],
    "contact": ["contact"] * 7 + ["foreign_contact", "account", "garbage"],
    "owner": ["owner"] * 7 + ["foreign_owner", "user", "garbage"],
    "user": ["user"] * 7 + ["foreign_user", "owner", "garbage"],
}
"""Where the id of an argument naming its type comes from: mostly that type in the caller's
firm (accounts the assigned STAFF user sees and does not see), sometimes another firm's or
another type's."""
ID_KINDS = frozenset(GENERATED_ID_KINDS)


@dataclass(frozen=True)
class Variant:
    document: str
    """With placeholders, as `generated.fill` takes them."""
    values: tuple[dict[str, Any], dict[str, Any]]
    """The literals' values, and other values; placeholders as `generated.fill_value` takes."""


@dataclass
class _Rewrite:
    schema: graphql.GraphQLSchema
    source: random.Random
    definitions: list[graphql.VariableDefinitionNode] = field(default_factory=list)
    first: dict[str, Any] = field(default_factory=dict)
    other: dict[str, Any] = field(default_factory=dict)
    fragments: list[graphql.FragmentDefinitionNode] = field(default_factory=list)

    def variable(self, name: str, type_: graphql.GraphQLInputType, value: Any) -> graphql.Node:
        name = f"{name}{len(self.definitions)}"
        self.definitions.append(
            graphql.VariableDefinitionNode(
                variable=_variable(name), type=graphql.parse_type(str(type_))
            )
        )
        self.first[name] = value
        self.other[name] = _other(value)
        return _variable(name)

    def selections(
        self, selection_set: graphql.SelectionSetNode, parent: graphql.GraphQLNamedType
    ) -> graphql.SelectionSetNode:
        rewritten: list[graphql.SelectionNode] = []
        for selection in selection_set.selections:
            if isinstance(selection, graphql.FieldNode):
                rewritten.append(self.field(selection, parent))
            elif isinstance(selection, graphql.InlineFragmentNode):
                condition = (
                    self.schema.get_type(selection.type_condition.name.value)
                    if selection.type_condition is not None
                    else parent
                )
                assert condition is not None
                rewritten.append(
                    replace(
                        selection, selection_set=self.selections(selection.selection_set, condition)
                    )
                )
            else:
                rewritten.append(selection)
        return replace(selection_set, selections=tuple(rewritten))

    def field(self, node: graphql.FieldNode, parent: graphql.GraphQLNamedType) -> graphql.FieldNode:
        name = node.name.value
        if name.startswith("__") or not isinstance(
            parent, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType
        ):
            return node
        definition = parent.fields[name]
        arguments = tuple(
            self.argument(name, argument, definition.args[argument.name.value].type)
            for argument in node.arguments or ()
        )
        selection_set = node.selection_set
        if selection_set is not None:
            named = graphql.get_named_type(definition.type)
            selection_set = self.selections(selection_set, named)
            if self.source.random() < FRAGMENT:
                selection_set = self.fragment(selection_set, named)
        directives = tuple(node.directives or ())
        if self.source.random() < DIRECTIVE:
            directive = self.source.choice(["include", "skip"])
            condition = self.variable(
                directive,
                graphql.GraphQLNonNull(graphql.GraphQLBoolean),
                self.source.random() < 0.7
                if directive == "include"
                else self.source.random() < 0.3,
            )
            directives += (
                graphql.DirectiveNode(
                    name=graphql.NameNode(value=directive),
                    arguments=(
                        graphql.ArgumentNode(name=graphql.NameNode(value="if"), value=condition),
                    ),
                ),
            )
        return replace(
            node, arguments=arguments, selection_set=selection_set, directives=directives
        )

    def fragment(
        self, selection_set: graphql.SelectionSetNode, on: graphql.GraphQLNamedType
    ) -> graphql.SelectionSetNode:
        name = f"Part{len(self.fragments)}"
        self.fragments.append(
            graphql.FragmentDefinitionNode(
                name=graphql.NameNode(value=name),
                type_condition=graphql.NamedTypeNode(name=graphql.NameNode(value=on.name)),
                selection_set=selection_set,
            )
        )
        return graphql.SelectionSetNode(
            selections=(graphql.FragmentSpreadNode(name=graphql.NameNode(value=name)),)
        )

    def argument(
        self, field_name: str, node: graphql.ArgumentNode, type_: graphql.GraphQLInputType
    ) -> graphql.ArgumentNode:
        name = node.name.value
        value = self.own_ids(node.value, name if name != "id" else field_name)
        if self.source.random() < AS_VARIABLE:
            return replace(node, value=self.variable(name, type_, _json(value)))
        return replace(node, value=value)

    def own_ids(self, value: graphql.ValueNode, name: str) -> graphql.ValueNode:
        """`value` with each id placeholder drawn anew from the kinds `name` calls for."""
        if isinstance(value, graphql.ListValueNode):
            return replace(value, values=tuple(self.own_ids(item, name) for item in value.values))
        if isinstance(value, graphql.ObjectValueNode):
            return replace(
                value,
                fields=tuple(
                    replace(item, value=self.own_ids(item.value, item.name.value))
                    for item in value.fields
                ),
            )
        found = (
            PLACEHOLDER.fullmatch(value.value)
            if isinstance(value, graphql.StringValueNode)
            else None
        )
        if found is None or found.group(1) not in ID_KINDS:
            return value
        lowered = name.lower()
        pool = next((kinds for word, kinds in OWN_KINDS.items() if word in lowered), None)
        if pool is None:
            return value
        return graphql.StringValueNode(value=f"@@{self.source.choice(pool)}.{found.group(2)}@@")


def _variable(name: str) -> graphql.VariableNode:
    return graphql.VariableNode(name=graphql.NameNode(value=name))


def _json(value: graphql.ValueNode) -> Any:
    if isinstance(value, graphql.IntValueNode):
        return int(value.value)
    if isinstance(value, graphql.FloatValueNode):
        return float(value.value)
    if isinstance(value, graphql.StringValueNode | graphql.BooleanValueNode):
        return value.value
    if isinstance(value, graphql.EnumValueNode):
        return value.value
    if isinstance(value, graphql.ListValueNode):
        return [_json(item) for item in value.values]
    if isinstance(value, graphql.ObjectValueNode):
        return {item.name.value: _json(item.value) for item in value.fields}
    return None


def _other(value: Any) -> Any:
    """Another value of the same kind: a flipped condition, another small page size, the next
    id or cursor of the same kind."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value % 4 + 1 if 1 <= value <= 4 else value
    if isinstance(value, str):
        return PLACEHOLDER.sub(
            lambda found: f"@@{found.group(1)}.{int(found.group(2)) + 1}@@", value
        )
    if isinstance(value, list):
        return [_other(item) for item in value]
    if isinstance(value, dict):
        return {key: _other(item) for key, item in value.items()}
    return value


def variant(document: str) -> Variant:
    """`document` (one generated query operation) rewritten; the same one every time."""
    schema = _schema()
    parsed = graphql.parse(document)
    (operation,) = parsed.definitions
    assert isinstance(operation, graphql.OperationDefinitionNode)
    assert schema.query_type is not None
    rewrite = _Rewrite(schema, random.Random(zlib.crc32(document.encode())))
    selection_set = rewrite.selections(operation.selection_set, schema.query_type)
    operation = replace(
        operation,
        name=graphql.NameNode(value="Variant"),
        variable_definitions=tuple(rewrite.definitions),
        selection_set=selection_set,
    )
    printed = graphql.print_ast(graphql.DocumentNode(definitions=(operation, *rewrite.fragments)))
    return Variant(printed, (rewrite.first, rewrite.other))


_SCHEMA: list[graphql.GraphQLSchema] = []


def _schema() -> graphql.GraphQLSchema:
    if not _SCHEMA:
        _SCHEMA.append(graphql_schema(build_schema()))
    return _SCHEMA[0]
