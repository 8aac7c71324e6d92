"""Viewer: the caller, their firm, rights, API key and notifications. Its row is None: the
caller's ids are the plan's parameters."""

from __future__ import annotations

from typing import Any

from clientgraph.db import models, orders
from clientgraph.plan.build import Build, Field, Fix, list_fix, planned
from clientgraph.plan.connection import Keyset, connection, page_request
from clientgraph.plan.fields.user import user_by_id
from clientgraph.plan.sqljson import quoted
from sqlalchemy import ColumnElement, null, select
from sqlalchemy.orm import aliased

TYPE = "Viewer"


@planned(TYPE, "user")
def user(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    return user_by_id(build, row, field, build.viewer.user_id, deleted_too=True)


@planned(TYPE, "firm")
def firm(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    found = aliased(models.Firm)
    value, fix = build.object("Firm", field, found)
    return build.one(select(value).where(found.id == build.viewer.firm_id), row), fix


@planned(TYPE, "permissions")
def permissions(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    names = [quoted(permission.value) for permission in build.viewer.permissions]
    return build.json.array(names), list_fix(None)


@planned(TYPE, "apiKey")
def api_key(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    if build.viewer.api_key_id is None:
        return null(), None
    key = aliased(models.ApiKey)
    value, fix = build.object("ApiKey", field, key)
    statement = select(value).where(
        key.firm_id == build.viewer.firm_id, key.id == build.viewer.api_key_id
    )
    return build.one(statement, row), fix


@planned(TYPE, "notifications")
def notifications(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    """The caller's own, newest first (`resolvers.notifications.notifications`)."""
    notification = models.Notification
    statement = (
        select()
        .select_from(notification)
        .where(
            notification.firm_id == build.viewer.firm_id,
            notification.user_id == build.viewer.user_id,
        )
    )
    if field.args.get("unreadOnly"):
        statement = statement.where(notification.read_at.is_(None))
    order = orders.notifications_newest_first(notification)
    keyset = Keyset(statement, notification, order, row)
    return connection(build, field, "Notification", keyset, page_request(field.args))
