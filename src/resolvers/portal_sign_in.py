"""A client contact's own steps into the portal: accepting an invitation (choosing a
password), and signing in with their e-mail address and password.

Both arrive before their firm is known. The firm is learnt from the invitation's id inside the
token, or from the address; on PostgreSQL through migration 0006's functions, which answer
firm ids only. Everything else is read and written in transactions set to that firm, like any
request."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from clientgraph.auth.viewer import portal_viewer
from clientgraph.db import models
from clientgraph.db.engine import Database
from clientgraph.db.queries import fold
from clientgraph.passwords import (
    check_new_password,
    hash_password,
    needs_rehash,
    verify_password,
)
from clientgraph.resolvers import history, portal_invitations
from clientgraph.resolvers.contacts import contact_name, current_emails
from clientgraph.resolvers.enums import PortalAccess
from clientgraph.resolvers.sign_in import FirmChoice
from sqlalchemy import Select, delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")

MAX_EMAIL_LENGTH = 320
MAX_CANDIDATE_FIRMS = 20
"""Firms whose credentials for one address a sign-in tries, at most (each costs a hash)."""


@dataclass(frozen=True, slots=True)
class PortalClaims:
    """Who signed in, as a portal token says it (clientgraph.auth.portal_tokens): the contact, their
    firm, and the credential they signed in with. Whether the contact still holds that
    credential is checked on every request."""

    contact_id: uuid.UUID
    firm_id: uuid.UUID
    credential_id: uuid.UUID


class InvitationRefused(Exception):
    """The token cannot be accepted; `reason` tells the client why, in one word."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class BadCredentials(Exception):
    """Unknown address or wrong password: the same answer for both."""


class SeveralFirms(Exception):
    """The address and password are right at several firms: the client must pick one."""

    def __init__(self, firms: list[FirmChoice]) -> None:
        super().__init__("several firms")
        self.firms = firms


def _invalid() -> InvitationRefused:
    return InvitationRefused(
        "TOKEN_INVALID",
        "This invitation link is not valid. Check that the whole link was copied from the "
        "e-mail, or ask the firm to invite you again.",
    )


def _void() -> InvitationRefused:
    return InvitationRefused(
        "TOKEN_VOIDED",
        "This invitation link was replaced by a newer one or taken back; use the latest "
        "invitation e-mail, or ask the firm to invite you again.",
    )


async def _read(
    db: Database, session: AsyncSession, work: Callable[[AsyncSession], Awaitable[T]]
) -> T:
    """`work` on `session`, closed afterwards; DatabaseUnavailable when the database cannot
    be reached (Database.read)."""
    async with session:
        return await db.read(session, work)


async def _invitation_firm(db: Database, invitation_id: uuid.UUID) -> uuid.UUID | None:
    async def find(session: AsyncSession) -> uuid.UUID | None:
        if db.dialect == "postgresql":
            return await session.scalar(
                text("SELECT portal_invitation_firm(:id)"), {"id": invitation_id}
            )
        invitation = models.PortalInvitation
        return await session.scalar(
            select(invitation.firm_id).where(invitation.id == invitation_id)
        )

    return await _read(db, db.read_sessions(), find)


async def _sign_in_firms(db: Database, address: str) -> list[uuid.UUID]:
    async def find(session: AsyncSession) -> list[uuid.UUID]:
        if db.dialect == "postgresql":
            found = await session.scalars(
                text("SELECT firm_id FROM portal_sign_in_firms(:address)"), {"address": address}
            )
        else:
            credential = models.PortalCredential
            found = await session.scalars(
                select(credential.firm_id).distinct().where(credential.email_folded == address)
            )
        return sorted(found)

    return await _read(db, db.read_sessions(), find)


async def _acceptable(
    session: AsyncSession, firm_id: uuid.UUID, invitation_id: uuid.UUID, secret: str, now: datetime
) -> tuple[models.PortalInvitation, models.Contact]:
    """The invitation and its contact, locked, if the token may be accepted now."""
    invitation = (
        await session.scalars(
            select(models.PortalInvitation)
            .where(
                models.PortalInvitation.firm_id == firm_id,
                models.PortalInvitation.id == invitation_id,
            )
            .with_for_update()
        )
    ).first()
    if invitation is None or not portal_invitations.secret_matches(invitation, secret):
        raise _invalid()
    if invitation.used_at is not None:
        raise InvitationRefused(
            "TOKEN_USED", "This invitation was already accepted; sign in with your password."
        )
    if invitation.voided_at is not None:
        raise _void()
    if invitation.expires_at <= now:
        raise InvitationRefused(
            "TOKEN_EXPIRED", "This invitation link has expired; ask the firm to invite you again."
        )
    contact = (
        await session.scalars(
            select(models.Contact)
            .where(models.Contact.firm_id == firm_id, models.Contact.id == invitation.contact_id)
            .with_for_update()
        )
    ).first()
    if contact is None or contact.portal_access != PortalAccess.INVITED:
        raise _void()
    emails = {fold(address) for address in await current_emails(session, contact)}
    if fold(invitation.email) not in emails:
        raise _void()
    credential = models.PortalCredential
    holder = await session.scalar(
        select(credential.contact_id).where(
            credential.firm_id == firm_id,
            credential.email_folded == fold(invitation.email),
            credential.contact_id != contact.id,
        )
    )
    if holder is not None:
        raise InvitationRefused(
            "EMAIL_TAKEN",
            "Another client of the firm signs in with this e-mail address; ask the firm.",
        )
    return invitation, contact


async def _activate(
    session: AsyncSession,
    contact: models.Contact,
    email: str,
    password_hash: str,
    *,
    now: datetime,
) -> None:
    """The contact signs in with `email` and the password of `password_hash` from now on; any
    other pending invitation of theirs is void, and any earlier credential replaced."""
    await portal_invitations.void_pending(session, contact, now=now)
    credential = models.PortalCredential
    await session.execute(
        delete(credential).where(
            credential.firm_id == contact.firm_id, credential.contact_id == contact.id
        )
    )
    session.add(
        credential(
            firm_id=contact.firm_id,
            contact_id=contact.id,
            id=models.new_id(),
            email=email,
            email_folded=fold(email),
            password_hash=password_hash,
            created_at=now,
        )
    )
    previous = contact.portal_access
    contact.portal_access = PortalAccess.ACTIVE.value
    history.record_change(
        session,
        portal_viewer(contact.firm_id, contact.id, contact_name(contact)),
        contact,
        "contact.portal_invitation_accepted",
        [history.Change("portalAccess", previous, PortalAccess.ACTIVE.value)],
    )


async def give_portal_access(
    db: Database, firm_id: uuid.UUID, contact_id: uuid.UUID, password: str
) -> str:
    """ACTIVE at once, signing in with the contact's primary address and `password`, as if
    they had accepted an invitation (the demo firm's portal contact); that address."""
    password_hash = await hash_password(password)

    async def work(session: AsyncSession) -> str:
        contact = await session.get_one(models.Contact, contact_id)
        [email, *_] = await current_emails(session, contact)
        await _activate(session, contact, email, password_hash, now=models.utcnow())
        return email

    return await db.write(work, firm_id=firm_id)


async def accept_invitation(db: Database, *, token: str, password: str) -> None:
    """Spend the invitation: the contact's password is set and their access ACTIVE. The
    invitation is checked first, then the password's rules (PasswordRejected), so a client
    holding a link that no longer works learns that before choosing a password."""
    parsed = portal_invitations.parse_token(token)
    if parsed is None:
        raise _invalid()
    invitation_id, secret = parsed
    firm_id = await _invitation_firm(db, invitation_id)
    if firm_id is None:
        raise _invalid()

    async def check(session: AsyncSession) -> None:
        await _acceptable(session, firm_id, invitation_id, secret, models.utcnow())

    await db.write(check, firm_id=firm_id)
    check_new_password(password)
    password_hash = await hash_password(password)

    async def work(session: AsyncSession) -> None:
        now = models.utcnow()
        invitation, contact = await _acceptable(session, firm_id, invitation_id, secret, now)
        invitation.used_at = now
        await _activate(session, contact, invitation.email, password_hash, now=now)

    await db.write(work, firm_id=firm_id)


@dataclass(frozen=True, slots=True)
class _Candidate:
    contact_id: uuid.UUID
    credential_id: uuid.UUID
    password_hash: str


def live_credentials(*columns: Any) -> Select[Any]:
    """`columns` of the portal credentials that still sign in: the contact's access ACTIVE and
    the address still one of the contact's e-mails."""
    contact, credential, email = models.Contact, models.PortalCredential, models.ContactEmail
    return (
        select(*columns)
        .select_from(credential)
        .join(
            contact,
            (contact.firm_id == credential.firm_id) & (contact.id == credential.contact_id),
        )
        .join(
            email,
            (email.firm_id == credential.firm_id)
            & (email.contact_id == credential.contact_id)
            & (email.email_folded == credential.email_folded),
        )
        .where(contact.portal_access == PortalAccess.ACTIVE.value)
    )


async def _candidate(db: Database, firm_id: uuid.UUID, address: str) -> _Candidate | None:
    """The firm's contact who signs in with `address`, if they may: access ACTIVE and the
    address still one of theirs."""
    credential = models.PortalCredential

    async def find(session: AsyncSession) -> Any:
        return (
            await session.execute(
                live_credentials(
                    credential.contact_id, credential.id, credential.password_hash
                ).where(credential.firm_id == firm_id, credential.email_folded == address)
            )
        ).first()

    found = await _read(db, db.firm_session(firm_id), find)
    return _Candidate(*found) if found is not None else None


async def _firm_name(db: Database, firm_id: uuid.UUID) -> str:
    async def find(session: AsyncSession) -> str:
        name = await session.scalar(select(models.Firm.name).where(models.Firm.id == firm_id))
        return name or ""

    return await _read(db, db.firm_session(firm_id), find)


async def sign_in(
    db: Database, *, email: str, password: str, firm_id: uuid.UUID | None = None
) -> PortalClaims:
    """The contact that `email` and `password` sign in, at `firm_id` when given; their
    `lastLoginAt` is now, and a password hashed with older parameters is hashed anew (the
    only time the password is known). BadCredentials for an unknown address or a wrong
    password alike (each checks one password hash at least, so both take as long);
    SeveralFirms when they are right at more than one firm and none was chosen."""
    address = fold(email.strip())
    firms = [] if len(address) > MAX_EMAIL_LENGTH else await _sign_in_firms(db, address)
    if firm_id is not None:
        firms = [firm for firm in firms if firm == firm_id]
    matches: list[tuple[uuid.UUID, _Candidate]] = []
    for firm in firms[:MAX_CANDIDATE_FIRMS]:
        candidate = await _candidate(db, firm, address)
        stored = candidate.password_hash if candidate is not None else None
        if await verify_password(stored, password) and candidate is not None:
            matches.append((firm, candidate))
    if not firms:
        await verify_password(None, password)
    if not matches:
        raise BadCredentials
    if len(matches) > 1:
        raise SeveralFirms([FirmChoice(firm, await _firm_name(db, firm)) for firm, _ in matches])
    firm, chosen = matches[0]
    old_hash = chosen.password_hash
    new_hash = await hash_password(password) if needs_rehash(old_hash) else None

    async def record_login(session: AsyncSession) -> None:
        found = await session.get(models.Contact, chosen.contact_id)
        if found is not None and found.firm_id == firm:
            found.last_login_at = models.utcnow()
        if new_hash is not None:
            credential = models.PortalCredential
            await session.execute(
                update(credential)
                .where(
                    credential.firm_id == firm,
                    credential.contact_id == chosen.contact_id,
                    credential.id == chosen.credential_id,
                    credential.password_hash == old_hash,
                )
                .values(password_hash=new_hash)
                .execution_options(synchronize_session=False)
            )

    await db.write(record_login, firm_id=firm)
    return PortalClaims(chosen.contact_id, firm, chosen.credential_id)
