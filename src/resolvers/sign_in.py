"""Staff sign-in: a password exchanged for a sign-in (a family of refresh tokens), refreshed
by rotation, ended by logout.

Each refresh spends its token and issues the next of the same family; a spent token presented
again means it was copied, so the whole family is revoked (RFC 9700 §4.14.2). A family lasts at
most `session_ttl` from the password, however often it is refreshed. Only a SHA-256 of each
refresh token is stored.

These run before the caller's firm is known: on PostgreSQL the lookups read through the narrow
policies of migration 0005 (`tenancy.for_lookup`); every change then runs as the firm."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from clientgraph import passwords
from clientgraph.auth.token_errors import REFRESH_TOKEN, InvalidToken, Reason
from clientgraph.db import models, tenancy
from clientgraph.db.engine import Database
from clientgraph.db.queries import fold
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

REFRESH_PREFIX = "cgr_"
MAX_EMAIL_LENGTH = 320
MAX_TOKEN_LENGTH = 200


class SignInFailed(Exception):
    """Unknown e-mail, wrong password, no password yet, deactivated: one answer for all."""


class FirmRequired(Exception):
    """The e-mail and password fit a user in several firms; the caller must pick one."""

    def __init__(self, firms: list[FirmChoice]) -> None:
        super().__init__("This e-mail signs in to several firms; choose one with firmId.")
        self.firms = firms


@dataclass(frozen=True, slots=True)
class FirmChoice:
    id: uuid.UUID
    name: str


@dataclass(frozen=True, slots=True)
class Lifetimes:
    refresh_s: int
    session_s: int


@dataclass(frozen=True, slots=True)
class Issued:
    """A signed-in user and the refresh token that continues their sign-in."""

    user_id: uuid.UUID
    firm_id: uuid.UUID
    family_id: uuid.UUID
    refresh_token: str


@dataclass(frozen=True, slots=True)
class _Candidate:
    user_id: uuid.UUID
    firm_id: uuid.UUID
    firm_name: str
    password_hash: str | None
    is_active: bool


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _candidates(
    db: Database, email_folded: str, firm_id: uuid.UUID | None
) -> list[_Candidate]:
    user, firm = models.User, models.Firm
    query = (
        select(user.id, user.firm_id, firm.name, user.password_hash, user.is_active)
        .join(firm, firm.id == user.firm_id)
        .where(user.email_folded == email_folded, user.deleted_at.is_(None))
        .order_by(firm.name, firm.id)
    )
    if firm_id is not None:
        query = query.where(user.firm_id == firm_id)

    async def run(session: AsyncSession) -> list[_Candidate]:
        return [_Candidate(*row) for row in (await session.execute(query)).all()]

    async with db.read_sessions(info=tenancy.for_lookup("sign_in_email", email_folded)) as session:
        return await db.read(session, run)


async def sign_in(
    db: Database, *, email: str, password: str, firm_id: uuid.UUID | None, lifetimes: Lifetimes
) -> Issued:
    """A new sign-in for the user with `email` and `password` (in firm `firm_id` if given).

    The password is verified against every live user with that e-mail (or a dummy hash when
    there is none), so an unknown e-mail costs what a wrong password costs. The firms are
    named only to a caller whose password fits more than one of them: an e-mail alone tells
    nobody where its owner works. A password that fits one firm signs in to that firm."""
    if len(email) > MAX_EMAIL_LENGTH or len(password) > passwords.MAX_LENGTH:
        raise SignInFailed
    candidates = await _candidates(db, fold(email.strip()), firm_id)
    if not candidates:
        await passwords.verify_password(None, password)
        raise SignInFailed
    matched = [
        candidate
        for candidate in candidates
        if await passwords.verify_password(candidate.password_hash, password)
        and candidate.is_active
    ]
    if not matched:
        raise SignInFailed
    if len(matched) > 1:
        raise FirmRequired([FirmChoice(c.firm_id, c.firm_name) for c in matched])
    chosen = matched[0]
    now = models.utcnow()
    old_hash = chosen.password_hash
    assert old_hash is not None
    new_hash = await passwords.hash_password(password) if passwords.needs_rehash(old_hash) else None

    async def work(session: AsyncSession) -> Issued:
        if new_hash is not None:
            await _store_rehash(session, chosen, old_hash, new_hash)
        return new_sign_in(session, chosen.user_id, chosen.firm_id, lifetimes, started_at=now)

    return await db.write(work, firm_id=chosen.firm_id)


async def _store_rehash(
    session: AsyncSession, user: _Candidate, old_hash: str, new_hash: str
) -> None:
    """The same password under today's hashing parameters, unless it changed meanwhile."""
    await session.execute(
        update(models.User)
        .where(
            models.User.firm_id == user.firm_id,
            models.User.id == user.user_id,
            models.User.password_hash == old_hash,
        )
        .values(password_hash=new_hash)
    )


def new_sign_in(
    session: AsyncSession,
    user_id: uuid.UUID,
    firm_id: uuid.UUID,
    lifetimes: Lifetimes,
    *,
    started_at: datetime | None = None,
) -> Issued:
    """A new sign-in of a user whose identity the caller has proved (their password, or a
    set-password link): the first refresh token of a new family, in the caller's transaction."""
    return _issue(
        session, user_id, firm_id, models.new_id(), started_at or models.utcnow(), lifetimes
    )


def _issue(
    session: AsyncSession,
    user_id: uuid.UUID,
    firm_id: uuid.UUID,
    family_id: uuid.UUID,
    session_started_at: datetime,
    lifetimes: Lifetimes,
) -> Issued:
    token = REFRESH_PREFIX + secrets.token_urlsafe(32)
    now = models.utcnow()
    session_ends = session_started_at + timedelta(seconds=lifetimes.session_s)
    session.add(
        models.RefreshToken(
            firm_id=firm_id,
            user_id=user_id,
            family_id=family_id,
            token_hash=token_hash(token),
            session_started_at=session_started_at,
            created_at=now,
            expires_at=min(now + timedelta(seconds=lifetimes.refresh_s), session_ends),
        )
    )
    return Issued(user_id, firm_id, family_id, token)


async def _find(db: Database, token: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(id, firm id) of the refresh token `token`, whatever its state."""
    if not token.startswith(REFRESH_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
        return None
    hashed = token_hash(token)
    refresh = models.RefreshToken
    query = select(refresh.id, refresh.firm_id).where(refresh.token_hash == hashed)

    async def run(session: AsyncSession) -> tuple[uuid.UUID, uuid.UUID] | None:
        found = (await session.execute(query)).first()
        return (found.id, found.firm_id) if found is not None else None

    async with db.read_sessions(info=tenancy.for_lookup("refresh_token_hash", hashed)) as session:
        return await db.read(session, run)


async def revoke_family(session: AsyncSession, firm_id: uuid.UUID, family_id: uuid.UUID) -> None:
    refresh = models.RefreshToken
    await session.execute(
        update(refresh)
        .where(
            refresh.firm_id == firm_id,
            refresh.family_id == family_id,
            refresh.revoked_at.is_(None),
        )
        .values(revoked_at=models.utcnow())
    )


async def revoke_sign_ins(
    session: AsyncSession,
    firm_id: uuid.UUID,
    user_id: uuid.UUID,
    *,
    keep_family: uuid.UUID | None = None,
) -> None:
    """End every sign-in of the user (but the one of `keep_family`): their refresh tokens
    stop working. Access tokens already handed out run out by themselves (minutes)."""
    refresh = models.RefreshToken
    query = update(refresh).where(
        refresh.firm_id == firm_id, refresh.user_id == user_id, refresh.revoked_at.is_(None)
    )
    if keep_family is not None:
        query = query.where(refresh.family_id != keep_family)
    await session.execute(query.values(revoked_at=models.utcnow()))


async def _user_may_sign_in(session: AsyncSession, firm_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    user = models.User
    found = await session.scalar(
        select(user.id).where(
            user.firm_id == firm_id,
            user.id == user_id,
            user.deleted_at.is_(None),
            user.is_active.is_(True),
        )
    )
    return found is not None


async def refresh(db: Database, token: str, *, lifetimes: Lifetimes) -> Issued:
    """The next refresh token of `token`'s sign-in; `token` is spent. A spent token presented
    again revokes its whole family; so does a user who was deleted or deactivated. Raises
    InvalidToken for a token that cannot be refreshed, saying why."""
    found = await _find(db, token)
    if found is None:
        raise REFRESH_TOKEN.refused(Reason.MALFORMED, "is not one this service issued")
    token_id, firm_id = found

    async def work(session: AsyncSession) -> Issued | InvalidToken:
        current = await session.get_one(models.RefreshToken, token_id, with_for_update=True)
        now = models.utcnow()
        if current.revoked_at is not None:
            return REFRESH_TOKEN.refused(Reason.REVOKED, "belongs to a sign-in that was ended")
        if current.rotated_at is not None:
            await revoke_family(session, firm_id, current.family_id)
            return REFRESH_TOKEN.refused(
                Reason.REVOKED,
                "was already used, so its sign-in is ended (a copy of it may be in other hands)",
            )
        if current.expires_at <= now:
            return REFRESH_TOKEN.refused(Reason.EXPIRED, "has expired")
        if not await _user_may_sign_in(session, firm_id, current.user_id):
            await revoke_family(session, firm_id, current.family_id)
            return REFRESH_TOKEN.refused(
                Reason.REVOKED,
                "no longer works, because its user was deleted or deactivated",
                "ask an administrator of your firm",
            )
        current.rotated_at = now
        return _issue(
            session,
            current.user_id,
            firm_id,
            current.family_id,
            current.session_started_at,
            lifetimes,
        )

    outcome = await db.write(work, firm_id=firm_id)
    if isinstance(outcome, InvalidToken):
        raise outcome
    return outcome


async def sign_out(db: Database, token: str) -> None:
    """End the sign-in `token` belongs to (spent or not); an unknown token changes nothing."""
    found = await _find(db, token)
    if found is None:
        return
    token_id, firm_id = found

    async def work(session: AsyncSession) -> None:
        current = await session.get_one(models.RefreshToken, token_id)
        await revoke_family(session, firm_id, current.family_id)

    await db.write(work, firm_id=firm_id)
