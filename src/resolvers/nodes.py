"""Fetching any object by its global id, within the caller's firm and rights."""

from __future__ import annotations

from typing import Any

from clientgraph.db import models
from clientgraph.db.queries import select_rows, to_row
from clientgraph.db.rows import ApiKeyRow, AuditEventRow, NotificationRow
from clientgraph.ids import decode_any_id
from clientgraph.resolvers.context import Context
from clientgraph.resolvers.history import named_accounts_visible


async def _audit_event(ctx: Context, event_id: Any) -> AuditEventRow | None:
    event = models.AuditEvent
    found = await ctx.rows(
        select_rows(AuditEventRow).where(
            event.firm_id == ctx.viewer.firm_id,
            event.id == event_id,
            named_accounts_visible(ctx.viewer),
        )
    )
    if not found:
        return None
    row = to_row(AuditEventRow, found[0])
    if row.subject_type == "account":
        return row if await ctx.loaders.account.load(row.subject_id) else None
    if row.subject_type == "contact":
        return row if await ctx.loaders.contact.load(row.subject_id) else None
    return row if ctx.viewer.is_admin else None


async def _notification(ctx: Context, notification_id: Any) -> NotificationRow | None:
    notification = models.Notification
    found = await ctx.rows(
        select_rows(NotificationRow).where(
            notification.firm_id == ctx.viewer.firm_id,
            notification.user_id == ctx.viewer.user_id,
            notification.id == notification_id,
        )
    )
    return to_row(NotificationRow, found[0]) if found else None


async def _api_key(ctx: Context, key_id: Any) -> ApiKeyRow | None:
    key = models.ApiKey
    found = await ctx.rows(
        select_rows(ApiKeyRow).where(key.firm_id == ctx.viewer.firm_id, key.id == key_id)
    )
    return to_row(ApiKeyRow, found[0]) if found else None


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
            row = await loaders.account.load(key)
        case "ClientOwner":
            row = await loaders.owner.load(key)
        case "User":
            row = await loaders.user.load(key)
            row = row if row is not None and row.deleted_at is None else None
        case "Contact":
            row = await loaders.contact.load(key)
        case "Firm":
            row = await loaders.firm.load(key) if key == ctx.viewer.firm_id else None
        case "AuditEvent":
            row = await _audit_event(ctx, key)
        case "Notification":
            row = await _notification(ctx, key)
        case "ApiKey" if ctx.viewer.is_admin:
            row = await _api_key(ctx, key)
    return (type_name, row) if row is not None else None
