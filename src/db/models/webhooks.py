"""Partners' webhook endpoints (their deliveries are `outbox` rows)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from clientgraph.db.models.base import Base, new_id, utcnow
from sqlalchemy import ForeignKeyConstraint, Index, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column


class Webhook(Base):
    """A partner's endpoint and the events it hears of. `secret` signs every delivery; after a
    rotation `previous_secret` signs too, until `previous_secret_expires_at`."""

    __tablename__ = "webhooks"
    __table_args__ = (
        ForeignKeyConstraint(["firm_id"], ["firms.id"], ondelete="CASCADE"),
        UniqueConstraint("firm_id", "id"),
        Index("ix_webhooks_firm_id_created_at", "firm_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(String(500), default="")
    events: Mapped[list[Any]] = mapped_column(default=list)
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
