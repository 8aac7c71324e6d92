"""Core building blocks of the read side: column lists, row mapping, account predicates."""

from __future__ import annotations

import uuid
from dataclasses import fields
from functools import cache
from typing import Any, TypeVar

from clientgraph.db import models
from clientgraph.db.derived import DERIVED
from clientgraph.db.rows import (
    AccountRow,
    ApiKeyRow,
    AuditEventRow,
    ClientOwnerRow,
    ContactRow,
    CustomFieldDefinitionRow,
    EmailDeliveryRow,
    FirmRow,
    NotificationRow,
    UserRow,
    WebhookDeliveryRow,
    WebhookRow,
)
from sqlalchemy import ColumnElement, Row, Select, exists, or_, select
from sqlalchemy.orm import aliased

RowT = TypeVar("RowT")

TABLE_OF_ROW: dict[type, Any] = {
    ApiKeyRow: models.ApiKey.__table__,
    FirmRow: models.Firm.__table__,
    UserRow: models.User.__table__,
    ClientOwnerRow: models.ClientOwner.__table__,
    AccountRow: models.Account.__table__,
    ContactRow: models.Contact.__table__,
    AuditEventRow: models.AuditEvent.__table__,
    NotificationRow: models.Notification.__table__,
    CustomFieldDefinitionRow: models.CustomFieldDefinition.__table__,
    EmailDeliveryRow: models.OutboxEvent.__table__,
    WebhookRow: models.Webhook.__table__,
    WebhookDeliveryRow: models.OutboxEvent.__table__,
}


def row_columns(row_type: type, entity: Any) -> list[ColumnElement[Any]]:
    """What a row dataclass is built from, in its field order, over `entity` (a mapped class,
    an alias of one, or a table's `.c`): each field's column of the same name, or for a
    derived field its expression (`db.derived`), labelled with the field's name."""
    derived = DERIVED.get(row_type, {})
    return [
        derived[field.name](entity).label(field.name)
        if field.name in derived
        else getattr(entity, field.name)
        for field in fields(row_type)
    ]


def columns_of(row_type: type) -> list[ColumnElement[Any]]:
    """What a row dataclass is built from, over its table (`row_columns`)."""
    return row_columns(row_type, TABLE_OF_ROW[row_type].c)


def to_row(row_type: type[RowT], row: Row[Any], offset: int = 0) -> RowT:
    """Build `row_type` from the columns of `row` starting at `offset` (see `columns_of`)."""
    return row_type(*row[offset : offset + _width(row_type)])


@cache
def _width(row_type: type) -> int:
    """How many fields `row_type` has: asked once per type, as `to_row` runs per row read."""
    return len(fields(row_type))  # type: ignore[arg-type]


def from_model(row_type: type[RowT], model: Any) -> RowT:
    """Build `row_type` from an ORM object a mutation just wrote, field by field (the row's
    fields are named as its table's columns, see `columns_of`); not for a row with derived
    fields, which only SQL gives."""
    assert row_type not in DERIVED, row_type
    return row_type(*(getattr(model, field.name) for field in fields(row_type)))  # type: ignore[arg-type]


def select_rows(row_type: type) -> Select[Any]:
    return select(*columns_of(row_type))


def fold(text: str) -> str:
    """The normalised form searched and sorted on, the same on every database."""
    return text.casefold()


def assigned_to(user_id: uuid.UUID, account: Any = models.Account) -> ColumnElement[bool]:
    """An account is assigned to a user who is on its team or whose address-book entry owns it.

    `account` may be an alias, for use inside a subquery of a query that joins accounts too.
    The subqueries use aliases of their own tables, so that a query joining those tables (the
    OWNER_NAME order joins client_owners) does not correlate them away.
    """
    return or_(on_team_of(user_id, account), owned_through(user_id, account))


def on_team_of(user_id: uuid.UUID, account: Any = models.Account) -> ColumnElement[bool]:
    """The user is one of the account's team members."""
    member = aliased(models.AccountTeamMember)
    return exists().where(
        member.firm_id == account.firm_id,
        member.account_id == account.id,
        member.user_id == user_id,
    )


def owned_through(user_id: uuid.UUID, account: Any = models.Account) -> ColumnElement[bool]:
    """The account's client owner is the user's address-book entry."""
    owner = aliased(models.ClientOwner)
    return exists().where(
        owner.firm_id == account.firm_id,
        owner.id == account.owner_id,
        owner.user_id == user_id,
    )
