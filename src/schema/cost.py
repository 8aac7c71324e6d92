"""What a query costs, in nodes: counted before it runs (GitHub's node limit) and reported
after it ran (Shopify's `extensions.cost`).

requestedNodes is the sum, over every list field the operation selects, of the product of
the list sizes along its path: a connection counts its `first`/`last` (the default page size
when absent), `nodes(ids:)` the ids asked for, an enum list the enum's size, and every other
list its maximum length (`ListLimits`). A page or id list above the maximum page size counts
at that maximum: its resolver refuses it (BAD_USER_INPUT), which tells the caller more.
A connection's `edges`/`nodes` are its items, counted once with it. Fragments, aliases,
variables and @skip/@include are honoured the way execution honours them; fields under an
abstract type count for the costliest possible type.
Introspection (`__schema`, `__type`) is not counted: its size is the schema's, not the data's,
and graphql-core bounds its nesting (its introspection depth rule).

actualNodes counts the items the response really holds in those same lists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sized
from typing import Any

from clientgraph.list_limits import ListLimits
from clientgraph.resolvers import access
from clientgraph.resolvers.context import Context, Cost, PageLimits
from clientgraph.resolvers.webhook_events import EVENT_TYPES
from clientgraph.resolvers.webhooks import MAX_WEBHOOKS
from clientgraph.schema.graphql_core import graphql_schema
from clientgraph.schema.selections import Selections
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    is_abstract_type,
    is_composite_type,
    value_from_ast_untyped,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.pyutils import Path
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

CONNECTION_ITEMS = frozenset({"edges", "nodes"})

PLAIN_LIST_MAXIMUM: dict[tuple[str, str], Callable[[ListLimits], int]] = {
    ("Account", "teamMembers"): lambda lists: lists.team_members,
    ("Account", "tags"): lambda lists: lists.tags_per_account,
    ("Account", "contacts"): lambda lists: lists.account_contacts,
    ("Contact", "accounts"): lambda lists: lists.account_contacts,
    ("Account", "relatedAccounts"): lambda lists: lists.related_accounts,
    ("Account", "customFields"): lambda lists: lists.custom_fields,
    ("Contact", "customFields"): lambda lists: lists.custom_fields,
    ("Query", "customFieldDefinitions"): lambda lists: lists.custom_fields,
    ("Contact", "emails"): lambda lists: lists.contact_emails,
    ("PortalContact", "emails"): lambda lists: lists.contact_emails,
    ("Portal", "accounts"): lambda lists: lists.account_contacts,
    ("CustomFieldDefinition", "options"): lambda lists: lists.select_options,
    ("AuditEvent", "changes"): lambda lists: lists.audit_changes,
    ("Query", "apiKeys"): lambda lists: lists.api_keys,
    ("Query", "webhooks"): lambda lists: MAX_WEBHOOKS,
    ("Webhook", "events"): lambda lists: len(EVENT_TYPES),
    ("TransferClientsPayload", "accounts"): lambda lists: lists.input_list,
    ("MarkNotificationsReadPayload", "notifications"): lambda lists: lists.input_list,
    ("ClientMovePreview", "accounts"): lambda lists: lists.input_list,
    ("ClientMovePreview", "byNewOwner"): lambda lists: 1,
    ("AccessExplanation", "reasons"): lambda lists: access.REASONS,
}
"""The plain lists of data, each at its maximum length."""

LISTS_BY_ARGUMENT = {("Query", "nodes"): "ids"}
"""Lists as long as a list argument."""

UNCOUNTED_ITEM_TYPES = frozenset({"UserError", "ImportRowError"})
UNCOUNTED_LISTS = frozenset({("UserError", "field")})
"""What a mutation says about its input: no stored data, as long as the input at most."""


def is_connection(type_: GraphQLNamedType) -> bool:
    return isinstance(type_, GraphQLObjectType) and {"edges", "pageInfo"} <= type_.fields.keys()


def _list_item_type(field: GraphQLField) -> GraphQLNamedType | None:
    """The item type of a list field, None for any other field."""
    if isinstance(get_nullable_type(field.type), GraphQLList):  # type: ignore[arg-type]
        return get_named_type(field.type)
    return None


def _is_uncounted(parent: str, name: str, item_type: GraphQLNamedType) -> bool:
    return item_type.name in UNCOUNTED_ITEM_TYPES or (parent, name) in UNCOUNTED_LISTS


def lists_without_maximum(schema: GraphQLSchema) -> list[str]:
    """Every list field the node count would not know the maximum of (it should be none)."""
    missing = []
    for type_ in schema.type_map.values():
        if type_.name.startswith("__") or not isinstance(type_, GraphQLObjectType):
            continue
        for name, field in type_.fields.items():
            item_type = _list_item_type(field)
            known = (
                item_type is None
                or (is_connection(type_) and name in CONNECTION_ITEMS)
                or isinstance(item_type, GraphQLEnumType)
                or (type_.name, name) in PLAIN_LIST_MAXIMUM
                or (type_.name, name) in LISTS_BY_ARGUMENT
                or _is_uncounted(type_.name, name, item_type)
            )
            if not known:
                missing.append(f"{type_.name}.{name}")
    return missing


class NodeCounter:
    """Counts the nodes one operation may return, without running it.

    Costs are linear in the number of parents, so each (selection sets, type) pair is counted
    once per parent and memoised: a document whose fragments spread each other many times is
    counted in time proportional to its size, not to its expansion.
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        variables: Mapping[str, Any],
        pages: PageLimits,
        lists: ListLimits,
    ) -> None:
        self.schema = schema
        self.fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self.variables = dict(variables)
        self.selections = Selections(schema, self.fragments, self.variables)
        self.pages = pages
        self.lists = lists
        self._memo: dict[tuple[tuple[int, ...], str, int | None], int] = {}

    def operation(self, operation: OperationDefinitionNode) -> int:
        for definition in operation.variable_definitions or ():
            name = definition.variable.name.value
            if self.variables.get(name) is None and definition.default_value is not None:
                self.variables[name] = value_from_ast_untyped(definition.default_value)
        root = self.schema.get_root_type(operation.operation)
        if root is None:
            return 0
        return self._selections((operation.selection_set,), root, None)

    def _selections(
        self, sets: tuple[SelectionSetNode, ...], type_: GraphQLNamedType, items: int | None
    ) -> int:
        """Nodes under one object of `type_`; `items` is its page size if it is a connection."""
        if not sets or not is_composite_type(type_):
            return 0
        key = (tuple(map(id, sets)), type_.name, items)
        if key not in self._memo:
            if is_abstract_type(type_):
                possible = self.schema.get_possible_types(type_)  # type: ignore[arg-type]
                self._memo[key] = max((self._object(sets, t, items) for t in possible), default=0)
            else:
                self._memo[key] = self._object(sets, type_, items)  # type: ignore[arg-type]
        return self._memo[key]

    def _object(
        self, sets: tuple[SelectionSetNode, ...], type_: GraphQLObjectType, items: int | None
    ) -> int:
        fields = self.selections.collect(sets, type_)
        return sum(self._field(type_, nodes, items) for nodes in fields.values())

    def _field(self, parent: GraphQLObjectType, nodes: list[FieldNode], items: int | None) -> int:
        node = nodes[0]
        name = node.name.value
        field = parent.fields.get(name)
        if field is None:
            return 0
        named = get_named_type(field.type)
        sub = tuple(n.selection_set for n in nodes if n.selection_set is not None)
        if items is not None and name in CONNECTION_ITEMS:
            return items * self._selections(sub, named, None)
        if is_connection(named):
            size = self._page_size(node)
            return size + self._selections(sub, named, size)
        item_type = _list_item_type(field)
        if item_type is not None:
            length = self._list_length(parent.name, name, item_type, node)
            return length + length * self._selections(sub, named, None)
        return self._selections(sub, named, None)

    def _page_size(self, node: FieldNode) -> int:
        sizes = [
            value
            for value in (self._argument(node, "first"), self._argument(node, "last"))
            if isinstance(value, int)
        ]
        if not sizes:
            return self.pages.default
        return min(max(0, *sizes), self.pages.maximum)

    def _list_length(
        self, parent: str, name: str, item_type: GraphQLNamedType, node: FieldNode
    ) -> int:
        if _is_uncounted(parent, name, item_type):
            return 0
        if (parent, name) in LISTS_BY_ARGUMENT:
            values = self._argument(node, LISTS_BY_ARGUMENT[parent, name])
            return min(len(values), self.pages.maximum) if isinstance(values, list) else 0
        if isinstance(item_type, GraphQLEnumType):
            return len(item_type.values)
        maximum = PLAIN_LIST_MAXIMUM.get((parent, name))
        return maximum(self.lists) if maximum else self.pages.maximum

    def _argument(self, node: FieldNode, name: str) -> Any:
        for argument in node.arguments or ():
            if argument.name.value == name:
                return value_from_ast_untyped(argument.value, self.variables)
        return None


def requested_nodes(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    pages: PageLimits,
    lists: ListLimits,
) -> int:
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    return NodeCounter(schema, document, variables or {}, pages, lists).operation(operation)


def too_complex(requested: int, max_nodes: int) -> GraphQLError:
    return GraphQLError(
        f"This query could return up to {requested:,} nodes, more than the limit of "
        f"{max_nodes:,}. Ask for smaller pages (first/last) or fewer nested lists.",
        extensions={
            "code": "QUERY_TOO_COMPLEX",
            "requestedNodes": requested,
            "maxNodes": max_nodes,
        },
    )


class NodeLimit(SchemaExtension):
    """Refuses, before any resolver runs, an operation that could return more than
    `max_nodes` nodes; reports `extensions.cost` on every response."""

    def __init__(self, *, max_nodes: int) -> None:
        self.max_nodes = max_nodes

    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        context = execution.context
        if isinstance(context, Context) and execution.graphql_document is not None:
            requested = requested_nodes(
                graphql_schema(execution.schema),
                execution.graphql_document,
                execution.operation_name,
                execution.variables,
                context.limits,
                context.lists,
            )
            context.cost = Cost(requested_nodes=requested)
            if requested > self.max_nodes:
                execution.result = GraphQLExecutionResult(
                    data=None, errors=[too_complex(requested, self.max_nodes)]
                )
        yield

    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        if not isinstance(context, Context):
            return {}
        return {"cost": cost_extension(context.cost)}


def cost_extension(cost: Cost) -> dict[str, int]:
    return {"requestedNodes": cost.requested_nodes, "actualNodes": cost.actual_nodes}


class CountingExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Counts the items of every counted list into the request's `Context.cost`, and stops
    the request at a list once it is out of time.

    Only list fields pass through `complete_list_value`, so other fields cost nothing extra.
    A connection's items are counted once, whether `edges`, `nodes` or both are selected.
    A list is counted when the response holds it: one under a position an error nulled is
    not, nor one whose completion the error cancelled (graphql-core cancels a failed field's
    siblings), so the count does not depend on how far those siblings had got.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._counted_connections: set[tuple[str | int, ...]] = set()
        self._counted_lists: list[tuple[Path, int]] = []

    def complete_list_value(  # type: ignore[override]
        self,
        return_type: GraphQLList[Any],
        field_details_list: Any,
        info: Any,
        path: Path,
        result: Any,
        *args: Any,
    ) -> Any:
        context = self.context_value
        if isinstance(context, Context):
            context.check_deadline()
        completed = super().complete_list_value(
            return_type, field_details_list, info, path, result, *args
        )
        if (
            isinstance(context, Context)
            and isinstance(result, Sized)
            and self._counts(info.parent_type, info.field_name, path)
        ):
            self._counted_lists.append((path, len(result)))
        return completed

    def build_response(self, data: dict[str, Any] | None) -> Any:
        response = super().build_response(data)
        context = self.context_value
        if isinstance(context, Context):
            context.cost = Cost(context.cost.requested_nodes, self._held_nodes(data))
        return response

    def _held_nodes(self, data: dict[str, Any] | None) -> int:
        if not self.collected_errors.errors:
            return sum(size for _, size in self._counted_lists)
        return sum(size for path, size in self._counted_lists if _holds(data, path.as_list()))

    def _counts(self, parent: GraphQLObjectType, name: str, path: Path) -> bool:
        if is_connection(parent) and name in CONNECTION_ITEMS:
            connection = tuple(path.prev.as_list()) if path.prev else ()
            if connection in self._counted_connections:
                return False
            self._counted_connections.add(connection)
            return True
        if parent.name.startswith("__"):
            return False
        return not _is_uncounted(parent.name, name, get_named_type(parent.fields[name].type))


def _holds(data: Any, keys: list[str | int]) -> bool:
    """Whether the response `data` holds a list at `keys`."""
    value = data
    for key in keys:
        if isinstance(value, dict) and isinstance(key, str):
            value = value.get(key)
        elif isinstance(value, list) and isinstance(key, int) and key < len(value):
            value = value[key]
        else:
            return False
    return isinstance(value, list)
