"""The firm's staff: users, and what signs them in (refresh tokens of a sign-in,
one-time set-password links). API keys, which a user makes but which act as principals
of their own, are `api_keys`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from clientgraph.db.models.base import Base, firm_fk, folded, new_id, utcnow
from sqlalchemy import Boolean, ForeignKeyConstraint, Index, String, UniqueConstraint, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column


class User(Base):
    """A member of the firm's staff. Deleted users stay as rows so history keeps their name."""

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("firm_id", "id"),
        ForeignKeyConstraint(["firm_id"], ["firms.id"], ondelete="CASCADE"),
        Index(
            "uq_users_firm_id_email_folded_live",
            "firm_id",
            "email_folded",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index("ix_users_firm_id_name_folded_id", "firm_id", "name_folded", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(200))
    name_folded: Mapped[str] = mapped_column(folded())
    email: Mapped[str] = mapped_column(String(320))
    email_folded: Mapped[str] = mapped_column(folded())
    role: Mapped[str] = mapped_column(String(20))
    permissions: Mapped[list[Any]] = mapped_column(default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column()
    password_hash: Mapped[str | None] = mapped_column(
        String(200), doc="argon2id; null until the user sets a password."
    )


class RefreshToken(Base):
    """One refresh token of a sign-in. Each refresh spends the token (`rotated_at`) and issues
    the next one of the same `family_id`; presenting a spent token again revokes the whole
    family. Only a SHA-256 of the token is kept."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (
        UniqueConstraint("firm_id", "id"),
        UniqueConstraint("token_hash"),
        firm_fk(["user_id"], "users", ondelete="CASCADE"),
        Index("ix_refresh_tokens_firm_id_family_id", "firm_id", "family_id"),
        Index("ix_refresh_tokens_firm_id_user_id", "firm_id", "user_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    family_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    token_hash: Mapped[str] = mapped_column(String(64))
    session_started_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    rotated_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class PasswordToken(Base):
    """A one-time set-password link. The database keeps no form of the link's secret: the link
    carries this row's id signed with the server's secret (`resolvers.credentials`)."""

    __tablename__ = "password_tokens"
    __table_args__ = (
        UniqueConstraint("firm_id", "id"),
        firm_fk(["user_id"], "users", ondelete="CASCADE"),
        Index("ix_password_tokens_firm_id_user_id", "firm_id", "user_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    purpose: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
    voided_at: Mapped[datetime | None] = mapped_column()
