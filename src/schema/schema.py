"""The GraphQL schema, assembled."""

from __future__ import annotations

import functools
from typing import Any

import strawberry
from clientgraph.caches import DOCUMENT_CACHE_BYTES
from clientgraph.schema.cost import CountingExecutionContext
from clientgraph.schema.document_cache import DocumentCaches
from clientgraph.schema.extensions import QueryLimits, schema_extensions
from clientgraph.schema.mutations.accounts import AccountMutation, AccountStatusMutation
from clientgraph.schema.mutations.api_keys import ApiKeyMutation
from clientgraph.schema.mutations.contacts import ContactMutation
from clientgraph.schema.mutations.custom_fields import CustomFieldMutation
from clientgraph.schema.mutations.email_deliveries import EmailMutation
from clientgraph.schema.mutations.firms import FirmMutation
from clientgraph.schema.mutations.notifications import NotificationMutation
from clientgraph.schema.mutations.owners import OwnerMutation
from clientgraph.schema.mutations.passwords import PasswordMutation
from clientgraph.schema.mutations.portal import PortalMutation
from clientgraph.schema.mutations.register_import import ImportMutation
from clientgraph.schema.mutations.teams import TeamMutation
from clientgraph.schema.mutations.users import UserMutation
from clientgraph.schema.query import Query
from clientgraph.schema.subscription import Subscription
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
from clientgraph.schema.webhooks import Webhook, WebhookDelivery, WebhookMutation
from graphql import GraphQLError
from strawberry.tools import merge_types
from strawberry.types.execution import ExecutionContext

Mutation = merge_types(
    "Mutation",
    (
        FirmMutation,
        UserMutation,
        OwnerMutation,
        AccountMutation,
        ContactMutation,
        PortalMutation,
        AccountStatusMutation,
        TeamMutation,
        CustomFieldMutation,
        NotificationMutation,
        ApiKeyMutation,
        EmailMutation,
        PasswordMutation,
        WebhookMutation,
        ImportMutation,
    ),
)


class Schema(strawberry.Schema):
    def __init__(self, *args: Any, hide_suggestions: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hide_suggestions = hide_suggestions

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Logging is the ErrorPolicy extension's job: it logs only what it masks."""

    def _get_custom_context_kwargs(
        self, operation_extensions: dict[str, Any] | None = None, *, sync: bool = False
    ) -> dict[str, Any]:
        """graphql-core's `hide_suggestions` for execution too (bad variable values), which
        Strawberry has no option for; validation hides them in the CachedValidation extension."""
        kwargs = super()._get_custom_context_kwargs(operation_extensions, sync=sync)
        return {**kwargs, "hide_suggestions": self.hide_suggestions}


@functools.lru_cache(maxsize=16)
def build_schema(
    limits: QueryLimits | None = None,
    *,
    introspection: bool = True,
    suggestions: bool = False,
    document_cache_bytes: int = DOCUMENT_CACHE_BYTES,
) -> Schema:
    """`introspection` off refuses `__schema` and `__type` (FORBIDDEN); `suggestions` ("Did you
    mean …?") are for development only.

    Built once per set of arguments in a process: converting the types takes a few hundred
    milliseconds, and apps of equal settings (the test suite makes thousands) may share one
    schema and its document caches, whose entries depend on nothing else."""
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
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
            Webhook,
            WebhookDelivery,
        ],
        extensions=schema_extensions(
            limits or QueryLimits(),
            DocumentCaches.bounded(document_cache_bytes),
            introspection=introspection,
            suggestions=suggestions,
        ),
        hide_suggestions=not suggestions,
        execution_context_class=CountingExecutionContext,
    )
