"""A portal token reads `portal` and nothing else: the one wall every field passes, whatever
its resolver does.

Before anything executes, an operation of a portal principal is refused whole (FORBIDDEN, one
error per refused root field) when it is a mutation, or a query selecting any root field but
`portal` (and `__typename`), introspection included. The check reads the validated document, so
fields added to the schema later are refused without anyone remembering to."""

from __future__ import annotations

from collections.abc import Iterator

from clientgraph.resolvers.context import Context
from clientgraph.schema.selections import root_fields
from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
)
from strawberry.extensions import SchemaExtension

PORTAL_ROOT_FIELDS = frozenset({"portal", "__typename"})


def refused_fields(operation: OperationDefinitionNode, document: DocumentNode) -> list[FieldNode]:
    fields = list(root_fields(document, operation.selection_set))
    if operation.operation != OperationType.QUERY:
        return fields
    return [field for field in fields if field.name.value not in PORTAL_ROOT_FIELDS]


class PortalScope(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        context = execution.context
        document = execution.graphql_document
        if isinstance(context, Context) and context.viewer.is_portal and document is not None:
            operation = get_operation_ast(document, execution.operation_name)
            refused = refused_fields(operation, document) if operation is not None else []
            if refused:
                execution.result = ExecutionResult(
                    data=None,
                    errors=[
                        GraphQLError(
                            "A client portal token may read only `portal`.",
                            field,
                            path=[field.alias.value if field.alias else field.name.value],
                            extensions={"code": "FORBIDDEN"},
                        )
                        for field in refused
                    ],
                )
        yield
