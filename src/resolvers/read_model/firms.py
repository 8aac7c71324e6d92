"""The firm's relation: the caller's own firm."""

from __future__ import annotations

from typing import Any

from clientgraph.auth.viewer import Viewer
from clientgraph.db import models
from clientgraph.db.relation import Relation, row_shape
from clientgraph.db.rows import FirmRow
from clientgraph.resolvers.read_model.base import by_id
from sqlalchemy import ColumnElement


def own_firm(viewer: Viewer, firm: Any) -> ColumnElement[bool]:
    """The caller's own firm (a row of firms, or an alias)."""
    return firm.id == viewer.firm_id  # type: ignore[no-any-return]


FIRMS = Relation("firms", by_id(models.Firm, own_firm), row_shape(FirmRow), unique=True)
"""The caller's own firm by id; no other."""
