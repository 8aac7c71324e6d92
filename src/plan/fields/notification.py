"""Notification: the fields of `schema.types.Notification`."""

from __future__ import annotations

from typing import Any

from clientgraph.plan.build import Build, Counter, Field, Fix, planned
from clientgraph.plan.fields import scalars
from clientgraph.resolvers import notifications
from clientgraph.resolvers.read_model import ACCOUNTS
from sqlalchemy import ColumnElement

TYPE = "Notification"

planned(TYPE, "id")(scalars.global_id(TYPE))
planned(TYPE, "kind")(scalars.column("kind"))
planned(TYPE, "createdAt")(scalars.timestamp("created_at"))
planned(TYPE, "readAt")(scalars.timestamp("read_at"))


def _message(value: Any, counter: Counter) -> Any:
    return notifications.shown(*value)


@planned(TYPE, "message")
def message(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    """Names the account only if the reader may see it: its name through `ACCOUNTS`."""
    account = ACCOUNTS.rows(build.viewer, build.lists)
    name = account.for_parent(row.account_id).add_columns(account.entity.name)
    return build.json.array(
        [row.kind, row.message, name.correlate(row).scalar_subquery()]
    ), _message
