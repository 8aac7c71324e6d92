"""The GraphQL schema, assembled."""

from __future__ import annotations

import strawberry
from clientgraph.schema.contact_mutation import ContactMutation
from clientgraph.schema.extensions import QueryLimits, schema_extensions
from clientgraph.schema.mutation import ApiKeyMutation, EmailMutation, OwnershipMutation
from clientgraph.schema.query import Query
from clientgraph.schema.register_mutation import RegisterMutation
from clientgraph.schema.types import (
    Account,
    ApiKey,
    AuditEvent,
    ClientOwner,
    Contact,
    EmailDelivery,
    Firm,
    Notification,
    User,
)
from graphql import GraphQLError
from strawberry.tools import merge_types
from strawberry.types.execution import ExecutionContext

Mutation = merge_types(
    "Mutation",
    (OwnershipMutation, ContactMutation, RegisterMutation, ApiKeyMutation, EmailMutation),
)


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Logging is the ErrorPolicy extension's job: it logs only what it masks."""


def build_schema(limits: QueryLimits | None = None) -> Schema:
    return Schema(
        query=Query,
        mutation=Mutation,
        types=[
            Account,
            ApiKey,
            AuditEvent,
            ClientOwner,
            Contact,
            EmailDelivery,
            Firm,
            Notification,
            User,
        ],
        extensions=schema_extensions(limits or QueryLimits()),
    )
