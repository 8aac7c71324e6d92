"""One-time invitation links to the client portal, as rows: made, voided, and read back from
the token a contact presents.

A token reads `<invitation id, 32 hex digits>.<secret>`. The id lets the service find the
invitation (and on PostgreSQL its firm) without knowing the firm yet; only a SHA-256 of the
secret is stored, which suffices for 256 random bits, so the link cannot be rebuilt from the
database."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from clientgraph.db import models
from clientgraph.db.queries import fold
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

INVITATION_TTL = timedelta(hours=72)
MAX_TOKEN_LENGTH = 200


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_token(token: object) -> tuple[uuid.UUID, str] | None:
    """(invitation id, secret) of a string shaped like an invitation token, else None."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        return None
    invitation_hex, separator, secret = token.partition(".")
    if not separator or len(invitation_hex) != 32 or not secret:
        return None
    try:
        return uuid.UUID(hex=invitation_hex), secret
    except ValueError:
        return None


def secret_matches(invitation: models.PortalInvitation, secret: str) -> bool:
    return hmac.compare_digest(invitation.token_hash, _hash(secret))


async def void_pending(
    session: AsyncSession,
    contact: models.Contact,
    *,
    now: datetime,
    unless_sent_to: Iterable[str] = (),
) -> int:
    """Void the contact's invitations not yet used, voided or expired, except those sent to
    one of `unless_sent_to`; how many were left alive."""
    invitation = models.PortalInvitation
    kept = {fold(address) for address in unless_sent_to}
    rows = (
        await session.execute(
            select(invitation.id, invitation.email).where(
                invitation.firm_id == contact.firm_id,
                invitation.contact_id == contact.id,
                invitation.used_at.is_(None),
                invitation.voided_at.is_(None),
                invitation.expires_at > now,
            )
        )
    ).all()
    doomed = [row.id for row in rows if fold(row.email) not in kept]
    if doomed:
        await session.execute(
            update(invitation)
            .where(invitation.firm_id == contact.firm_id, invitation.id.in_(doomed))
            .values(voided_at=now)
            .execution_options(synchronize_session=False)
        )
    return len(rows) - len(doomed)


async def new_invitation(
    session: AsyncSession,
    contact: models.Contact,
    email: str,
    *,
    invited_by: uuid.UUID | None,
    now: datetime,
) -> tuple[models.PortalInvitation, str]:
    """A fresh invitation to `email` and its token; every earlier pending one is void."""
    await void_pending(session, contact, now=now)
    secret = secrets.token_urlsafe(32)
    invitation = models.PortalInvitation(
        id=models.new_id(),
        firm_id=contact.firm_id,
        contact_id=contact.id,
        email=email,
        token_hash=_hash(secret),
        invited_by_id=invited_by,
        created_at=now,
        expires_at=now + INVITATION_TTL,
    )
    session.add(invitation)
    return invitation, f"{invitation.id.hex}.{secret}"
