"""Account: the fields of `schema.types.Account` and the loaders behind them."""

from __future__ import annotations

from clientgraph.plan.build import planned
from clientgraph.plan.fields import scalars

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
