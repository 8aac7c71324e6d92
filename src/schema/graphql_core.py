"""The graphql-core schema beneath Strawberry's: what the planner, validation and the node count
work on. Strawberry keeps it as `Schema._schema` and offers no public accessor (0.341), so this
is the one place that reaches for it."""

from __future__ import annotations

import strawberry
from graphql import GraphQLField, GraphQLSchema
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField


def graphql_schema(schema: strawberry.Schema) -> GraphQLSchema:
    return schema._schema


def strawberry_field_of(field: GraphQLField) -> StrawberryField | None:
    """The Strawberry field a graphql-core field was converted from (None for fields Strawberry
    did not make, such as introspection's)."""
    found = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    return found if isinstance(found, StrawberryField) else None
