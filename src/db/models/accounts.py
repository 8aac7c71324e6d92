"""Accounts (the firm's clients), their tags and their team members. The link between
an account and a contact is `contacts.AccountContact`, with the contacts' other rows."""

from __future__ import annotations

import uuid
from datetime import datetime

from clientgraph.db.models.base import Base, firm_fk, folded, new_id, utcnow
from sqlalchemy import ForeignKeyConstraint, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("firm_id", "id"),
        UniqueConstraint("firm_id", "customer_number"),
        ForeignKeyConstraint(["firm_id"], ["firms.id"], ondelete="CASCADE"),
        firm_fk(["owner_id"], "client_owners"),
        Index("ix_accounts_firm_id_name_folded_id", "firm_id", "name_folded", "id"),
        Index("ix_accounts_firm_id_owner_id", "firm_id", "owner_id"),
        Index("ix_accounts_firm_id_status", "firm_id", "status"),
        Index("ix_accounts_firm_id_created_at_id", "firm_id", "created_at", "id"),
        Index("ix_accounts_firm_id_updated_at_id", "firm_id", "updated_at", "id"),
        Index(
            "ix_accounts_firm_id_customer_number_folded_id",
            "firm_id",
            "customer_number_folded",
            "id",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(300))
    name_folded: Mapped[str] = mapped_column(folded())
    customer_number: Mapped[str | None] = mapped_column(String(100))
    customer_number_folded: Mapped[str | None] = mapped_column(folded())
    type: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="ACTIVE")
    owner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccountTag(Base):
    __tablename__ = "account_tags"
    __table_args__ = (firm_fk(["account_id"], "accounts", ondelete="CASCADE"),)

    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True)


class AccountTeamMember(Base):
    __tablename__ = "account_team_members"
    __table_args__ = (
        firm_fk(["account_id"], "accounts", ondelete="CASCADE"),
        firm_fk(["user_id"], "users"),
        Index("ix_account_team_members_firm_id_user_id", "firm_id", "user_id"),
    )

    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
