"""User: the fields of `schema.types.User`."""

from __future__ import annotations

from typing import Any

from clientgraph.db import models
from clientgraph.plan.build import Build, Counter, Field, Fix, planned
from clientgraph.plan.fields import scalars
from clientgraph.resolvers.policy import effective_permissions
from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import aliased

TYPE = "User"

planned(TYPE, "id")(scalars.global_id(TYPE))
for _graphql, _column in (("name", "name"), ("email", "email"), ("role", "role")):
    planned(TYPE, _graphql)(scalars.column(_column))


def live_users(build: Build, user: Any) -> ColumnElement[bool]:
    return and_(user.firm_id == build.viewer.firm_id, user.deleted_at.is_(None))


def user_by_id(
    build: Build, parent: Any, field: Field, user_id: Any, *, deleted_too: bool
) -> tuple[ColumnElement[Any], Fix | None]:
    """The user `user_id` names, as the `user` loader finds it (deleted users included) or,
    unless `deleted_too`, only while not deleted."""
    user = aliased(models.User)
    value, fix = build.object(TYPE, field, user)
    criteria = [user.firm_id == build.viewer.firm_id, user.id == user_id]
    if not deleted_too:
        criteria.append(user.deleted_at.is_(None))
    return build.one(select(value).where(*criteria), parent), fix


@planned(TYPE, "isActive")
def is_active(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    return build.json.boolean(and_(row.is_active, row.deleted_at.is_(None))), None


def _permissions_fix(value: Any, counter: Counter) -> Any:
    role, granted = value
    names = [permission.value for permission in effective_permissions(role, granted or ())]
    counter.nodes += len(names)
    return names


@planned(TYPE, "permissions")
def permissions(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    return build.json.array([row.role, build.json.raw_json(row.permissions)]), _permissions_fix


@planned(TYPE, "clientOwner")
def client_owner(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    entry = aliased(models.ClientOwner)
    value, fix = build.object("ClientOwner", field, entry)
    statement = select(value).where(entry.firm_id == build.viewer.firm_id, entry.user_id == row.id)
    return build.one(statement, row), fix
