"""Idempotency keys of mutations (`web.idempotency`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from clientgraph.db.models.base import Base, utcnow
from sqlalchemy import ForeignKeyConstraint, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column


class IdempotencyKey(Base):
    """A caller's `Idempotency-Key` on a mutation (web/idempotency.py): claimed IN_PROGRESS by
    the INSERT that wins the primary key, then DONE with the answer to replay until
    `expires_at`. `principal` is who sent it within the firm (`user:<id>`, `key:<id>`)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        ForeignKeyConstraint(["firm_id"], ["firms.id"], ondelete="CASCADE"),
        Index("ix_idempotency_keys_firm_id_expires_at", "firm_id", "expires_at"),
    )

    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    principal: Mapped[str] = mapped_column(String(80), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20))
    status: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
