"""Contact: the fields of `schema.types.Contact`."""

from __future__ import annotations

from typing import Any

from clientgraph.db import models, orders
from clientgraph.plan.build import Build, Counter, Field, Fix, list_fix, planned
from clientgraph.plan.fields import custom_fields, scalars
from clientgraph.plan.fields.audit_event import subject_history
from clientgraph.resolvers.contacts import full_name
from clientgraph.resolvers.policy import visible_accounts
from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import aliased

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


def _emails(build: Build, row: Any) -> tuple[Any, Any]:
    email = aliased(models.ContactEmail)
    statement = select(email.email.label("j")).where(
        email.firm_id == build.viewer.firm_id, email.contact_id == row.id
    )
    return statement, email


@planned(TYPE, "email")
def primary_email(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    statement, email = _emails(build, row)
    ordered = statement.order_by(*orders.emails_in_order(email).clauses())
    first = ordered.limit(1).correlate(row).scalar_subquery()
    return first, None


@planned(TYPE, "emails")
def emails(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    statement, email = _emails(build, row)
    order = orders.emails_in_order(email)
    array = build.array(statement, row, order, build.lists.contact_emails, json_items=False)
    return array, list_fix(None)


@planned(TYPE, "accounts")
def accounts(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    """The contact's links to the accounts the caller sees, by account name."""
    link, account = aliased(models.AccountContact), aliased(models.Account)
    value, fix = build.object("AccountContact", field, (link, row))
    statement = (
        select(value.label("j"))
        .select_from(link)
        .join(account, and_(account.firm_id == link.firm_id, account.id == link.account_id))
        .where(visible_accounts(build.viewer, account), link.contact_id == row.id)
    )
    order = orders.accounts_by_name(account)
    return build.array(statement, row, order, build.lists.account_contacts), list_fix(fix)


@planned(TYPE, "customFields")
def contact_custom_fields(
    build: Build, row: Any, field: Field
) -> tuple[ColumnElement[Any], Fix | None]:
    return custom_fields.values(build, row, field, "CONTACT")


@planned(TYPE, "history")
def history(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    return subject_history(build, row, field)
