"""Fields derived from their row's columns, each declared once as one SQL expression and read
by both read paths: the generic path selects the expression in place of the column of the
field's name when it reads a row (`db.queries.row_columns`, used by `select_rows` and
`db.relation.row_shape`), and the planner's handler embeds the same expression in its JSON
(`plan.fields.user`, `email_delivery`, `webhook`).

Each takes what the columns are read from: a mapped class, an alias of one, or a table's
`.c`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from clientgraph.db.rows import EmailDeliveryRow, UserRow, WebhookDeliveryRow
from sqlalchemy import ColumnElement, and_, case

QUEUED = "QUEUED"
"""The outbox row's `status` while it waits to be sent (`outbox.emails.EmailDeliveryStatus`)."""


def user_is_active(user: Any) -> ColumnElement[bool]:
    """`User.isActive`: enabled and not deleted."""
    return and_(user.is_active, user.deleted_at.is_(None))


def next_attempt_at(event: Any) -> ColumnElement[Any]:
    """`EmailDelivery.nextAttemptAt` and `WebhookDelivery.nextAttemptAt`: when an outbox row
    is next tried, only while it is queued (null once sent or given up on)."""
    return case((event.status == QUEUED, event.next_attempt_at), else_=None)


Derive = Callable[[Any], ColumnElement[Any]]

DERIVED: dict[type, dict[str, Derive]] = {
    UserRow: {"is_active": user_is_active},
    EmailDeliveryRow: {"next_attempt_at": next_attempt_at},
    WebhookDeliveryRow: {"next_attempt_at": next_attempt_at},
}
"""The derived fields of each row type, by field name."""
