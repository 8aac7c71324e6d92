"""Bearer tokens — user tokens, signed and expiring (HS256 via PyJWT), or partner API keys
(principals of their own, see api_keys.py) — resolved to the calling Viewer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from clientgraph.auth.api_keys import (
    KeyCaller,
    PresentedKey,
    find_key,
    mark_used,
    viewer_of_key,
)
from clientgraph.auth.token_errors import ACCESS_TOKEN, API_KEY, Reason, missing, not_bearer
from clientgraph.auth.viewer import Viewer, user_viewer
from clientgraph.db import models, tenancy
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

ALGORITHM = "HS256"
AUDIENCE = "clientgraph"


def issue_token(
    secret: str,
    *,
    user_id: uuid.UUID,
    firm_id: uuid.UUID,
    ttl_seconds: int,
    session_id: uuid.UUID | None = None,
) -> str:
    """A user token; `session_id` names the sign-in (see resolvers/sign_in.py) it came from."""
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "firm": str(firm_id),
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + timedelta(seconds=ttl_seconds),
    }
    if session_id is not None:
        claims["sid"] = str(session_id)
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


@dataclass(frozen=True, slots=True)
class UserClaims:
    """What a validly signed, unexpired user token says: its user and firm. Whether the user
    still exists and is active is for `load_viewer` to tell."""

    user_id: uuid.UUID
    firm_id: uuid.UUID
    session_id: uuid.UUID | None = None
    expires_at: float | None = None
    """The token's `exp`, in seconds since the epoch: it is valid strictly before then."""


def read_claims(secret: str, token: str) -> UserClaims:
    """What a valid token says."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["sub", "firm", "exp", "aud"]},
        )
        session_id = claims.get("sid")
        return UserClaims(
            uuid.UUID(claims["sub"]),
            uuid.UUID(claims["firm"]),
            uuid.UUID(session_id) if session_id is not None else None,
            expires_at=float(claims["exp"]),
        )
    except (jwt.PyJWTError, ValueError, TypeError, AttributeError) as error:
        raise ACCESS_TOKEN.unreadable(error) from error


def read_token(secret: str, token: str) -> tuple[uuid.UUID, uuid.UUID]:
    """(user id, firm id) of a valid token."""
    claims = read_claims(secret, token)
    return claims.user_id, claims.firm_id


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header."""
    if not authorization or not authorization.strip():
        raise missing()
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise not_bearer()
    if not token.strip():
        raise missing()
    return token.strip()


async def caller_of_key(session: AsyncSession, key_id: uuid.UUID, token: str) -> KeyCaller:
    """The caller behind a partner API key; from then on `session` works for the key's firm.

    The key is looked up by its id before its firm is known: row-level security lets the
    session read that one key's row, which names the firm. (A user token names its firm, so
    its user is loaded with `load_viewer` in a session already set to that firm.)
    """
    tenancy.allow_api_key(session, key_id)
    key = await find_key(session, token)
    await tenancy.set_firm(session, key.firm_id)
    viewer = await load_viewer(session, key.created_by_id, key.firm_id, key=key)
    return KeyCaller(await mark_used(session, key), viewer)


_users = models.User.__table__.c
_LIVE_USER = select(_users.name, _users.role, _users.permissions).where(
    _users.id == bindparam("user_id"),
    _users.firm_id == bindparam("firm_id"),
    _users.deleted_at.is_(None),
    _users.is_active.is_(True),
)
"""The caller's user if it is neither deleted nor deactivated; built once, as every request
runs it (building it anew cost as much as executing it), and of the table's columns, as it
loads no object (the ORM's handling of its rows cost a third of executing it)."""


async def load_viewer(
    session: AsyncSession,
    user_id: uuid.UUID,
    firm_id: uuid.UUID,
    *,
    key: PresentedKey | None = None,
    session_id: uuid.UUID | None = None,
) -> Viewer:
    """The viewer behind a token, or behind `key` made by `user_id`; a deleted or deactivated
    user's tokens and keys no longer work."""
    found = (await session.execute(_LIVE_USER, {"user_id": user_id, "firm_id": firm_id})).first()
    if found is None:
        if key is not None:
            raise API_KEY.refused(
                Reason.REVOKED,
                "no longer works, because its creator was deleted or deactivated",
                API_KEY.when_expired,
            )
        raise ACCESS_TOKEN.refused(
            Reason.REVOKED,
            "no longer works, because its user was deleted or deactivated",
            "sign in again, or ask an administrator of your firm if you cannot",
        )
    name, role, permissions = found
    if key is not None:
        return viewer_of_key(key, name, role, permissions)
    return user_viewer(user_id, firm_id, name, role, permissions, session_id=session_id)
