"""Messages to users."""

from __future__ import annotations

import uuid
from datetime import datetime

from clientgraph.db.models.base import Base, firm_fk, new_id, utcnow
from sqlalchemy import Index, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("firm_id", "id"),
        firm_fk(["user_id"], "users"),
        Index(
            "ix_notifications_firm_id_user_id_created_at_id",
            "firm_id",
            "user_id",
            "created_at",
            "id",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[str] = mapped_column(String(80))
    message: Mapped[str] = mapped_column(Text)
    account_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column()
