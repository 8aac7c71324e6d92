"""Notification: the fields of `schema.types.Notification`."""

from __future__ import annotations

from typing import Any

from clientgraph.db import models
from clientgraph.plan.build import Build, Counter, Field, Fix, planned
from clientgraph.plan.fields import scalars
from clientgraph.resolvers import notifications
from clientgraph.resolvers.policy import visible_accounts
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import aliased

TYPE = "Notification"

planned(TYPE, "id")(scalars.global_id(TYPE))
planned(TYPE, "kind")(scalars.column("kind"))
planned(TYPE, "createdAt")(scalars.timestamp("created_at"))
planned(TYPE, "readAt")(scalars.timestamp("read_at"))


def _visible_account(build: Build, row: Any) -> tuple[Any, Any]:
    account = aliased(models.Account)
    criteria = (visible_accounts(build.viewer, account), account.id == row.account_id)
    return account, criteria


def _message(value: Any, counter: Counter) -> Any:
    kind, stored, account_name = value
    if kind not in notifications.MESSAGES:
        return stored
    return notifications.message(kind, account_name)


@planned(TYPE, "message")
def message(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    """Names the account only if the reader may see it (`notifications.message`)."""
    account, criteria = _visible_account(build, row)
    name = select(account.name).where(*criteria).correlate(row).scalar_subquery()
    return build.json.array([row.kind, row.message, name]), _message
