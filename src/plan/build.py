"""One operation as one SQL expression: each object of the response is a JSON object built in
the database from the fields selected on its concrete type, each field by the handler its
(type, field) pair registered (`clientgraph.plan.fields`) or, for a field declared as a
relation (`clientgraph.schema.related`), by the relation's correlated subquery (`related`).

A handler returns the field's JSON value as an SQL expression over the parent's row, and,
when the value needs finishing in Python (cursors, connection pages, node counting), a `Fix`
applied to the decoded value. Anything without either raises `Unplanned`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from clientgraph.auth.viewer import Viewer
from clientgraph.db.orders import Order
from clientgraph.list_limits import ListLimits
from clientgraph.plan.errors import Decline, Unplanned
from clientgraph.plan.sqljson import Json, quoted
from clientgraph.resolvers.context import PageLimits
from clientgraph.schema.graphql_core import python_arguments, strawberry_field_of
from clientgraph.schema.related import Read, read_of
from clientgraph.schema.selections import Selections
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    SelectionSetNode,
    get_argument_values,
)
from graphql.execution.values import VariableValues
from sqlalchemy import BindParameter, ColumnElement, Select, bindparam


class Counter:
    """The list items a response holds (`extensions.cost.actualNodes`)."""

    __slots__ = ("nodes",)

    def __init__(self) -> None:
        self.nodes = 0


Fix = Callable[[Any, Counter], Any]


@dataclass(slots=True)
class Field:
    """One response key of an object: the field, its merged nodes and its arguments."""

    key: str
    name: str
    nodes: list[FieldNode]
    args: dict[str, Any] = field(default_factory=dict)
    definition: GraphQLField | None = None


Binder = Callable[[VariableValues], dict[str, Any]]
"""The SQL parameters one bound argument gives, from a request's variables; raises
`Unplanned` for a value the generic path must answer (a malformed cursor)."""

Handler = Callable[["Build", Any, Field], tuple[ColumnElement[Any], Fix | None]]

HANDLERS: dict[str, dict[str, Handler]] = {}


def planned(type_name: str, *field_names: str) -> Callable[[Handler], Handler]:
    """Register a handler for fields of a type."""

    def register(handler: Handler) -> Handler:
        for name in field_names:
            HANDLERS.setdefault(type_name, {})[name] = handler
        return handler

    return register


def handler_for(type_name: str, name: str, definition: GraphQLField | None) -> Handler | None:
    """The handler of a type's field: the one registered for it, or the one its declared
    relation gives (`schema.related`)."""
    handler = HANDLERS.get(type_name, {}).get(name)
    if handler is not None or definition is None:
        return handler
    read = read_of(strawberry_field_of(definition))
    if read is None:
        return None

    def derived(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
        parent = row[0] if isinstance(row, tuple) else row
        if read.paged:
            (pages,) = PAGES
            return pages(build, read, field, parent)
        return build.related(read, field, parent, getattr(parent, read.via))

    return derived


class Pages(Protocol):
    def __call__(
        self, build: Build, read: Read, field: Field, parent: Any
    ) -> tuple[ColumnElement[Any], Fix | None]: ...


PAGES: list[Pages] = []
"""How a paged relation's field (`Read.paged`) is planned: the one entry `plan.connection`
registers, as `plan.fields` register HANDLERS, for it builds on this module."""


def object_fix(fixes: dict[str, Fix]) -> Fix | None:
    if not fixes:
        return None
    items = tuple(fixes.items())

    def fix(value: Any, counter: Counter) -> Any:
        if value is None:
            return None
        for key, child in items:
            value[key] = child(value[key], counter)
        return value

    return fix


def list_fix(item: Fix | None, *, counted: bool = True) -> Fix:
    def fix(value: Any, counter: Counter) -> Any:
        if value is None:
            return None
        if counted:
            counter.nodes += len(value)
        if item is not None:
            for index, element in enumerate(value):
                value[index] = item(element, counter)
        return value

    return fix


class Build:
    """What building one operation's SQL needs: the schema, the document's fragments, the
    coerced variables, the caller and the limits."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: VariableValues,
        viewer: Viewer,
        lists: ListLimits,
        pages: PageLimits,
        dialect: str,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.selections = Selections(schema, fragments, variables.coerced)
        self.viewer = viewer.shape.stand_in()
        self.binders: list[Binder] = []
        self.fields_built = 0
        """Response keys collected so far, in every object: what a plan's size goes by."""
        self._parameters = 0
        self.lists = lists
        self.pages = pages
        self.json = Json(dialect)
        self.dialect = dialect

    def object_type(self, name: str) -> GraphQLObjectType:
        type_ = self.schema.get_type(name)
        assert isinstance(type_, GraphQLObjectType), name
        return type_

    def fields(self, type_: GraphQLObjectType, sets: Sequence[SelectionSetNode]) -> list[Field]:
        """The response keys of an object of `type_`, in order, as execution collects them."""
        collected = [
            Field(key, nodes[0].name.value, nodes)
            for key, nodes in self.selections.collect(sets, type_).items()
        ]
        self.fields_built += len(collected)
        for entry in collected:
            if entry.name.startswith("__"):
                if entry.name != "__typename":
                    raise Unplanned(Decline.INTROSPECTION, entry.name)
                continue
            definition = type_.fields.get(entry.name)
            if definition is None:
                raise Unplanned(Decline.NO_PLAN, f"{type_.name}.{entry.name}")
            entry.definition = definition
            entry.args = get_argument_values(definition, entry.nodes[0], self.variables)
        return collected

    def arguments(self, field: Field) -> dict[str, Any]:
        """`field`'s arguments as its resolver on the generic path is given them, for the
        adapters both paths share (`schema.inputs.account_filter`, …)."""
        assert field.definition is not None
        return python_arguments(self.schema, field.definition, field.args)

    def parameter(self, type_: Any) -> BindParameter[Any]:
        """A fresh SQL parameter, given its value by a binder at every execution."""
        self._parameters += 1
        return bindparam(f"cg_p{self._parameters}", type_=type_)

    def bind(self, field: Field, argument: str, convert: Callable[[Any], dict[str, Any]]) -> None:
        """Register how the value of `field`'s `argument` becomes SQL parameters."""
        definition, node = field.definition, field.nodes[0]
        assert definition is not None

        def binder(variables: VariableValues) -> dict[str, Any]:
            return convert(get_argument_values(definition, node, variables).get(argument))

        self.binders.append(binder)

    def subfields(self, type_name: str, parent: Field) -> list[Field]:
        sets = [node.selection_set for node in parent.nodes if node.selection_set is not None]
        return self.fields(self.object_type(type_name), sets)

    def object(
        self, type_name: str, parent: Field, row: Any
    ) -> tuple[ColumnElement[Any], Fix | None]:
        """The JSON object of the fields `parent` selects on a `type_name` row."""
        return self.object_of(type_name, self.subfields(type_name, parent), row)

    def object_of(
        self, type_name: str, fields: list[Field], row: Any
    ) -> tuple[ColumnElement[Any], Fix | None]:
        pairs: list[tuple[str, ColumnElement[Any]]] = []
        fixes: dict[str, Fix] = {}
        for entry in fields:
            if entry.name == "__typename":
                pairs.append((entry.key, quoted(type_name)))
                continue
            handler = handler_for(type_name, entry.name, entry.definition)
            if handler is None:
                raise Unplanned(Decline.NO_PLAN, f"{type_name}.{entry.name}")
            value, fix = handler(self, row, entry)
            pairs.append((entry.key, value))
            if fix is not None:
                fixes[entry.key] = fix
        return self.json.object(pairs), object_fix(fixes)

    def related(
        self, read: Read, field: Field, parent: Any, parent_key: ColumnElement[Any]
    ) -> tuple[ColumnElement[Any], Fix | None]:
        """A declared relation's value for the row `parent`, whose key is `parent_key`: its
        rows (`Related.for_parent`) as a correlated subquery, a list in the relation's order
        cut at its limit, or the first row (or null)."""
        relation = read.relation
        related = relation.rows(self.viewer, self.lists)
        statement = related.for_parent(parent_key)
        scalar = relation.shape.scalar
        if scalar:
            value, fix = relation.shape.columns(related.entity)[0], None
        else:
            value, fix = self.object(read.type_name, field, related.entity)
        if read.many:
            labelled = statement.add_columns(value.label("j"))
            array = self.array(
                labelled, parent, related.order, related.limit, json_items=not scalar
            )
            return array, list_fix(fix)
        first = statement.add_columns(value)
        if not relation.unique:
            first = first.order_by(*related.order.clauses())
        if scalar:
            return first.correlate(parent).limit(1).scalar_subquery(), fix
        return self.one(first, parent), fix

    def one(self, statement: Select[Any], parent: Any) -> ColumnElement[Any]:
        """The JSON value of a one-column statement's single row, null without a row."""
        return self.json.embed(statement.correlate(parent).limit(1).scalar_subquery())

    def array(
        self,
        statement: Select[Any],
        parent: Any,
        order: Order,
        limit: int | None,
        *,
        json_items: bool = True,
    ) -> ColumnElement[Any]:
        """The JSON array of a statement's first column (labelled "j"), its rows in `order`, at
        most `limit` of them."""
        labelled = [key.label(f"o{index}") for index, key in enumerate(order.keys)]
        inner = statement.correlate(parent).add_columns(*labelled).order_by(*order.clauses())
        if limit is not None:
            inner = inner.limit(limit)
        sub = inner.subquery()
        outer = Order(tuple(sub.c[f"o{index}"] for index in range(len(labelled))), order.descending)
        return self.json.aggregate(sub, "j", outer.clauses(), json_items=json_items)
