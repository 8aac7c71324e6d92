"""The outbox: messages to deliver after commit. An e-mail delivery
(`resolvers.email_deliveries`) and a webhook delivery (`resolvers.webhooks`) are both
rows of it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from clientgraph.db.models.base import Base, new_id, utcnow
from sqlalchemy import ForeignKeyConstraint, Index, Integer, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column


class OutboxEvent(Base):
    """A message to deliver after commit, written in the same transaction as its cause.

    QUEUED until the relay sends it (SENT at `delivered_at`) or gives up after its attempts
    (FAILED, with `last_error`). `next_attempt_at` is when a queued row is next due: after a
    failure its backoff, while a relay sends it the relay's lease."""

    __tablename__ = "outbox_events"
    __table_args__ = (
        ForeignKeyConstraint(["firm_id"], ["firms.id"], ondelete="CASCADE"),
        Index("ix_outbox_events_firm_id_created_at", "firm_id", "created_at"),
        Index(
            "ix_outbox_events_firm_id_next_attempt_at_queued",
            "firm_id",
            "next_attempt_at",
            sqlite_where=text("status = 'QUEUED'"),
            postgresql_where=text("status = 'QUEUED'"),
        ),
        Index("ix_outbox_events_firm_id_status_created_at", "firm_id", "status", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[str] = mapped_column(String(80))
    recipient: Mapped[str] = mapped_column(String(320))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default="QUEUED", server_default="QUEUED")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(
        default=utcnow, server_default=text("CURRENT_TIMESTAMP")
    )
    last_attempt_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    last_response_code: Mapped[int | None] = mapped_column(Integer)
    """The HTTP status the receiver answered the last attempt with (webhooks)."""
