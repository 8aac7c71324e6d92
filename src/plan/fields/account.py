"""Account: the fields of `schema.types.Account` and the loaders behind them."""

from __future__ import annotations

from typing import Any

from clientgraph.db import models, orders
from clientgraph.plan.build import Build, Field, Fix, list_fix, planned
from clientgraph.plan.connection import Keyset, connection, page_request
from clientgraph.plan.fields import custom_fields, scalars
from clientgraph.plan.fields.audit_event import subject_history
from clientgraph.plan.fields.user import live_users
from clientgraph.resolvers.policy import visible_accounts
from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import aliased

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


@planned(TYPE, "owner")
def owner(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    entry = aliased(models.ClientOwner)
    value, fix = build.object("ClientOwner", field, entry)
    statement = select(value).where(entry.firm_id == build.viewer.firm_id, entry.id == row.owner_id)
    return build.one(statement, row), fix


@planned(TYPE, "teamMembers")
def team_members(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    member, user = aliased(models.AccountTeamMember), aliased(models.User)
    value, fix = build.object("User", field, user)
    statement = (
        select(value.label("j"))
        .select_from(member)
        .join(user, and_(user.firm_id == member.firm_id, user.id == member.user_id))
        .where(live_users(build, user), member.firm_id == row.firm_id, member.account_id == row.id)
    )
    order = orders.users_by_name(user)
    array = build.array(statement, row, order, build.lists.team_members)
    return array, list_fix(fix)


@planned(TYPE, "tags")
def tags(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    tag = aliased(models.AccountTag)
    statement = select(tag.tag.label("j")).where(
        tag.firm_id == build.viewer.firm_id, tag.account_id == row.id
    )
    order = orders.tags_in_order(tag)
    array = build.array(statement, row, order, build.lists.tags_per_account, json_items=False)
    return array, list_fix(None)


@planned(TYPE, "contacts")
def contacts(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    link, contact = aliased(models.AccountContact), aliased(models.Contact)
    value, fix = build.object("AccountContact", field, (link, contact))
    statement = (
        select(value.label("j"))
        .select_from(link)
        .join(contact, and_(contact.firm_id == link.firm_id, contact.id == link.contact_id))
        .where(link.firm_id == build.viewer.firm_id, link.account_id == row.id)
    )
    order = orders.contacts_by_name(contact)
    return build.array(statement, row, order, build.lists.account_contacts), list_fix(fix)


@planned(TYPE, "relatedAccounts")
def related_accounts(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    """Visible accounts other than this one that share a contact with it, by name."""
    link, other_link = aliased(models.AccountContact), aliased(models.AccountContact)
    other = aliased(models.Account)
    value, fix = build.object(TYPE, field, other)
    shares_contact = (
        select(other_link.account_id)
        .join(
            link,
            and_(
                link.firm_id == other_link.firm_id,
                link.contact_id == other_link.contact_id,
                link.account_id != other_link.account_id,
            ),
        )
        .where(link.firm_id == build.viewer.firm_id, link.account_id == row.id)
        .correlate(row)
    )
    statement = select(value.label("j")).where(
        visible_accounts(build.viewer, other), other.id.in_(shares_contact)
    )
    order = orders.accounts_by_name(other)
    return build.array(statement, row, order, build.lists.related_accounts), list_fix(fix)


@planned(TYPE, "history")
def history(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    return subject_history(build, row, field)


@planned(TYPE, "customFields")
def account_custom_fields(
    build: Build, row: Any, field: Field
) -> tuple[ColumnElement[Any], Fix | None]:
    return custom_fields.values(build, row, field, "ACCOUNT")


def accounts_of_owner(
    build: Build, row: Any, field: Field
) -> tuple[ColumnElement[Any], Fix | None]:
    """ClientOwner.accounts: the visible accounts of one entry, any status, by name."""
    account = aliased(models.Account)
    statement = (
        select()
        .select_from(account)
        .where(visible_accounts(build.viewer, account), account.owner_id == row.id)
    )
    keyset = Keyset(statement, account, orders.accounts_by_name(account), row)
    return connection(build, field, TYPE, keyset, page_request(field.args))
