"""Webhooks for administrators: partners' endpoints, the events each hears of, the secrets
that sign deliveries (shown once), and what became of each delivery."""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from clientgraph.auth.viewer import Viewer
from clientgraph.db import models, orders
from clientgraph.db.queries import from_model, select_rows, to_row
from clientgraph.db.relation import Listing
from clientgraph.db.rows import WebhookDeliveryRow, WebhookRow
from clientgraph.ids import decode_id
from clientgraph.outbox import webhook_urls
from clientgraph.outbox.queue import enqueue
from clientgraph.outbox.webhook import WEBHOOK_KIND
from clientgraph.resolvers import history
from clientgraph.resolvers.context import Context
from clientgraph.resolvers.enums import UserErrorCode, WebhookDeliveryStatus
from clientgraph.resolvers.errors import BadUserInput, UserError, UserErrors, fail
from clientgraph.resolvers.inputs import not_found, parse_id
from clientgraph.resolvers.pagination import Page, PageRequest, paginate
from clientgraph.resolvers.policy import require_admin
from clientgraph.resolvers.webhook_events import EVENT_TYPES
from sqlalchemy import ColumnElement, and_, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

NOUN = "webhook"
DELIVERY_NOUN = "webhook delivery"
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
MAX_WEBHOOKS = 20
MAX_DESCRIPTION_LENGTH = 500


@dataclass(frozen=True, slots=True)
class IssuedSecret:
    webhook: WebhookRow
    secret: str
    """`whsec_<base64>`: shown this once."""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


async def _checked_url(ctx: Context, url: str) -> str:
    """The URL as stored, once its form and its host's addresses are checked. The request's
    read transaction ends first: resolving the host may take seconds, and no pooled connection
    may wait on it."""
    cleaned = url.strip()
    if len(cleaned) > webhook_urls.MAX_URL_LENGTH:
        raise fail(
            ["url"],
            UserErrorCode.TOO_LONG,
            f"url may be at most {webhook_urls.MAX_URL_LENGTH} characters.",
        )
    await ctx.end_read()
    try:
        await webhook_urls.check(
            cleaned, allow_private=ctx.webhooks.allow_private, resolver=ctx.webhooks.resolver
        )
    except webhook_urls.RefusedUrl as error:
        raise fail(["url"], UserErrorCode.INVALID, str(error)) from None
    return cleaned


def _checked_events(events: Sequence[str]) -> list[str]:
    if not events:
        raise fail(["events"], UserErrorCode.REQUIRED, "Name at least one event type.")
    errors = [
        UserError(
            ["events", str(index)],
            UserErrorCode.INVALID,
            f"Unknown event type {event[:100]!r}; known: {', '.join(EVENT_TYPES)}.",
        )
        for index, event in enumerate(events)
        if event not in EVENT_TYPES
    ]
    if errors:
        raise UserErrors(errors)
    return [event for event in EVENT_TYPES if event in set(events)]


def _checked_description(description: str | None) -> str:
    cleaned = (description or "").strip()
    if len(cleaned) > MAX_DESCRIPTION_LENGTH:
        raise fail(
            ["description"],
            UserErrorCode.TOO_LONG,
            f"description may be at most {MAX_DESCRIPTION_LENGTH} characters.",
        )
    return cleaned


def _described(webhook: models.Webhook) -> dict[str, object]:
    return {"url": webhook.url, "events": webhook.events, "description": webhook.description}


async def create_webhook(
    ctx: Context, *, url: str, events: Sequence[str], description: str | None
) -> IssuedSecret:
    """OWNER/ADMIN: a new endpoint; its secret is in the answer and never again."""
    require_admin(ctx.viewer)
    chosen = _checked_events(events)
    text = _checked_description(description)
    checked_url = await _checked_url(ctx, url)

    async def work(session: AsyncSession) -> IssuedSecret:
        count = await session.scalar(
            select(func.count())
            .select_from(models.Webhook)
            .where(models.Webhook.firm_id == ctx.viewer.firm_id)
        )
        if (count or 0) >= MAX_WEBHOOKS:
            raise fail(
                None,
                UserErrorCode.INVALID,
                f"A firm may have at most {MAX_WEBHOOKS} webhooks; delete one first.",
            )
        now = models.utcnow()
        secret = new_secret()
        webhook = models.Webhook(
            id=models.new_id(),
            firm_id=ctx.viewer.firm_id,
            url=checked_url,
            description=text,
            events=chosen,
            secret=secret,
            created_at=now,
            updated_at=now,
        )
        session.add(webhook)
        history.record(
            session,
            ctx.viewer,
            subject_type="webhook",
            subject_id=webhook.id,
            action="webhook.created",
            changes=history.changes_between({}, _described(webhook)),
        )
        return IssuedSecret(from_model(WebhookRow, webhook), secret)

    return await ctx.write(work)


async def _lock(session: AsyncSession, ctx: Context, webhook_uuid: uuid.UUID) -> models.Webhook:
    webhook = (
        await session.scalars(
            select(models.Webhook)
            .where(models.Webhook.firm_id == ctx.viewer.firm_id, models.Webhook.id == webhook_uuid)
            .with_for_update()
        )
    ).first()
    if webhook is None:
        raise not_found(["webhookId"], NOUN)
    return webhook


async def update_webhook(
    ctx: Context,
    *,
    webhook_id: str,
    url: str | None = None,
    events: Sequence[str] | None = None,
    description: str | None = None,
) -> WebhookRow:
    """OWNER/ADMIN: change what is given (None leaves it); queued deliveries go to the new
    URL."""
    require_admin(ctx.viewer)
    webhook_uuid = parse_id(webhook_id, "Webhook", ["webhookId"], NOUN)
    chosen = _checked_events(events) if events is not None else None
    text = _checked_description(description) if description is not None else None
    checked_url = await _checked_url(ctx, url) if url is not None else None

    async def work(session: AsyncSession) -> WebhookRow:
        webhook = await _lock(session, ctx, webhook_uuid)
        before = _described(webhook)
        if checked_url is not None:
            webhook.url = checked_url
        if chosen is not None:
            webhook.events = chosen
        if text is not None:
            webhook.description = text
        changes = history.changes_between(before, _described(webhook))
        if changes:
            webhook.updated_at = models.utcnow()
            history.record(
                session,
                ctx.viewer,
                subject_type="webhook",
                subject_id=webhook.id,
                action="webhook.updated",
                changes=changes,
            )
        return from_model(WebhookRow, webhook)

    return await ctx.write(work)


async def delete_webhook(ctx: Context, *, webhook_id: str) -> uuid.UUID:
    """OWNER/ADMIN: the endpoint and its deliveries, queued ones included, are gone."""
    require_admin(ctx.viewer)
    webhook_uuid = parse_id(webhook_id, "Webhook", ["webhookId"], NOUN)

    async def work(session: AsyncSession) -> None:
        webhook = await _lock(session, ctx, webhook_uuid)
        event = models.OutboxEvent
        await session.execute(
            delete(event).where(deliveries_of(ctx.viewer.firm_id, str(webhook.id))),
            execution_options={"synchronize_session": False},
        )
        history.record(
            session,
            ctx.viewer,
            subject_type="webhook",
            subject_id=webhook.id,
            action="webhook.deleted",
            changes=[history.Change("url", webhook.url, None)],
        )
        await session.delete(webhook)

    await ctx.write(work)
    return webhook_uuid


async def rotate_webhook_secret(ctx: Context, *, webhook_id: str) -> IssuedSecret:
    """OWNER/ADMIN: a new secret, shown once; the old one keeps signing beside it for the
    grace period, so receivers can switch without losing a delivery."""
    require_admin(ctx.viewer)
    webhook_uuid = parse_id(webhook_id, "Webhook", ["webhookId"], NOUN)

    async def work(session: AsyncSession) -> IssuedSecret:
        webhook = await _lock(session, ctx, webhook_uuid)
        now = models.utcnow()
        secret = new_secret()
        webhook.previous_secret = webhook.secret
        webhook.previous_secret_expires_at = now + ctx.webhooks.secret_grace
        webhook.secret = secret
        webhook.updated_at = now
        history.record(
            session,
            ctx.viewer,
            subject_type="webhook",
            subject_id=webhook.id,
            action="webhook.secret_rotated",
            changes=[
                history.Change(
                    "previousSecretExpiresAt", None, webhook.previous_secret_expires_at.isoformat()
                )
            ],
        )
        return IssuedSecret(from_model(WebhookRow, webhook), secret)

    return await ctx.write(work)


def listed_webhooks(viewer: Viewer) -> Listing:
    """What `webhooks` lists, on both read paths: the firm's webhooks, oldest first (at most
    MAX_WEBHOOKS exist)."""
    hook = models.Webhook
    return Listing(
        hook, (hook.firm_id == viewer.firm_id,), orders.webhooks_oldest_first(hook), MAX_WEBHOOKS
    )


async def webhooks(ctx: Context) -> list[WebhookRow]:
    """OWNER/ADMIN: `listed_webhooks`."""
    require_admin(ctx.viewer)
    rows = await ctx.rows(listed_webhooks(ctx.viewer).first(WebhookRow))
    return [to_row(WebhookRow, row) for row in rows]


async def webhook(ctx: Context, webhook_uuid: uuid.UUID) -> WebhookRow | None:
    """One of the firm's webhooks, for an administrator; None for anyone else."""
    if not ctx.viewer.is_admin:
        return None
    hook = models.Webhook
    found = await ctx.rows(
        select_rows(WebhookRow).where(hook.firm_id == ctx.viewer.firm_id, hook.id == webhook_uuid)
    )
    return to_row(WebhookRow, found[0]) if found else None


def deliveries_of(firm_id: uuid.UUID, webhook: Any = None) -> ColumnElement[bool]:
    """The firm's webhook deliveries (outbox rows), of one webhook when `webhook` is given:
    its id as text, or a bound parameter holding it (the planned read path's)."""
    event = models.OutboxEvent
    condition = and_(event.firm_id == firm_id, event.kind == WEBHOOK_KIND)
    if webhook is not None:
        condition = and_(condition, event.recipient == webhook)
    return condition


def listed_deliveries(
    viewer: Viewer, webhook: Any, status: WebhookDeliveryStatus | None
) -> Listing:
    """What `webhookDeliveries` lists, on both read paths: one webhook's deliveries (`webhook`
    as in `deliveries_of`), of one status or all, newest first."""
    event = models.OutboxEvent
    criteria = [deliveries_of(viewer.firm_id, webhook)]
    if status is not None:
        criteria.append(event.status == status.value)
    return Listing(event, tuple(criteria), orders.deliveries_newest_first(event))


async def webhook_deliveries(
    ctx: Context,
    *,
    webhook_id: str,
    status: WebhookDeliveryStatus | None,
    page: PageRequest,
) -> Page[WebhookDeliveryRow]:
    """OWNER/ADMIN: one webhook's deliveries, newest first, of one status or all (none for a
    webhook that does not exist)."""
    require_admin(ctx.viewer)
    webhook_uuid = decode_id(webhook_id, "Webhook")
    if webhook_uuid is None:
        raise BadUserInput("webhookId is not the id of a webhook.")
    listing = listed_deliveries(ctx.viewer, str(webhook_uuid), status)
    rows = listing.rows(WebhookDeliveryRow)
    return await paginate(ctx, rows, listing.order, request=page, row_type=WebhookDeliveryRow)


async def webhook_delivery(ctx: Context, delivery_uuid: uuid.UUID) -> WebhookDeliveryRow | None:
    """One of the firm's webhook deliveries, for an administrator; None for anyone else."""
    if not ctx.viewer.is_admin:
        return None
    found = await ctx.rows(
        select_rows(WebhookDeliveryRow).where(
            deliveries_of(ctx.viewer.firm_id), models.OutboxEvent.id == delivery_uuid
        )
    )
    return to_row(WebhookDeliveryRow, found[0]) if found else None


async def redeliver_webhook(ctx: Context, *, delivery_id: str) -> WebhookDeliveryRow:
    """OWNER/ADMIN: send a delivery's event once more, as a new delivery due now, with the same
    event id and body (receivers that already have it can tell)."""
    require_admin(ctx.viewer)
    delivery_uuid = parse_id(delivery_id, "WebhookDelivery", ["deliveryId"], DELIVERY_NOUN)
    event = models.OutboxEvent

    async def work(session: AsyncSession) -> uuid.UUID:
        original = (
            await session.scalars(
                select(event).where(deliveries_of(ctx.viewer.firm_id), event.id == delivery_uuid)
            )
        ).first()
        if original is None:
            raise not_found(["deliveryId"], DELIVERY_NOUN)
        if original.status == WebhookDeliveryStatus.QUEUED.value:
            raise fail(
                ["deliveryId"],
                UserErrorCode.INVALID,
                "This delivery is still queued; the relay is trying it.",
            )
        now = models.utcnow()
        again = enqueue(
            session,
            firm_id=original.firm_id,
            kind=WEBHOOK_KIND,
            recipient=original.recipient,
            payload=dict(original.payload),
            now=now,
        )
        history.record(
            session,
            ctx.viewer,
            subject_type="webhook",
            subject_id=uuid.UUID(original.recipient),
            action="webhook.redelivered",
            changes=[history.Change("eventId", None, original.payload.get("eventId"))],
        )
        return again.id

    new_id = await ctx.write(work)
    found = await webhook_delivery(ctx, new_id)
    assert found is not None
    return found
