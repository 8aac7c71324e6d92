"""Contact: the fields of `schema.types.Contact`."""

from __future__ import annotations

from typing import Any

from clientgraph.plan.build import Build, Counter, Field, Fix, planned
from clientgraph.plan.fields import scalars
from clientgraph.resolvers.contacts import full_name
from sqlalchemy import ColumnElement

TYPE = "Contact"

planned(TYPE, "id")(scalars.global_id(TYPE))
for _graphql, _column in (
    ("firstName", "first_name"),
    ("lastName", "last_name"),
    ("phone", "phone"),
    ("portalAccess", "portal_access"),
    ("version", "version"),
):
    planned(TYPE, _graphql)(scalars.column(_column))
planned(TYPE, "lastLoginAt")(scalars.timestamp("last_login_at"))


def _full_name(value: Any, counter: Counter) -> Any:
    return full_name(value[0], value[1])


@planned(TYPE, "fullName")
def full_name_field(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    return build.json.array([row.first_name, row.last_name]), _full_name
