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


def mutation_fields(payload: dict[str, Any], max_tokens: int) -> frozenset[str] | None:
    """The root fields (through fragments too) of the mutation the request runs, or None when
    it runs none. A document that does not parse, or names no one operation, runs none:
    execution refuses it as it would anyway."""
    query, name = payload.get("query"), payload.get("operationName")
    if not isinstance(query, str):
        return None
    try:
        document = parse(query, no_location=True, max_tokens=max_tokens)
    except GraphQLError:
        return None
    operation = get_operation_ast(document, name if isinstance(name, str) else None)
    if operation is None or operation.operation != OperationType.MUTATION:
        return None
    return frozenset(field.name.value for field in root_fields(document, operation.selection_set))


def runs_mutation_field(payload: dict[str, Any], field: str, max_tokens: int) -> bool:
    """Whether the operation `payload` runs is a mutation selecting `field` at its top level
    (directly or through fragments)."""
    return field in (mutation_fields(payload, max_tokens) or frozenset())
