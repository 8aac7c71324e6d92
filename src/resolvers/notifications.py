"""A user's notifications (seed 003: a user is told when assigned to or taken off a client)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from clientgraph.auth.viewer import Viewer
from clientgraph.db import models
from clientgraph.db.live import LiveEvent, announce
from clientgraph.db.queries import select_rows
from clientgraph.db.rows import NotificationRow
from clientgraph.resolvers.context import Context
from clientgraph.resolvers.errors import UserErrors
from clientgraph.resolvers.inputs import not_found_error, parse_id
from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

MESSAGES = {
    "account.assigned": "You were assigned to {account}.",
    "account.unassigned": "You are no longer assigned to {account}.",
}
HIDDEN_ACCOUNT = "an account you cannot see"


def message(kind: str, account_name: str | None) -> str:
    """The text of a notification, naming its account only to a reader who may see it; the
    name is read when the notification is, so a renamed account shows its new name."""
    return MESSAGES[kind].format(account=account_name or HIDDEN_ACCOUNT)


def shown(kind: str, stored: str, account_name: str | None) -> str:
    """The text a reader sees: of a kind the service knows, made afresh for the reader
    (`message`); of any other (written before its kind was known), the text stored."""
    return message(kind, account_name) if kind in MESSAGES else stored


def notify(session: AsyncSession, user: models.User, kind: str, account: models.Account) -> None:
    notification = models.Notification(
        id=models.new_id(),
        firm_id=user.firm_id,
        user_id=user.id,
        kind=kind,
        message=message(kind, account.name),
        account_id=account.id,
        created_at=models.utcnow(),
    )
    session.add(notification)
    announce(
        session,
        LiveEvent(user.firm_id, "notification", notification.id, kind, user_id=user.id),
    )


def own_notifications(viewer: Viewer) -> Select[Any]:
    notification = models.Notification
    return select_rows(NotificationRow).where(
        notification.firm_id == viewer.firm_id, notification.user_id == viewer.user_id
    )


async def mark_notifications_read(ctx: Context, *, ids: Sequence[str]) -> list[NotificationRow]:
    """Mark the caller's own notifications read; any other id is NOT_FOUND and nothing changes."""
    parsed = [
        parse_id(value, "Notification", ["ids", str(index)], "notification")
        for index, value in enumerate(ids)
    ]
    notification = models.Notification

    async def work(session: AsyncSession) -> None:
        own = set(
            await session.scalars(
                select(notification.id).where(
                    notification.firm_id == ctx.viewer.firm_id,
                    notification.user_id == ctx.viewer.user_id,
                    notification.id.in_(parsed),
                )
            )
        )
        missing = [
            not_found_error(["ids", str(index)], "notification")
            for index, key in enumerate(parsed)
            if key not in own
        ]
        if missing:
            raise UserErrors(missing)
        await session.execute(
            update(notification)
            .where(
                notification.firm_id == ctx.viewer.firm_id,
                notification.id.in_(parsed),
                notification.read_at.is_(None),
            )
            .values(read_at=models.utcnow())
        )

    await ctx.write(work)
    rows = await ctx.rows(own_notifications(ctx.viewer).where(notification.id.in_(parsed)))
    by_id = {row.id: NotificationRow(*row) for row in rows}
    return [by_id[key] for key in dict.fromkeys(parsed)]
