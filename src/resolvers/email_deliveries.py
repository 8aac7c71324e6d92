"""E-mail deliveries for administrators: what the outbox relay sent, still tries, or gave up
on, and sending a failed one again."""

from __future__ import annotations

from clientgraph.auth.viewer import Viewer
from clientgraph.db import models, orders
from clientgraph.db.queries import select_rows, to_row
from clientgraph.db.relation import Listing
from clientgraph.db.rows import EmailDeliveryRow
from clientgraph.outbox.emails import EMAIL_KINDS
from clientgraph.resolvers import history
from clientgraph.resolvers.context import Context
from clientgraph.resolvers.enums import EmailDeliveryStatus, UserErrorCode
from clientgraph.resolvers.errors import fail
from clientgraph.resolvers.inputs import not_found, parse_id
from clientgraph.resolvers.pagination import Page, PageRequest, paginate
from clientgraph.resolvers.policy import require_admin
from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

NOUN = "e-mail delivery"


def _of_firm(viewer: Viewer) -> ColumnElement[bool]:
    event = models.OutboxEvent
    return and_(event.firm_id == viewer.firm_id, event.kind.in_(EMAIL_KINDS))


def listed_deliveries(viewer: Viewer, status: EmailDeliveryStatus | None) -> Listing:
    """What `emailDeliveries` lists, on both read paths: the firm's e-mails, of one status or
    all, newest first."""
    event = models.OutboxEvent
    criteria = [_of_firm(viewer)]
    if status is not None:
        criteria.append(event.status == status.value)
    return Listing(event, tuple(criteria), orders.deliveries_newest_first(event))


async def email_deliveries(
    ctx: Context, *, status: EmailDeliveryStatus | None, page: PageRequest
) -> Page[EmailDeliveryRow]:
    """OWNER/ADMIN: `listed_deliveries`, paged."""
    require_admin(ctx.viewer)
    listing = listed_deliveries(ctx.viewer, status)
    return await paginate(
        ctx, listing.rows(EmailDeliveryRow), listing.order, request=page, row_type=EmailDeliveryRow
    )


async def email_delivery(ctx: Context, delivery_id: object) -> EmailDeliveryRow | None:
    """One of the firm's e-mails, for an administrator; None for anyone else."""
    if not ctx.viewer.is_admin:
        return None
    found = await ctx.rows(
        select_rows(EmailDeliveryRow).where(
            _of_firm(ctx.viewer), models.OutboxEvent.id == delivery_id
        )
    )
    return to_row(EmailDeliveryRow, found[0]) if found else None


async def retry_email_delivery(ctx: Context, *, delivery_id: str) -> EmailDeliveryRow:
    """OWNER/ADMIN: queue a FAILED e-mail again, due now, with its attempts counted afresh."""
    require_admin(ctx.viewer)
    delivery_uuid = parse_id(delivery_id, "EmailDelivery", ["deliveryId"], NOUN)
    event = models.OutboxEvent

    async def work(session: AsyncSession) -> None:
        row = (
            await session.scalars(
                select(event)
                .where(_of_firm(ctx.viewer), event.id == delivery_uuid)
                .with_for_update()
            )
        ).first()
        if row is None:
            raise not_found(["deliveryId"], NOUN)
        if row.status != EmailDeliveryStatus.FAILED:
            raise fail(
                ["deliveryId"],
                UserErrorCode.INVALID,
                f"Only a failed e-mail can be retried; this one is {row.status}.",
            )
        row.status = EmailDeliveryStatus.QUEUED.value
        row.attempts = 0
        row.next_attempt_at = models.utcnow()
        history.record(
            session,
            ctx.viewer,
            subject_type="email_delivery",
            subject_id=row.id,
            action="email_delivery.retried",
            changes=[
                history.Change(
                    "status", EmailDeliveryStatus.FAILED.value, EmailDeliveryStatus.QUEUED.value
                )
            ],
        )

    await ctx.write(work)
    found = await email_delivery(ctx, delivery_uuid)
    assert found is not None
    return found
