"""The custom fields a firm defines for its accounts or contacts, and their values."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from clientgraph.db.models.base import Base, firm_fk, folded, new_id, utcnow
from sqlalchemy import ForeignKeyConstraint, Index, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column


class CustomFieldDefinition(Base):
    """A field the firm defines for its accounts or its contacts."""

    __tablename__ = "custom_field_definitions"
    __table_args__ = (
        UniqueConstraint("firm_id", "id"),
        UniqueConstraint("firm_id", "entity", "key"),
        ForeignKeyConstraint(["firm_id"], ["firms.id"], ondelete="CASCADE"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    entity: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(50))
    label: Mapped[str] = mapped_column(String(200))
    label_folded: Mapped[str] = mapped_column(folded())
    type: Mapped[str] = mapped_column(String(20))
    options: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CustomFieldValue(Base):
    """The value of a custom field for one account or contact, as normalised text. Subjects
    carry no foreign key (they are of two kinds); deleting a subject deletes its values."""

    __tablename__ = "custom_field_values"
    __table_args__ = (
        firm_fk(["definition_id"], "custom_field_definitions", ondelete="CASCADE"),
        Index("ix_custom_field_values_firm_id_subject_id", "firm_id", "subject_id"),
    )

    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    definition_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    subject_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    value: Mapped[str] = mapped_column(Text)
