"""Fetching any object by its global id, within the caller's firm and rights."""

from __future__ import annotations

from typing import Any, TypeVar

from clientgraph.db import models
from clientgraph.db.queries import select_rows, to_row
from clientgraph.db.rows import ApiKeyRow, AuditEventRow, NotificationRow
from clientgraph.ids import decode_any_id
from clientgraph.resolvers.context import Context
from clientgraph.resolvers.email_deliveries import email_delivery
from clientgraph.resolvers.history import named_accounts_visible
from clientgraph.resolvers.read_model import ACCOUNTS, OWNERS, USERS
from clientgraph.resolvers.webhooks import webhook, webhook_delivery

RowT = TypeVar("RowT")


async def _one(ctx: Context, row_type: type[RowT], *criteria: Any) -> RowT | None:
    """The row matching `criteria`, for the few node types no list batches."""
    found = await ctx.rows(select_rows(row_type).where(*criteria))
    return to_row(row_type, found[0]) if found else None


async def _audit_event(ctx: Context, event_id: Any) -> AuditEventRow | None:
    event = models.AuditEvent
    row = await _one(
        ctx,
        AuditEventRow,
        event.firm_id == ctx.viewer.firm_id,
        event.id == event_id,
        named_accounts_visible(ctx.viewer),
    )
    if row is None:
        return None
    if row.subject_type == "account":
        return row if await ctx.loaders.of(ACCOUNTS).load(row.subject_id) else None
    if row.subject_type == "contact":
        return row if await ctx.loaders.contact.load(row.subject_id) else None
    return row if ctx.viewer.is_admin else None


async def node_row(ctx: Context, global_id: str) -> tuple[str, Any] | None:
    """(type name, row) for an id the caller may see; None for anything else, whatever it is."""
    decoded = decode_any_id(global_id)
    if decoded is None:
        return None
    type_name, key = decoded
    loaders = ctx.loaders
    row: Any = None
    match type_name:
        case "Account":
            row = await loaders.of(ACCOUNTS).load(key)
        case "ClientOwner":
            row = await loaders.of(OWNERS).load(key)
        case "User":
            row = await loaders.of(USERS).load(key)
            row = row if row is not None and row.deleted_at is None else None
        case "Contact":
            row = await loaders.contact.load(key)
        case "Firm":
            row = await loaders.firm.load(key) if key == ctx.viewer.firm_id else None
        case "AuditEvent":
            row = await _audit_event(ctx, key)
        case "Notification":
            notification = models.Notification
            row = await _one(
                ctx,
                NotificationRow,
                notification.firm_id == ctx.viewer.firm_id,
                notification.user_id == ctx.viewer.user_id,
                notification.id == key,
            )
        case "EmailDelivery":
            row = await email_delivery(ctx, key)
        case "Webhook":
            row = await webhook(ctx, key)
        case "WebhookDelivery":
            row = await webhook_delivery(ctx, key)
        case "ApiKey" if ctx.viewer.is_admin:
            api_key = models.ApiKey
            row = await _one(
                ctx, ApiKeyRow, api_key.firm_id == ctx.viewer.firm_id, api_key.id == key
            )
    return (type_name, row) if row is not None else None
