"""A partner API key presented as a bearer token: its shape (`cgk_<key id>_<secret>`), the
live key it names (only a SHA-256 of the secret is stored), the caller it stands for, and
when it was last used. Issuing and revoking keys are use cases (resolvers/api_keys.py)."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from clientgraph.auth.token_errors import API_KEY, Reason
from clientgraph.auth.viewer import Viewer
from clientgraph.db import models
from clientgraph.resolvers.enums import UserRole
from clientgraph.resolvers.policy import key_permissions
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

PREFIX = "cgk_"
LAST_USED_PRECISION = timedelta(seconds=60)
"""`lastUsedAt` moves at most once a minute, so using a key does not write on every request."""


def key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_key(token: str) -> tuple[uuid.UUID, str] | None:
    """(key id, secret) of an API key; None for a token that is no API key. A token that
    starts like one but is not shaped like one is refused (InvalidToken)."""
    if not token.startswith(PREFIX):
        return None
    key_id, _, secret = token[len(PREFIX) :].partition("_")
    try:
        parsed = uuid.UUID(hex=key_id)
    except ValueError:
        parsed = None
    if parsed is None or not secret:
        raise API_KEY.refused(
            Reason.MALFORMED, f"is malformed (a key reads `{PREFIX}<id>_<secret>`)"
        )
    return parsed, secret


@dataclass(frozen=True, slots=True)
class PresentedKey:
    """A live key a request presented; its creator is yet to be checked."""

    id: uuid.UUID
    firm_id: uuid.UUID
    created_by_id: uuid.UUID
    permissions: list[str]
    last_used_at: datetime | None
    secret_hash: str
    expires_at: datetime | None

    def check(self, secret: str) -> None:
        """InvalidToken unless `secret` is this key's and the key has not expired."""
        check_presented(self.secret_hash, None, self.expires_at, secret)


@dataclass(frozen=True, slots=True)
class KeyCaller:
    """A key a request presented, and the caller it stands for."""

    key: PresentedKey
    viewer: Viewer


def check_presented(
    secret_hash: str, revoked_at: datetime | None, expires_at: datetime | None, secret: str
) -> None:
    """InvalidToken unless `secret` matches `secret_hash` and the key is neither revoked nor
    expired (revoked or expired told only to whoever holds the secret)."""
    if not hmac.compare_digest(secret_hash, key_hash(secret)):
        raise API_KEY.refused(Reason.MALFORMED, "is not a key of this service")
    if revoked_at is not None:
        raise API_KEY.refused(Reason.REVOKED, "was revoked", API_KEY.when_expired)
    if expires_at is not None and expires_at <= models.utcnow():
        raise API_KEY.refused(Reason.EXPIRED, "has expired")


async def find_key(session: AsyncSession, token: str) -> PresentedKey:
    """The key a token presents, if it is unrevoked, unexpired and its secret matches;
    InvalidToken saying which it is not otherwise (revoked or expired only to whoever holds
    the secret). Reads only the key's row, which names the firm (so that the caller can set
    the firm before anything else is read)."""
    parsed = parse_key(token)
    if parsed is None:
        raise API_KEY.refused(Reason.MALFORMED, "is malformed")
    key_id, secret = parsed
    key = models.ApiKey
    found = (
        await session.execute(
            select(
                key.secret_hash,
                key.firm_id,
                key.created_by_id,
                key.permissions,
                key.last_used_at,
                key.revoked_at,
                key.expires_at,
            ).where(key.id == key_id)
        )
    ).first()
    if found is None:
        raise API_KEY.refused(Reason.MALFORMED, "is not a key of this service")
    check_presented(found.secret_hash, found.revoked_at, found.expires_at, secret)
    return PresentedKey(
        key_id,
        found.firm_id,
        found.created_by_id,
        list(found.permissions),
        found.last_used_at,
        found.secret_hash,
        found.expires_at,
    )


def viewer_of_key(
    key: PresentedKey, creator_name: str, creator_role: str, creator_permissions: list[str]
) -> Viewer:
    """The caller behind a key: its creator's identity, the key's permissions as far as the
    creator still holds them, and no role."""
    return Viewer(
        user_id=key.created_by_id,
        firm_id=key.firm_id,
        name=creator_name,
        role=UserRole(creator_role),
        granted=key_permissions(key.permissions, creator_role, creator_permissions),
        api_key_id=key.id,
    )


def use_is_recorded(key: PresentedKey) -> bool:
    """Whether the key's last use was recorded less than a minute ago."""
    return key.last_used_at is not None and key.last_used_at > models.utcnow() - LAST_USED_PRECISION


async def mark_used(session: AsyncSession, key: PresentedKey) -> PresentedKey:
    """Record that the key was used, unless that was recorded less than a minute ago: most
    requests write nothing. The write is a short transaction of its own, started by the write
    itself (so SQLite takes its write lock by waiting, not by upgrading a read), and its
    condition keeps concurrent requests from recording the same minute twice. The key as it
    now stands."""
    if use_is_recorded(key):
        return key
    now = models.utcnow()
    table = models.ApiKey
    await session.commit()
    await session.execute(
        update(table)
        .where(
            table.id == key.id,
            or_(table.last_used_at.is_(None), table.last_used_at <= now - LAST_USED_PRECISION),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return replace(key, last_used_at=now)
