"""The address book of client owners."""

from __future__ import annotations

import uuid
from datetime import datetime

from clientgraph.db.models.base import Base, firm_fk, folded, new_id, utcnow
from sqlalchemy import ForeignKeyConstraint, Index, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column


class ClientOwner(Base):
    """An entry of the firm's address book of client owners: a user, or a name only."""

    __tablename__ = "client_owners"
    __table_args__ = (
        UniqueConstraint("firm_id", "id"),
        UniqueConstraint("firm_id", "user_id"),
        ForeignKeyConstraint(["firm_id"], ["firms.id"], ondelete="CASCADE"),
        firm_fk(["user_id"], "users"),
        Index("ix_client_owners_firm_id_name_folded_id", "firm_id", "name_folded", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(200))
    name_folded: Mapped[str] = mapped_column(folded())
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
