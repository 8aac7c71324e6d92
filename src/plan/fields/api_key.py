"""ApiKey: the fields of `schema.types.ApiKey`."""

from __future__ import annotations

from typing import Any

from clientgraph.plan.build import Build, Counter, Field, Fix, planned
from clientgraph.plan.fields import scalars
from clientgraph.resolvers.policy import given_permissions
from sqlalchemy import ColumnElement

TYPE = "ApiKey"

planned(TYPE, "id")(scalars.global_id(TYPE))
planned(TYPE, "name")(scalars.column("name"))
for _graphql, _column in (
    ("createdAt", "created_at"),
    ("expiresAt", "expires_at"),
    ("lastUsedAt", "last_used_at"),
    ("revokedAt", "revoked_at"),
):
    planned(TYPE, _graphql)(scalars.timestamp(_column))


def _given(value: Any, counter: Counter) -> Any:
    names = [permission.value for permission in given_permissions(value or ())]
    counter.nodes += len(names)
    return names


@planned(TYPE, "permissions")
def permissions(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    return build.json.raw_json(row.permissions), _given
