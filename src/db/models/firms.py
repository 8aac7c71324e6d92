"""The firm: the tenant every other table belongs to."""

from __future__ import annotations

import uuid
from datetime import datetime

from clientgraph.db.models.base import Base, new_id, utcnow
from sqlalchemy import Boolean, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column


class Firm(Base):
    __tablename__ = "firms"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    client_ownership_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    customer_number_min_length: Mapped[int | None] = mapped_column(Integer)
    customer_number_max_length: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def firm_id(self) -> uuid.UUID:
        return self.id
