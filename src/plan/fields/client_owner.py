"""ClientOwner: the fields of `schema.types.ClientOwner`."""

from __future__ import annotations

from typing import Any

from clientgraph.plan.build import Build, Field, Fix, planned
from clientgraph.plan.fields import scalars
from clientgraph.resolvers.read_model import OWNED_ACCOUNTS
from sqlalchemy import ColumnElement, func

TYPE = "ClientOwner"

planned(TYPE, "id")(scalars.global_id(TYPE))
planned(TYPE, "name")(scalars.column("name"))


@planned(TYPE, "accountCount")
def account_count(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    related = OWNED_ACCOUNTS.rows(build.viewer, build.lists)
    statement = related.for_parent(row.id).add_columns(func.count())
    return statement.correlate(row).scalar_subquery(), None
