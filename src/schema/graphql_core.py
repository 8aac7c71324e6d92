"""The graphql-core schema beneath Strawberry's: what the planner, validation and the node count
work on. Strawberry keeps it as `Schema._schema` and offers no public accessor (0.341), so this
is the one place that reaches for it."""

from __future__ import annotations

import strawberry
from graphql import GraphQLSchema


def graphql_schema(schema: strawberry.Schema) -> GraphQLSchema:
    return schema._schema
