"""Partner API keys: long-lived bearer tokens that act as one user of the firm, for partner
integrations. A key reads `cgk_<key id>_<secret>`; only a SHA-256 of the secret is stored, so a
key is shown once, when it is made, and can be revoked but not recovered."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass

from clientgraph.db import models
from clientgraph.db.engine import Database
from clientgraph.db.queries import select_rows, to_row
from clientgraph.db.rows import ApiKeyRow
from clientgraph.resolvers import history
from clientgraph.resolvers.context import Context
from clientgraph.resolvers.enums import UserErrorCode
from clientgraph.resolvers.errors import fail
from clientgraph.resolvers.inputs import not_found, parse_id, required_text
from clientgraph.resolvers.policy import Viewer, require_admin
from clientgraph.resolvers.teams import live_user
from sqlalchemy.ext.asyncio import AsyncSession

PREFIX = "cgk_"


@dataclass(frozen=True, slots=True)
class IssuedKey:
    row: ApiKeyRow
    key: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_key(token: str) -> tuple[uuid.UUID, str] | None:
    """(key id, secret) of a string shaped like an API key, else None."""
    if not token.startswith(PREFIX):
        return None
    key_id, _, secret = token[len(PREFIX) :].partition("_")
    try:
        return uuid.UUID(hex=key_id), secret
    except ValueError:
        return None


async def key_owner(session: AsyncSession, token: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(user id, firm id) an unrevoked key acts for, or None for anything else."""
    parsed = parse_key(token)
    if parsed is None:
        return None
    key_id, secret = parsed
    key = await session.get(models.ApiKey, key_id)
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.secret_hash, _hash(secret)):
        return None
    return key.user_id, key.firm_id


async def _issue(
    session: AsyncSession, firm_id: uuid.UUID, user_id: uuid.UUID, name: str
) -> tuple[models.ApiKey, str]:
    secret = secrets.token_urlsafe(32)
    key = models.ApiKey(
        id=models.new_id(),
        firm_id=firm_id,
        user_id=user_id,
        name=name,
        secret_hash=_hash(secret),
        created_at=models.utcnow(),
    )
    session.add(key)
    return key, f"{PREFIX}{key.id.hex}_{secret}"


def _row(key: models.ApiKey) -> ApiKeyRow:
    return ApiKeyRow(key.id, key.user_id, key.name, key.created_at, key.revoked_at)


async def issue_for_operator(
    db: Database, *, firm_id: uuid.UUID, user_id: uuid.UUID, name: str
) -> str:
    """A key made from the command line, by whoever runs the server."""
    clean_name = required_text(name, ["name"])

    async def work(session: AsyncSession) -> str:
        return (await _issue(session, firm_id, user_id, clean_name))[1]

    return await db.write(work, firm_id=firm_id)


def _record(
    session: AsyncSession, viewer: Viewer, key: models.ApiKey, action: str, change: history.Change
) -> None:
    history.record(
        session, viewer, subject_type="api_key", subject_id=key.id, action=action, changes=[change]
    )


async def create_api_key(ctx: Context, *, name: str, user_id: str) -> IssuedKey:
    """Admin: a key acting as `user_id` (often a user made for the partner, with just the
    rights it needs)."""
    require_admin(ctx.viewer)
    clean_name = required_text(name, ["name"])
    user_uuid = parse_id(user_id, "User", ["userId"], "user")

    async def work(session: AsyncSession) -> IssuedKey:
        user = await live_user(session, ctx.viewer.firm_id, user_uuid, lock=True)
        if not user.is_active:
            raise fail(["userId"], UserErrorCode.USER_INACTIVE, f"{user.name} is not active.")
        key, token = await _issue(session, ctx.viewer.firm_id, user.id, clean_name)
        _record(session, ctx.viewer, key, "api_key.created", history.Change("name", None, key.name))
        return IssuedKey(_row(key), token)

    return await ctx.write(work)


async def revoke_api_key(ctx: Context, *, api_key_id: str) -> ApiKeyRow:
    require_admin(ctx.viewer)
    key_uuid = parse_id(api_key_id, "ApiKey", ["apiKeyId"], "API key")

    async def work(session: AsyncSession) -> ApiKeyRow:
        key = await session.get(models.ApiKey, key_uuid, with_for_update=True)
        if key is None or key.firm_id != ctx.viewer.firm_id:
            raise not_found(["apiKeyId"], "API key")
        if key.revoked_at is None:
            key.revoked_at = models.utcnow()
            change = history.Change("revokedAt", None, key.revoked_at.isoformat())
            _record(session, ctx.viewer, key, "api_key.revoked", change)
        return _row(key)

    return await ctx.write(work)


async def api_keys(ctx: Context) -> list[ApiKeyRow]:
    """Admin: the firm's keys, newest first, revoked ones included."""
    require_admin(ctx.viewer)
    key = models.ApiKey
    rows = await ctx.rows(
        select_rows(ApiKeyRow)
        .where(key.firm_id == ctx.viewer.firm_id)
        .order_by(key.created_at.desc(), key.id)
    )
    return [to_row(ApiKeyRow, row) for row in rows]
