"""The root query."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import strawberry
from clientgraph.ids import decode_id
from clientgraph.resolvers import access, audit_feed, email_deliveries, owners, users, webhooks
from clientgraph.resolvers import accounts as account_resolvers
from clientgraph.resolvers import api_keys as api_key_resolvers
from clientgraph.resolvers import contacts as contact_resolvers
from clientgraph.resolvers.enums import (
    CustomFieldEntity,
    EmailDeliveryStatus,
    WebhookDeliveryStatus,
)
from clientgraph.resolvers.errors import BadUserInput
from clientgraph.resolvers.nodes import node_row
from clientgraph.resolvers.pagination import PageRequest
from clientgraph.resolvers.read_model import (
    ACCOUNTS,
    API_KEYS,
    CONTACTS,
    CUSTOM_FIELD_DEFINITIONS,
    FIRMS,
    USERS,
)
from clientgraph.schema.access import AccessExplanation
from clientgraph.schema.connections import Connection
from clientgraph.schema.inputs import (
    AccountFilterInput,
    AccountOrderInput,
    AuditEventFilterInput,
    ContactFilterInput,
    account_filter,
    account_order,
    audit_event_filter,
    contact_filter,
)
from clientgraph.schema.portal import Portal, portal
from clientgraph.schema.types import (
    Account,
    ApiKey,
    AuditEvent,
    ClientOwner,
    Contact,
    CustomFieldDefinition,
    EmailDelivery,
    Firm,
    Info,
    Notification,
    User,
    Viewer,
    load_optional,
)
from clientgraph.schema.webhooks import Webhook, WebhookDelivery
from strawberry import relay

NODE_TYPES: dict[str, Callable[[Any], relay.Node]] = {
    "Account": Account.from_row,
    "ClientOwner": ClientOwner.from_row,
    "User": User.from_row,
    "Contact": Contact.from_row,
    "Firm": Firm.from_row,
    "AuditEvent": AuditEvent.from_row,
    "Notification": Notification.from_row,
    "ApiKey": ApiKey.from_row,
    "EmailDelivery": EmailDelivery.from_row,
    "Webhook": Webhook.from_row,
    "WebhookDelivery": WebhookDelivery.from_row,
}


async def _node(info: Info, global_id: str) -> relay.Node | None:
    found = await node_row(info.context, global_id)
    if found is None:
        return None
    type_name, row = found
    return NODE_TYPES[type_name](row)


@strawberry.type
class Query:
    @strawberry.field(description="Any object by its id; null if it does not exist for you.")
    async def node(self, info: Info, id: strawberry.ID) -> relay.Node | None:
        return await _node(info, str(id))

    @strawberry.field(description="Several objects by id, in the same order; null where unknown.")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[relay.Node | None]:
        maximum = info.context.limits.maximum
        if len(ids) > maximum:
            raise BadUserInput(f"At most {maximum} ids may be asked for at once.")
        return list(await asyncio.gather(*(_node(info, str(global_id)) for global_id in ids)))

    @strawberry.field(description="The calling user, their firm and rights.")
    async def viewer(self, info: Info) -> Viewer:
        ctx = info.context
        user = await ctx.loaders.of(USERS).load(ctx.viewer.user_id)
        firm = await ctx.loaders.of(FIRMS).load(ctx.viewer.firm_id)
        assert user is not None and firm is not None
        api_key = await load_optional(
            ctx.loaders.of(API_KEYS), ctx.viewer.api_key_id, ApiKey.from_row
        )
        return Viewer(
            user=User.from_row(user),
            firm=Firm.from_row(firm),
            permissions=ctx.viewer.permissions,
            api_key=api_key,
        )

    @strawberry.field(
        description="A client's own view in the client portal: only a portal token (from "
        "`POST /portal/login`) may read it, and it may read nothing else."
    )
    async def portal(self, info: Info) -> Portal | None:
        return await portal(info)

    @strawberry.field
    async def account(self, info: Info, id: strawberry.ID) -> Account | None:
        account_id = decode_id(str(id), "Account")
        row = await info.context.loaders.of(ACCOUNTS).load(account_id) if account_id else None
        return Account.from_row(row) if row is not None else None

    @strawberry.field(description="The accounts you can see; by default the active ones by name.")
    async def accounts(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: AccountFilterInput | None = None,
        order_by: AccountOrderInput | None = None,
    ) -> Connection[Account]:
        page = await account_resolvers.accounts(
            info.context,
            spec=account_filter(filter),
            order=account_order(order_by),
            page=PageRequest(first=first, after=after, last=last, before=before),
        )
        return Connection.of(page, Account.from_row)

    @strawberry.field
    async def contact(self, info: Info, id: strawberry.ID) -> Contact | None:
        contact_id = decode_id(str(id), "Contact")
        row = await info.context.loaders.of(CONTACTS).load(contact_id) if contact_id else None
        return Contact.from_row(row) if row is not None else None

    @strawberry.field(description="The contacts you can see, by last and first name.")
    async def contacts(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: ContactFilterInput | None = None,
    ) -> Connection[Contact]:
        page = await contact_resolvers.contacts(
            info.context,
            spec=contact_filter(filter),
            page=PageRequest(first=first, after=after, last=last, before=before),
        )
        return Connection.of(page, Contact.from_row)

    @strawberry.field(description="The custom fields defined for accounts or contacts.")
    async def custom_field_definitions(
        self, info: Info, entity: CustomFieldEntity
    ) -> list[CustomFieldDefinition]:
        rows = await info.context.loaders.of(CUSTOM_FIELD_DEFINITIONS).load(entity.value)
        return [CustomFieldDefinition.from_row(row) for row in rows]

    @strawberry.field(description="Admin: the firm's partner API keys, newest first.")
    async def api_keys(self, info: Info) -> list[ApiKey]:
        rows = await api_key_resolvers.api_keys(info.context)
        return [ApiKey.from_row(row) for row in rows]

    @strawberry.field(
        description="Admin: the firm's e-mails, newest first; `status: FAILED` lists those "
        "the relay gave up on."
    )
    async def email_deliveries(
        self,
        info: Info,
        status: EmailDeliveryStatus | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[EmailDelivery]:
        page = await email_deliveries.email_deliveries(
            info.context,
            status=status,
            page=PageRequest(first=first, after=after, last=last, before=before),
        )
        return Connection.of(page, EmailDelivery.from_row)

    @strawberry.field(description="Admin: the firm's webhooks, oldest first.")
    async def webhooks(self, info: Info) -> list[Webhook]:
        return [Webhook.from_row(row) for row in await webhooks.webhooks(info.context)]

    @strawberry.field(
        description="Admin: one webhook's deliveries, newest first; `status: FAILED` lists "
        "those the relay gave up on."
    )
    async def webhook_deliveries(
        self,
        info: Info,
        webhook_id: strawberry.ID,
        status: WebhookDeliveryStatus | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[WebhookDelivery]:
        page = await webhooks.webhook_deliveries(
            info.context,
            webhook_id=str(webhook_id),
            status=status,
            page=PageRequest(first=first, after=after),
        )
        return Connection.of(page, WebhookDelivery.from_row)

    @strawberry.field(description="The address book of client owners, by name.")
    async def client_owners(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        search: str | None = None,
    ) -> Connection[ClientOwner]:
        page = await owners.client_owners(
            info.context,
            search=search,
            page=PageRequest(first=first, after=after, last=last, before=before),
        )
        return Connection.of(page, ClientOwner.from_row)

    @strawberry.field(description="The firm's users, by name.")
    async def users(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        search: str | None = None,
    ) -> Connection[User]:
        page = await users.users(
            info.context,
            search=search,
            page=PageRequest(first=first, after=after, last=last, before=before),
        )
        return Connection.of(page, User.from_row)

    @strawberry.field(
        description="READ_AUDIT_FEED (owners, admins): every change recorded in the firm, in "
        "the order the changes committed, oldest first. Keep the last `endCursor` and ask "
        "again `after` it: an event that commits late still comes after every cursor already "
        "given out."
    )
    async def audit_events(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: AuditEventFilterInput | None = None,
    ) -> Connection[AuditEvent]:
        page = await audit_feed.audit_events(
            info.context,
            spec=audit_event_filter(filter),
            page=PageRequest(first=first, after=after),
        )
        return Connection.of(page, AuditEvent.from_row)

    @strawberry.field(
        description="Admin: whether the user can see and edit the account, and why, from the "
        "rules that enforce it; null when either is not of your firm."
    )
    async def explain_access(
        self, info: Info, account_id: strawberry.ID, user_id: strawberry.ID
    ) -> AccessExplanation | None:
        explanation = await access.explain_access(
            info.context, account_id=str(account_id), user_id=str(user_id)
        )
        return AccessExplanation.of(explanation) if explanation is not None else None
