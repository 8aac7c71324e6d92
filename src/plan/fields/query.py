"""The root query's fields. Their row is None: each is a subquery of its own."""

from __future__ import annotations

from typing import Any

from clientgraph.db import models
from clientgraph.ids import decode_id
from clientgraph.plan.build import Build, Field, Fix, planned
from clientgraph.plan.connection import Keyset, connection, page_request
from clientgraph.plan.errors import Unplanned
from clientgraph.resolvers.accounts import (
    AccountFilter,
    AccountOrder,
    _order_keys,
    filtered_accounts,
)
from clientgraph.resolvers.enums import AccountOrderField, OrderDirection
from clientgraph.resolvers.errors import BadUserInput
from clientgraph.resolvers.inputs import search_text
from clientgraph.resolvers.policy import visible_accounts
from clientgraph.schema.query import MAX_FILTER_TAGS
from sqlalchemy import ColumnElement, Uuid, select
from sqlalchemy.orm import aliased

TYPE = "Query"


def _account_filter(spec: dict[str, Any] | None, search_length: int) -> AccountFilter:
    """`schema.query._filter` over the coerced argument."""
    if spec is None:
        return AccountFilter()
    tags = spec.get("tags")
    if tags is not None and len(set(tags)) > MAX_FILTER_TAGS:
        raise Unplanned("too many tags")
    owner_ids = spec.get("ownerIds")
    try:
        search = search_text(spec.get("search"), search_length)
    except BadUserInput as error:
        raise Unplanned(str(error)) from error
    return AccountFilter(
        search=search,
        owner_ids=[str(owner_id) for owner_id in owner_ids] if owner_ids else None,
        owned_by_me=bool(spec.get("ownedByMe")),
        unowned=bool(spec.get("unowned")),
        assigned_to_me=bool(spec.get("assignedToMe")),
        status=spec.get("status"),
        types=spec.get("types"),
        tags=tags,
    )


@planned(TYPE, "accounts")
def accounts(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    args = field.args
    order_by = args.get("orderBy")
    order = (
        AccountOrder(
            AccountOrderField(order_by["field"].value),
            order_by["direction"] == OrderDirection.DESC,
        )
        if order_by
        else AccountOrder()
    )
    spec = _account_filter(args.get("filter"), build.lists.search_length)
    query, keys = _order_keys(filtered_accounts(build.viewer, spec), order.field)
    statement = query.with_only_columns(maintain_column_froms=True)
    keyset = Keyset(statement, models.Account, keys, order.descending, None)
    return connection(build, field, "Account", keyset, page_request(args))


@planned(TYPE, "account")
def account(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    account_id = build.parameter(Uuid)
    build.bind(field, "id", lambda value: {account_id.key: decode_id(str(value), "Account")})
    found = aliased(models.Account)
    value, fix = build.object("Account", field, found)
    statement = select(value).where(visible_accounts(build.viewer, found), found.id == account_id)
    return build.one(statement, None), fix
