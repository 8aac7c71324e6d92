"""Partner API keys: long-lived bearer tokens for partner integrations.

A key is a principal of its own. It holds exactly the permissions it was given, never more
than its creator holds (then or now) and never a role, so OWNER/ADMIN-only actions are refused
to it; its `…ASSIGNED…` rights reach its creator's assigned accounts. It stops working when it
is revoked, when it expires, or when its creator is deleted or deactivated.

A key reads `cgk_<key id>_<secret>`; only a SHA-256 of the secret is stored, so a key is shown
once, when it is made, and can be revoked but not recovered.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from clientgraph.db import models, orders
from clientgraph.db.engine import Database
from clientgraph.db.queries import from_model, select_rows, to_row
from clientgraph.db.rows import ApiKeyRow
from clientgraph.ids import decode_id
from clientgraph.resolvers import history
from clientgraph.resolvers.context import Context
from clientgraph.resolvers.enums import Permission, UserErrorCode, UserRole
from clientgraph.resolvers.errors import Forbidden, fail
from clientgraph.resolvers.inputs import not_found, parse_id, required_text
from clientgraph.resolvers.policy import (
    Viewer,
    effective_permissions,
    key_permissions,
    require_admin,
)
from clientgraph.resolvers.validation import checking
from clientgraph.token_errors import API_KEY, Reason
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

PREFIX = "cgk_"
LAST_USED_PRECISION = timedelta(seconds=60)
"""`lastUsedAt` moves at most once a minute, so using a key does not write on every request."""


@dataclass(frozen=True, slots=True)
class IssuedKey:
    row: ApiKeyRow
    key: str


def _hash(secret: str) -> str:
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
    if found is None or not hmac.compare_digest(found.secret_hash, _hash(secret)):
        raise API_KEY.refused(Reason.MALFORMED, "is not a key of this service")
    if found.revoked_at is not None:
        raise API_KEY.refused(Reason.REVOKED, "was revoked", API_KEY.when_expired)
    if found.expires_at is not None and found.expires_at <= models.utcnow():
        raise API_KEY.refused(Reason.EXPIRED, "has expired")
    return PresentedKey(
        key_id, found.firm_id, found.created_by_id, list(found.permissions), found.last_used_at
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


async def mark_used(session: AsyncSession, key: PresentedKey) -> None:
    """Record that the key was used, unless that was recorded less than a minute ago: most
    requests write nothing. The write is a short transaction of its own, started by the write
    itself (so SQLite takes its write lock by waiting, not by upgrading a read), and its
    condition keeps concurrent requests from recording the same minute twice."""
    now = models.utcnow()
    if key.last_used_at is not None and key.last_used_at > now - LAST_USED_PRECISION:
        return
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


def _expiry(expires_at: datetime | None, now: datetime) -> datetime | None:
    """A moment in the future, with its time zone; anything else is INVALID."""
    if expires_at is None:
        return None
    if expires_at.tzinfo is None:
        raise fail(
            ["expiresAt"],
            UserErrorCode.INVALID,
            "expiresAt must include a time zone, e.g. 2027-01-31T00:00:00Z.",
        )
    try:
        moment = expires_at.astimezone(UTC)
    except OverflowError as error:
        raise fail(["expiresAt"], UserErrorCode.INVALID, "expiresAt is out of range.") from error
    if moment <= now:
        raise fail(["expiresAt"], UserErrorCode.INVALID, "expiresAt must be in the future.")
    return moment


def _grantable(creator: models.User, permissions: list[Permission]) -> list[Permission]:
    """The permissions asked for, in their canonical order, if the creator holds every one;
    else INVALID naming those they lack."""
    held = effective_permissions(creator.role, creator.permissions)
    lacking = [p.value for p in Permission if p in permissions and p not in held]
    if lacking:
        raise fail(
            ["permissions"],
            UserErrorCode.INVALID,
            f"A key may hold only rights its creator holds; you lack {', '.join(lacking)}.",
        )
    return [permission for permission in held if permission in permissions]


async def _live_creator(session: AsyncSession, viewer: Viewer) -> models.User:
    """The creating user, locked so that their rights cannot change while the key is made."""
    creator = await session.get(models.User, viewer.user_id, with_for_update=True)
    if (
        creator is None
        or creator.firm_id != viewer.firm_id
        or creator.deleted_at is not None
        or not creator.is_active
    ):
        raise Forbidden("Only an active owner or administrator of the firm may make API keys.")
    return creator


async def _issue(
    session: AsyncSession,
    viewer: Viewer,
    *,
    name: str,
    permissions: list[Permission],
    expires_at: datetime | None,
) -> IssuedKey:
    """Make a key in `viewer`'s name, an OWNER or ADMIN who is a person, not a key."""
    require_admin(viewer)
    now = models.utcnow()
    creator = await _live_creator(session, viewer)
    with checking() as check:
        clean_name = check(required_text, name, ["name"])
        expiry = check(_expiry, expires_at, now)
        granted = check(_grantable, creator, permissions)
    secret = secrets.token_urlsafe(32)
    key = models.ApiKey(
        id=models.new_id(),
        firm_id=viewer.firm_id,
        created_by_id=creator.id,
        name=clean_name,
        permissions=[permission.value for permission in granted],
        secret_hash=_hash(secret),
        created_at=now,
        expires_at=expiry,
    )
    session.add(key)
    history.record(
        session,
        viewer,
        subject_type="api_key",
        subject_id=key.id,
        action="api_key.created",
        changes=history.changes_between(
            {},
            {
                "name": key.name,
                "permissions": key.permissions,
                "expiresAt": expiry.isoformat() if expiry else None,
            },
        ),
    )
    return IssuedKey(from_model(ApiKeyRow, key), f"{PREFIX}{key.id.hex}_{secret}")


async def create_api_key(
    ctx: Context,
    *,
    name: str,
    permissions: list[Permission],
    expires_at: datetime | None,
    user_id: str | None = None,
) -> IssuedKey:
    """OWNER/ADMIN: a key of its own holding `permissions`. `user_id` is deprecated: a key no
    longer acts as anyone, so it may only name the caller."""
    require_admin(ctx.viewer)
    if user_id is not None and decode_id(user_id, "User") != ctx.viewer.user_id:
        raise fail(
            ["userId"],
            UserErrorCode.INVALID,
            "A key acts as nobody: userId is deprecated and may name only you. Leave it out "
            "and give the key the permissions it needs.",
        )

    async def work(session: AsyncSession) -> IssuedKey:
        return await _issue(
            session, ctx.viewer, name=name, permissions=permissions, expires_at=expires_at
        )

    return await ctx.write(work)


async def issue_for_operator(
    db: Database,
    *,
    firm_id: uuid.UUID,
    creator_id: uuid.UUID,
    name: str,
    permissions: list[Permission],
    expires_at: datetime | None,
) -> str:
    """A key made from the command line, by whoever runs the server, in the name of an OWNER
    or ADMIN of the firm (`Forbidden` for anyone else)."""

    async def work(session: AsyncSession) -> str:
        creator = await session.get(models.User, creator_id, with_for_update=True)
        if creator is None or creator.firm_id != firm_id:
            raise not_found(["creator"], "user")
        viewer = Viewer(
            user_id=creator.id,
            firm_id=firm_id,
            name=creator.name,
            role=UserRole(creator.role),
            granted=frozenset(effective_permissions(creator.role, creator.permissions)),
        )
        issued = await _issue(
            session, viewer, name=name, permissions=permissions, expires_at=expires_at
        )
        return issued.key

    return await db.write(work, firm_id=firm_id)


async def revoke_api_key(ctx: Context, *, api_key_id: str) -> ApiKeyRow:
    require_admin(ctx.viewer)
    key_uuid = parse_id(api_key_id, "ApiKey", ["apiKeyId"], "API key")

    async def work(session: AsyncSession) -> ApiKeyRow:
        key = await session.get(models.ApiKey, key_uuid, with_for_update=True)
        if key is None or key.firm_id != ctx.viewer.firm_id:
            raise not_found(["apiKeyId"], "API key")
        if key.revoked_at is None:
            key.revoked_at = models.utcnow()
            history.record(
                session,
                ctx.viewer,
                subject_type="api_key",
                subject_id=key.id,
                action="api_key.revoked",
                changes=[history.Change("revokedAt", None, key.revoked_at.isoformat())],
            )
        return from_model(ApiKeyRow, key)

    return await ctx.write(work)


async def api_keys(ctx: Context) -> list[ApiKeyRow]:
    """OWNER/ADMIN: the firm's keys, newest first, revoked and expired ones included."""
    require_admin(ctx.viewer)
    key = models.ApiKey
    rows = await ctx.rows(
        select_rows(ApiKeyRow)
        .where(key.firm_id == ctx.viewer.firm_id)
        .order_by(*orders.api_keys_newest_first().clauses())
    )
    return [to_row(ApiKeyRow, row) for row in rows]
