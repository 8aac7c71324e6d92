"""Every order rows are read in, written once for the DataLoaders, the resolvers and the planner.

An order is total: its last key is unique among the rows it orders (the id, or a key unique
within the list), so rows with equal names come in one order on both read paths, and a cursor
(the key values of a row) names exactly one row. Each function takes the entity, or the alias
of it, whose rows it orders.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from clientgraph.db import models
from sqlalchemy import ColumnElement, Select, and_, case, func


@dataclass(frozen=True, slots=True)
class Order:
    """Order keys, each ascending unless its `descending` flag is set."""

    keys: tuple[ColumnElement[Any], ...]
    descending: tuple[bool, ...]

    @classmethod
    def of(cls, *keys: ColumnElement[Any], descending: bool = False) -> Order:
        return cls(keys, (descending,) * len(keys))

    def reverse(self) -> Order:
        return Order(self.keys, tuple(not down for down in self.descending))

    def clauses(self) -> list[ColumnElement[Any]]:
        """ORDER BY (or a window's order_by) clauses."""
        return [
            key.desc() if down else key.asc()
            for key, down in zip(self.keys, self.descending, strict=True)
        ]

    def is_descending(self) -> bool:
        """The one direction of every key, for a row-value (keyset) comparison. An order whose
        keys go both ways has none, and cannot be paged by cursor."""
        if len(set(self.descending)) != 1:
            raise ValueError("keys sorted both ways have no row-value comparison")
        return self.descending[0]


def nulls_last(expression: ColumnElement[Any], blank: Any) -> list[ColumnElement[Any]]:
    """Key parts for a nullable value: NULLs after every value ascending, before descending.
    No part is ever NULL, so row-value comparison works the same on SQLite and PostgreSQL."""
    return [case((expression.is_(None), 1), else_=0), func.coalesce(expression, blank)]


def contacts_by_name(contact: Any = models.Contact) -> Order:
    return Order.of(contact.last_name_folded, contact.first_name_folded, contact.id)


def users_by_name(user: Any = models.User) -> Order:
    return Order.of(user.name_folded, user.id)


def owners_by_name(owner: Any = models.ClientOwner) -> Order:
    return Order.of(owner.name_folded, owner.id)


def accounts_by_name(account: Any = models.Account) -> Order:
    return Order.of(account.name_folded, account.id)


def accounts_by_customer_number(account: Any = models.Account) -> Order:
    """Customer numbers ignoring case, accounts without one last."""
    return Order.of(*nulls_last(account.customer_number_folded, ""), account.id)


def accounts_by_created_at(account: Any = models.Account) -> Order:
    return Order.of(account.created_at, account.id)


def accounts_by_updated_at(account: Any = models.Account) -> Order:
    return Order.of(account.updated_at, account.id)


def accounts_by_owner_name(query: Select[Any]) -> tuple[Select[Any], Order]:
    """`query` over accounts joined to their address-book entries, and the order by the
    entry's name, unowned accounts last."""
    account, owner = models.Account, models.ClientOwner
    joined = query.outerjoin(
        owner, and_(owner.firm_id == account.firm_id, owner.id == account.owner_id)
    )
    return joined, Order.of(*nulls_last(owner.name_folded, ""), account.id)


def history_newest_first(event: Any = models.AuditEvent) -> Order:
    return Order.of(event.occurred_at, event.id, descending=True)


def audit_feed_in_commit_order(event: Any = models.AuditEvent) -> Order:
    """Oldest transaction first (`models.WritingTransaction`), then time and id within one."""
    return Order.of(event.transaction_order, event.occurred_at, event.id)


def notifications_newest_first(notification: Any = models.Notification) -> Order:
    return Order.of(notification.created_at, notification.id, descending=True)


def deliveries_newest_first(event: Any = models.OutboxEvent) -> Order:
    return Order.of(event.created_at, event.id, descending=True)


def webhooks_oldest_first(webhook: Any = models.Webhook) -> Order:
    return Order.of(webhook.created_at, webhook.id)


def api_keys_newest_first(key: Any = models.ApiKey) -> Order:
    """Newest first; keys created at the same instant by id."""
    return Order((key.created_at, key.id), (True, False))


def custom_fields_by_label(definition: Any = models.CustomFieldDefinition) -> Order:
    """By label ignoring case; equal labels by key, unique within an entity's fields."""
    return Order.of(definition.label_folded, definition.key)


def tags_in_order(tag: Any = models.AccountTag) -> Order:
    return Order.of(tag.tag)


def emails_in_order(email: Any = models.ContactEmail) -> Order:
    """A contact's e-mails as entered: the first is its primary address."""
    return Order.of(email.position)
