"""Partner API keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from clientgraph.db.models.base import Base, firm_fk, new_id, utcnow
from sqlalchemy import Index, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column


class ApiKey(Base):
    """A partner API key: a principal of its own, holding exactly `permissions` (never a role),
    made by a user of the firm (`created_by_id`) whose assigned accounts bound its
    `…ASSIGNED…` rights. Only a hash of its secret is kept."""

    __tablename__ = "api_keys"
    __table_args__ = (
        UniqueConstraint("firm_id", "id"),
        firm_fk(["created_by_id"], "users"),
        Index("ix_api_keys_firm_id_created_by_id", "firm_id", "created_by_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_by_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(200))
    permissions: Mapped[list[Any]] = mapped_column(default=list)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
