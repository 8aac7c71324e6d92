"""Viewer: the caller, their firm, rights, API key and notifications. Its row is None: the
caller's ids are the plan's parameters."""

from __future__ import annotations

from typing import Any

from clientgraph.plan.build import Build, Field, Fix, list_fix, planned
from clientgraph.plan.connection import connection, page_request, related_keyset
from clientgraph.plan.sqljson import quoted
from clientgraph.resolvers.read_model import API_KEYS, FIRMS, NOTIFICATIONS, USERS, unread
from clientgraph.schema.related import Read
from sqlalchemy import ColumnElement, null

TYPE = "Viewer"

VIEWER_USER = Read(USERS, "User", "user_id", many=False, required=True)
VIEWER_FIRM = Read(FIRMS, "Firm", "firm_id", many=False, required=True)
VIEWER_API_KEY = Read(API_KEYS, "ApiKey", "api_key_id", many=False, required=False)
"""The caller's user, firm and key: relations keyed by the plan's parameters, not a parent row."""


@planned(TYPE, "user")
def user(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    return build.related(VIEWER_USER, field, row, build.viewer.user_id)


@planned(TYPE, "firm")
def firm(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    return build.related(VIEWER_FIRM, field, row, build.viewer.firm_id)


@planned(TYPE, "permissions")
def permissions(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    names = [quoted(permission.value) for permission in build.viewer.permissions]
    return build.json.array(names), list_fix(None)


@planned(TYPE, "apiKey")
def api_key(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    if build.viewer.api_key_id is None:
        return null(), None
    return build.related(VIEWER_API_KEY, field, row, build.viewer.api_key_id)


@planned(TYPE, "notifications")
def notifications(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    narrow = unread if field.args.get("unreadOnly") else None
    keyset = related_keyset(build, NOTIFICATIONS, row, build.viewer.user_id, narrow)
    return connection(build, field, "Notification", keyset, page_request(field.args))
