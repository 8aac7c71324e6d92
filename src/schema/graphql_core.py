"""The graphql-core schema beneath Strawberry's: what the planner, validation and the node count
work on. Strawberry keeps it as `Schema._schema`, and the way back as
`GraphQLSchema._strawberry_schema`, and offers no public accessor for either (0.341), so this
is the one place that reaches for them."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLField, GraphQLSchema
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import convert_arguments
from strawberry.types.field import StrawberryField


def graphql_schema(schema: strawberry.Schema) -> GraphQLSchema:
    return schema._schema


def strawberry_schema(schema: GraphQLSchema) -> strawberry.Schema:
    """The Strawberry schema `schema` was built by."""
    found: strawberry.Schema = schema._strawberry_schema  # type: ignore[attr-defined]
    return found


def strawberry_field_of(field: GraphQLField) -> StrawberryField | None:
    """The Strawberry field a graphql-core field was converted from (None for fields Strawberry
    did not make, such as introspection's)."""
    found = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    return found if isinstance(found, StrawberryField) else None


def python_arguments(
    schema: GraphQLSchema, field: GraphQLField, coerced: dict[str, Any]
) -> dict[str, Any]:
    """A field's arguments as its resolver is given them (by Python name, each input as its
    Strawberry class), from the values graphql-core coerced for it; an argument absent from
    `coerced` is absent here too."""
    definition = strawberry_field_of(field)
    if definition is None:
        return {}
    owner = strawberry_schema(schema)
    registry = owner.schema_converter.scalar_registry
    return convert_arguments(coerced, definition.arguments, registry, owner.config)
