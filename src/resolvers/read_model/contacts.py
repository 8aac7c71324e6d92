"""The relations that read contacts: a contact by id, its e-mails, and the links between
accounts and contacts from either side (the links are the contacts' area, as in
`db.models.contacts`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from clientgraph.auth.viewer import Viewer
from clientgraph.db import models, orders
from clientgraph.db.relation import Alias, Related, Relation, Shape, column_shape, row_shape
from clientgraph.db.rows import AccountContactRow, ContactRow
from clientgraph.list_limits import ListLimits
from clientgraph.resolvers.policy import visible_accounts, visible_contacts
from sqlalchemy import ColumnElement, and_, select


def _visible_contacts(viewer: Viewer, lists: ListLimits, alias: Alias) -> Related:
    contact = models.Contact
    statement = select().select_from(contact).where(visible_contacts(viewer))
    return Related(statement, contact, contact.id, orders.Order.of(contact.id))


CONTACTS = Relation("contacts", _visible_contacts, row_shape(ContactRow), unique=True)
"""A contact by id, if the caller may see it. Not aliased: `policy.visible_contacts` reads the
contacts' table, and a contact by id is read only at the root."""


def _contact_emails(viewer: Viewer, lists: ListLimits, alias: Alias) -> Related:
    email = alias(models.ContactEmail)
    statement = select().select_from(email).where(email.firm_id == viewer.firm_id)
    return Related(
        statement, email, email.contact_id, orders.emails_in_order(email), lists.contact_emails
    )


CONTACT_EMAILS = Relation("contact_emails", _contact_emails, column_shape(lambda e: e.email))
"""A contact's e-mails as entered, the primary one first."""


_LINK_COLUMNS = ("account_id", "description", "is_commercial", "is_operational", "linked_at")


_CONTACT_SHAPE = row_shape(ContactRow)


def _link_columns(entity: Any) -> list[ColumnElement[Any]]:
    link, contact = entity
    return [getattr(link, name) for name in _LINK_COLUMNS] + list(_CONTACT_SHAPE.columns(contact))


def _link_row(values: Sequence[Any]) -> AccountContactRow:
    account_id, description, is_commercial, is_operational, linked_at = values[:5]
    return AccountContactRow(
        account_id=account_id,
        description=description,
        is_commercial=is_commercial,
        is_operational=is_operational,
        linked_at=linked_at,
        contact=_CONTACT_SHAPE.make(values[5:]),
    )


LINK_SHAPE = Shape(_link_columns, _link_row)
"""A link's rows are the pair (link, the linked contact), as `AccountContact`'s handlers read."""


def _account_contacts(viewer: Viewer, lists: ListLimits, alias: Alias) -> Related:
    link, contact = alias(models.AccountContact), alias(models.Contact)
    statement = (
        select()
        .select_from(link)
        .join(contact, and_(contact.firm_id == link.firm_id, contact.id == link.contact_id))
        .where(link.firm_id == viewer.firm_id)
    )
    return Related(
        statement,
        (link, contact),
        link.account_id,
        orders.contacts_by_name(contact),
        lists.account_contacts,
    )


ACCOUNT_CONTACTS = Relation("account_contacts", _account_contacts, LINK_SHAPE)
"""An account's links to its contacts, by the contact's last, then first name."""


def _contact_links(viewer: Viewer, lists: ListLimits, alias: Alias) -> Related:
    link, contact = alias(models.AccountContact), alias(models.Contact)
    account = alias(models.Account)
    statement = (
        select()
        .select_from(link)
        .join(contact, and_(contact.firm_id == link.firm_id, contact.id == link.contact_id))
        .join(account, and_(account.firm_id == link.firm_id, account.id == link.account_id))
        .where(visible_accounts(viewer, account))
    )
    return Related(
        statement,
        (link, contact),
        link.contact_id,
        orders.accounts_by_name(account),
        lists.account_contacts,
    )


CONTACT_LINKS = Relation("contact_links", _contact_links, LINK_SHAPE)
"""A contact's links to the accounts the caller sees, by account name."""
