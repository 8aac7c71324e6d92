"""The kinds of caller a server can meet, across every firm: one synthetic `Viewer` per
distinct (role, rights, user or key) of the live users and API keys, with no real id. What a
plan depends on of its caller is exactly that (`Viewer.shape`), so a plan made for one of
these serves every real caller of its kind (web/plans_ahead.py)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from clientgraph.auth.api_keys import PresentedKey, viewer_of_key
from clientgraph.auth.viewer import Viewer, user_viewer
from clientgraph.db import models
from clientgraph.db.engine import Database
from clientgraph.resolvers.enums import UserRole
from sqlalchemy import (
    Row,
    String,
    and_,
    func,
    literal,
    null,
    or_,
    select,
    text,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

NO_ID = uuid.UUID(int=0)
"""Every id of a synthetic caller: a plan takes the ids as SQL parameters, never from here."""

_ON_POSTGRESQL = text(
    "SELECT role_name, user_permissions, key_permissions FROM caller_shapes(:most)"
).columns(role_name=String, user_permissions=JSONB, key_permissions=JSONB)
"""Migration 0012's function: the app role sees one firm per transaction."""


def _shapes_on_sqlite(most: int) -> Any:
    """What `caller_shapes` answers, where no row-level security hides other firms."""
    user, key = models.User, models.ApiKey
    creator = models.User.__table__.alias("creator")
    live = and_(user.is_active.is_(True), user.deleted_at.is_(None))
    users = select(
        user.role.label("role_name"),
        user.permissions.label("user_permissions"),
        type_coerce(null(), key.permissions.type).label("key_permissions"),
    ).where(live)
    keys = (
        select(creator.c.role, creator.c.permissions, key.permissions)
        .join_from(
            models.ApiKey,
            creator,
            and_(creator.c.firm_id == key.firm_id, creator.c.id == key.created_by_id),
        )
        .where(
            key.revoked_at.is_(None),
            or_(key.expires_at.is_(None), key.expires_at > models.utcnow()),
            creator.c.is_active.is_(True),
            creator.c.deleted_at.is_(None),
        )
    )
    shape = union_all(users, keys).subquery()
    columns = (shape.c.role_name, shape.c.user_permissions, shape.c.key_permissions)
    return select(*columns).group_by(*columns).order_by(func.count(literal(1)).desc()).limit(most)


async def caller_shapes(db: Database, most: int) -> list[Viewer]:
    """A caller of each of at most `most` kinds of live caller, the most common first. Two
    may have the same rights (a key capped by its creator's is its creator's kind)."""
    async with db.read_sessions() as session:
        rows = await _rows(session, most)
    return [viewer for viewer in map(_viewer_of, rows) if viewer is not None]


async def _rows(session: AsyncSession, most: int) -> Sequence[Row[Any]]:
    if session.bind.dialect.name == "postgresql":
        return (await session.execute(_ON_POSTGRESQL, {"most": most})).all()
    return (await session.execute(_shapes_on_sqlite(most))).all()


def _viewer_of(row: Row[Any]) -> Viewer | None:
    """The caller a row stands for, built as authentication builds a real one; None for a
    role this version does not know."""
    role, user_permissions, key_permissions = row
    try:
        UserRole(role)
    except ValueError:
        return None
    if key_permissions is None:
        return user_viewer(NO_ID, NO_ID, "", role, user_permissions)
    key = PresentedKey(NO_ID, NO_ID, NO_ID, list(key_permissions), None, "", None)
    return viewer_of_key(key, "", role, user_permissions)
