"""ClientOwner: the fields of `schema.types.ClientOwner`."""

from __future__ import annotations

from typing import Any

from clientgraph.db import models
from clientgraph.plan.build import Build, Field, Fix, planned
from clientgraph.plan.fields import scalars
from clientgraph.plan.fields.account import accounts_of_owner
from clientgraph.resolvers.policy import visible_accounts
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import aliased

TYPE = "ClientOwner"

planned(TYPE, "id")(scalars.global_id(TYPE))
planned(TYPE, "name")(scalars.column("name"))


@planned(TYPE, "accountCount")
def account_count(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    account = aliased(models.Account)
    statement = select(func.count()).where(
        visible_accounts(build.viewer, account), account.owner_id == row.id
    )
    return statement.correlate(row).scalar_subquery(), None


@planned(TYPE, "accounts")
def accounts(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    return accounts_of_owner(build, row, field)
