"""What the relations of several areas share: a row by id where the caller may see it."""

from __future__ import annotations

from typing import Any

from clientgraph.auth.viewer import Viewer
from clientgraph.db import orders
from clientgraph.db.relation import Alias, Related
from clientgraph.list_limits import ListLimits
from sqlalchemy import ColumnElement, select


def by_id(model: Any, visible: Any) -> Any:
    """The rows of `model` whose id is the parent's key, where `visible(viewer, alias)`."""

    def rows(viewer: Viewer, lists: ListLimits, alias: Alias) -> Related:
        entity = alias(model)
        statement = select().select_from(entity).where(visible(viewer, entity))
        return Related(statement, entity, entity.id, orders.Order.of(entity.id))

    return rows


def in_firm(viewer: Viewer, entity: Any) -> ColumnElement[bool]:
    """Rows of the caller's firm (of a model, or an alias, with a firm_id)."""
    return entity.firm_id == viewer.firm_id  # type: ignore[no-any-return]
