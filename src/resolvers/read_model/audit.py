"""The relation of history: the changes to an account or contact."""

from __future__ import annotations

from clientgraph.auth.viewer import Viewer
from clientgraph.db import models, orders
from clientgraph.db.relation import Alias, Related, Relation, row_shape
from clientgraph.db.rows import AuditEventRow
from clientgraph.list_limits import ListLimits
from clientgraph.resolvers.policy import named_accounts_visible
from sqlalchemy import select


def _history(viewer: Viewer, lists: ListLimits, alias: Alias) -> Related:
    event = models.AuditEvent
    statement = (
        select()
        .select_from(event)
        .where(event.firm_id == viewer.firm_id, named_accounts_visible(viewer))
    )
    return Related(statement, event, event.subject_id, orders.history_newest_first(event))


HISTORY = Relation("history", _history, row_shape(AuditEventRow))
"""The changes to an account or contact the caller reached (and so may see), newest first,
without the events that name an account hidden from the caller (a connection). Not aliased:
`named_accounts_visible` reads the events' table, and history never nests in history."""
