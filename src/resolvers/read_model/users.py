"""The relations that read users: a user by id, deleted or live."""

from __future__ import annotations

from typing import Any

from clientgraph.auth.viewer import Viewer
from clientgraph.db import models
from clientgraph.db.relation import Relation, row_shape
from clientgraph.db.rows import UserRow
from clientgraph.resolvers.read_model.base import by_id, in_firm
from sqlalchemy import ColumnElement, and_


def live_users(viewer: Viewer, user: Any = models.User) -> ColumnElement[bool]:
    """Users of the caller's firm who are not deleted."""
    return and_(user.firm_id == viewer.firm_id, user.deleted_at.is_(None))


USERS = Relation("users", by_id(models.User, in_firm), row_shape(UserRow), unique=True)
"""A user of the firm by id, deleted ones too (history keeps who acted)."""


LIVE_USERS = Relation("live_users", by_id(models.User, live_users), row_shape(UserRow), unique=True)
"""A user of the firm by id, unless deleted."""
