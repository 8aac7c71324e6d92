"""Contacts, their e-mail addresses, and their links to accounts (`AccountContact`:
the link is changed through the contacts' mutations, `resolvers.contacts`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from clientgraph.db.models.base import Base, firm_fk, folded, new_id, utcnow
from sqlalchemy import Boolean, ForeignKeyConstraint, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("firm_id", "id"),
        ForeignKeyConstraint(["firm_id"], ["firms.id"], ondelete="CASCADE"),
        Index(
            "ix_contacts_firm_id_last_name_folded_first_name_folded_id",
            "firm_id",
            "last_name_folded",
            "first_name_folded",
            "id",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    first_name: Mapped[str] = mapped_column(String(200))
    last_name: Mapped[str] = mapped_column(String(200))
    last_name_folded: Mapped[str] = mapped_column(folded())
    first_name_folded: Mapped[str] = mapped_column(folded())
    search_folded: Mapped[str] = mapped_column(folded())
    phone: Mapped[str | None] = mapped_column(String(32))
    portal_access: Mapped[str] = mapped_column(String(20), default="NONE")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column()


class ContactEmail(Base):
    """A contact's email addresses; position 0 is the primary one."""

    __tablename__ = "contact_emails"
    __table_args__ = (
        firm_fk(["contact_id"], "contacts", ondelete="CASCADE"),
        UniqueConstraint("firm_id", "contact_id", "position"),
        Index("ix_contact_emails_firm_id_email_folded", "firm_id", "email_folded"),
    )

    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    email_folded: Mapped[str] = mapped_column(folded(), primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    position: Mapped[int] = mapped_column(Integer)


class AccountContact(Base):
    """The link between an account and a contact; its description and roles belong to it."""

    __tablename__ = "account_contacts"
    __table_args__ = (
        firm_fk(["account_id"], "accounts", ondelete="CASCADE"),
        firm_fk(["contact_id"], "contacts", ondelete="CASCADE"),
        Index("ix_account_contacts_firm_id_contact_id", "firm_id", "contact_id"),
    )

    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    description: Mapped[str | None] = mapped_column(String(500))
    is_commercial: Mapped[bool] = mapped_column(Boolean, default=False)
    is_operational: Mapped[bool] = mapped_column(Boolean, default=False)
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)
