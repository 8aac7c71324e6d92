"""Partner API keys: long-lived bearer tokens for partner integrations.

A key is a principal of its own. It holds exactly the permissions it was given, never more
than its creator holds (then or now) and never a role, so OWNER/ADMIN-only actions are refused
to it; its `…ASSIGNED…` rights reach its creator's assigned accounts. It stops working when it
is revoked, when it expires, or when its creator is deleted or deactivated.

A key reads `cgk_<key id>_<secret>`; only a SHA-256 of the secret is stored, so a key is shown
once, when it is made, and can be revoked but not recovered.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from clientgraph.auth.api_keys import PREFIX, key_hash
from clientgraph.auth.viewer import Viewer
from clientgraph.db import models, orders
from clientgraph.db.engine import Database
from clientgraph.db.queries import from_model, to_row
from clientgraph.db.relation import Listing
from clientgraph.db.rows import ApiKeyRow
from clientgraph.ids import decode_id
from clientgraph.list_limits import ListLimits
from clientgraph.resolvers import history
from clientgraph.resolvers.context import Context
from clientgraph.resolvers.enums import Permission, UserErrorCode, UserRole
from clientgraph.resolvers.errors import Forbidden, fail
from clientgraph.resolvers.inputs import not_found, parse_id, required_text
from clientgraph.resolvers.policy import effective_permissions, require_admin
from clientgraph.resolvers.validation import checking
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class IssuedKey:
    row: ApiKeyRow
    key: str


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
        secret_hash=key_hash(secret),
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


def listed_api_keys(viewer: Viewer, lists: ListLimits) -> Listing:
    """What `apiKeys` lists, on both read paths: the firm's keys, revoked and expired ones
    included, newest first, at most `lists.api_keys`."""
    key = models.ApiKey
    return Listing(
        key,
        (key.firm_id == viewer.firm_id,),
        orders.api_keys_newest_first(key),
        lists.api_keys,
    )


async def api_keys(ctx: Context) -> list[ApiKeyRow]:
    """OWNER/ADMIN: `listed_api_keys`."""
    require_admin(ctx.viewer)
    listing = listed_api_keys(ctx.viewer, ctx.lists)
    rows = await ctx.rows(listing.first(ApiKeyRow))
    return [to_row(ApiKeyRow, row) for row in rows]
