"""The shape of a GraphQL request (GraphQL over HTTP: `query`, `operationName`, `variables`,
`extensions`), checked in our words before Strawberry reads it, so that a malformed request is
told what to send instead of the library's wording."""

from __future__ import annotations

from typing import Any

from clientgraph.schema.selections import root_fields
from clientgraph.web.errors import HttpError
from graphql import GraphQLError, OperationType, get_operation_ast, parse

NO_DOCUMENT = (
    "The request holds no GraphQL document: send it as `query` (or, for a kept document, "
    "its hash in `extensions.persistedQuery`)."
)
EXPECTED_TYPES: dict[str, tuple[type, str]] = {
    "query": (str, "a string"),
    "operationName": (str, "a string"),
    "variables": (dict, "a JSON object"),
    "extensions": (dict, "a JSON object"),
}


def require_graphql_request(payload: dict[str, Any]) -> dict[str, Any]:
    """`payload` if it is a GraphQL request whose members have their types (each may be null
    but `query`); HttpError 400 naming what is wrong otherwise."""
    for name, (expected, described) in EXPECTED_TYPES.items():
        value = payload.get(name)
        if value is not None and not isinstance(value, expected):
            raise HttpError(400, f"`{name}` must be {described} or null.")
    if payload.get("query") is None:
        raise HttpError(400, NO_DOCUMENT)
    return payload


def runs_mutation_field(payload: dict[str, Any], field: str, max_tokens: int) -> bool:
    """Whether the operation `payload` runs is a mutation selecting `field` at its top level
    (directly or through fragments). False for a document that does not parse or names no one
    operation: Strawberry refuses it after."""
    try:
        document = parse(payload["query"], no_location=True, max_tokens=max_tokens)
    except GraphQLError:
        return False
    operation = get_operation_ast(document, payload.get("operationName"))
    if operation is None or operation.operation != OperationType.MUTATION:
        return False
    return any(
        selected.name.value == field for selected in root_fields(document, operation.selection_set)
    )
