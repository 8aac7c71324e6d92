"""The relation of notifications: a user's, and the unread ones among them."""

from __future__ import annotations

from typing import Any

from clientgraph.auth.viewer import Viewer
from clientgraph.db import models, orders
from clientgraph.db.relation import Alias, Related, Relation, row_shape
from clientgraph.db.rows import NotificationRow
from clientgraph.list_limits import ListLimits
from sqlalchemy import ColumnElement, select


def _notifications(viewer: Viewer, lists: ListLimits, alias: Alias) -> Related:
    notification = alias(models.Notification)
    statement = select().select_from(notification).where(notification.firm_id == viewer.firm_id)
    return Related(
        statement,
        notification,
        notification.user_id,
        orders.notifications_newest_first(notification),
    )


NOTIFICATIONS = Relation("notifications", _notifications, row_shape(NotificationRow))
"""A user's notifications, newest first (a connection, read for the caller only)."""


def unread(notification: Any) -> ColumnElement[bool]:
    """`Viewer.notifications(unreadOnly: true)`."""
    return notification.read_at.is_(None)  # type: ignore[no-any-return]
