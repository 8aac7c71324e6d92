"""GraphQL input values given outside a GraphQL document (e.g. `?filter=<JSON>` on the CSV
export), checked and converted by the same rules as a query's variables."""

from __future__ import annotations

from typing import Any, TypeVar, cast

import orjson
from clientgraph.schema.graphql_core import graphql_schema
from graphql import GraphQLError, GraphQLInputType, Undefined, coerce_input_value
from graphql.utilities import validate_input_value
from strawberry import Schema
from strawberry.types.arguments import convert_argument
from strawberry.types.base import get_object_definition

T = TypeVar("T")


class BadJsonInput(ValueError):
    """The text is not JSON, or not a value of the input type; the message says what is
    wrong, in graphql-core's words for a variable."""


def input_from_json(schema: Schema, python_type: type[T], text: str) -> T:
    """The Strawberry input `python_type` written as JSON in `text`."""
    definition = get_object_definition(python_type, strict=True)
    graphql_type = cast(GraphQLInputType, graphql_schema(schema).get_type(definition.name))
    try:
        raw: Any = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise BadJsonInput(f"not JSON ({error})") from None
    problems: list[str] = []

    def note(error: GraphQLError, path: list[str | int]) -> None:
        where = ".".join(str(part) for part in path)
        problems.append(f"{where}: {error.message}" if where else error.message)

    validate_input_value(raw, graphql_type, note, hide_suggestions=True)
    value = coerce_input_value(raw, graphql_type)
    if problems or value is Undefined:
        raise BadJsonInput("; ".join(problems) or "not a value of this input")
    converted = convert_argument(
        value, python_type, schema.schema_converter.scalar_registry, schema.config
    )
    return cast(T, converted)
