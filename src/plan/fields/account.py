"""Account: the fields of `schema.types.Account` and the loaders behind them."""

from __future__ import annotations

from typing import Any

from clientgraph.plan.build import Build, Field, Fix, planned
from clientgraph.plan.connection import connection, page_request, related_keyset
from clientgraph.plan.fields import scalars
from clientgraph.plan.fields.audit_event import subject_history
from clientgraph.resolvers.read_model import OWNED_ACCOUNTS
from sqlalchemy import ColumnElement

TYPE = "Account"

planned(TYPE, "id")(scalars.global_id(TYPE))
for _graphql, _column in (
    ("name", "name"),
    ("customerNumber", "customer_number"),
    ("type", "type"),
    ("status", "status"),
    ("version", "version"),
):
    planned(TYPE, _graphql)(scalars.column(_column))
planned(TYPE, "createdAt")(scalars.timestamp("created_at"))
planned(TYPE, "updatedAt")(scalars.timestamp("updated_at"))


@planned(TYPE, "history")
def history(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    return subject_history(build, row, field)


def accounts_of_owner(
    build: Build, row: Any, field: Field
) -> tuple[ColumnElement[Any], Fix | None]:
    """ClientOwner.accounts."""
    keyset = related_keyset(build, OWNED_ACCOUNTS, row, row.id)
    return connection(build, field, TYPE, keyset, page_request(field.args))
