"""User: the fields of `schema.types.User`."""

from __future__ import annotations

from typing import Any

from clientgraph.db.derived import user_is_active
from clientgraph.plan.build import Build, Counter, Field, Fix, planned
from clientgraph.plan.fields import scalars
from clientgraph.resolvers.policy import effective_permissions
from sqlalchemy import ColumnElement

TYPE = "User"

planned(TYPE, "id")(scalars.global_id(TYPE))
for _graphql, _column in (("name", "name"), ("email", "email"), ("role", "role")):
    planned(TYPE, _graphql)(scalars.column(_column))


@planned(TYPE, "isActive")
def is_active(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    return build.json.boolean(user_is_active(row)), None


def _permissions_fix(value: Any, counter: Counter) -> Any:
    role, granted = value
    names = [permission.value for permission in effective_permissions(role, granted or ())]
    counter.nodes += len(names)
    return names


@planned(TYPE, "permissions")
def permissions(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    return build.json.array([row.role, build.json.raw_json(row.permissions)]), _permissions_fix
