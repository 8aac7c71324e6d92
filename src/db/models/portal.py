"""The client portal: invitations to it and the credentials contacts sign in with."""

from __future__ import annotations

import uuid
from datetime import datetime

from clientgraph.db.models.base import Base, firm_fk, folded, new_id, utcnow
from sqlalchemy import Index, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column


class PortalInvitation(Base):
    """A one-time link to the client portal, e-mailed to one of the contact's addresses. Only
    a SHA-256 of its secret is kept. It is spent when accepted (`used_at`), void when a newer
    invitation replaces it or access is revoked (`voided_at`), and dead after `expires_at`."""

    __tablename__ = "portal_invitations"
    __table_args__ = (
        UniqueConstraint("firm_id", "id"),
        firm_fk(["contact_id"], "contacts", ondelete="CASCADE"),
        Index("ix_portal_invitations_firm_id_contact_id", "firm_id", "contact_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    contact_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    email: Mapped[str] = mapped_column(String(320))
    token_hash: Mapped[str] = mapped_column(String(64))
    invited_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
    voided_at: Mapped[datetime | None] = mapped_column()


class PortalCredential(Base):
    """How a contact signs in to the client portal: the address they accepted the invitation
    at, and an argon2id hash of their password. At most one per contact, and an address signs
    in to at most one contact of a firm. `id` is new each time the credential is made, and
    portal tokens name it: revoking access (which deletes the row) ends every token at once."""

    __tablename__ = "portal_credentials"
    __table_args__ = (
        firm_fk(["contact_id"], "contacts", ondelete="CASCADE"),
        UniqueConstraint("id"),
        UniqueConstraint("firm_id", "email_folded"),
        Index("ix_portal_credentials_email_folded", "email_folded"),
    )

    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, default=new_id)
    email: Mapped[str] = mapped_column(String(320))
    email_folded: Mapped[str] = mapped_column(folded())
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
