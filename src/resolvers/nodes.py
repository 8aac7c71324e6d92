"""Fetching any object by its global id, within the caller's firm and rights.

Which objects of each type a caller may reach by id is written once here, as SQL criteria
(`NODE_KINDS`): the DataLoader path batches them by id (`node_row`), and the planned read path
embeds them in its statement (`plan.fields.node`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from clientgraph.auth.viewer import Viewer
from clientgraph.db import models
from clientgraph.db.queries import select_rows, to_row
from clientgraph.db.rows import (
    AccountRow,
    ApiKeyRow,
    AuditEventRow,
    ClientOwnerRow,
    ContactRow,
    EmailDeliveryRow,
    FirmRow,
    NotificationRow,
    UserRow,
    WebhookDeliveryRow,
    WebhookRow,
)
from clientgraph.ids import decode_any_id
from clientgraph.outbox.emails import EMAIL_KINDS
from clientgraph.outbox.webhook import WEBHOOK_KIND
from clientgraph.resolvers.context import Context
from clientgraph.resolvers.policy import (
    named_accounts_visible,
    visible_accounts,
    visible_api_keys,
    visible_contacts,
)
from clientgraph.resolvers.read_model import in_firm, live_users, own_firm
from sqlalchemy import ColumnElement, and_, exists, false, or_, select
from sqlalchemy.orm import aliased

Criteria = Callable[[Viewer, Any], list[ColumnElement[bool]]]
"""The rows of an entity (the model, or an alias of it) a caller may reach by id."""


@dataclass(frozen=True, slots=True)
class NodeKind:
    entity: Any
    row_type: type
    reachable: Criteria
    admin_only: bool = False
    aliasable: bool = True
    """Whether `reachable` holds for an alias of `entity`; if not, a statement reads the
    entity itself (its criteria name the model's own table)."""

    def visible_to(self, viewer: Viewer) -> bool:
        return viewer.is_admin or not self.admin_only


def _of_firm(viewer: Viewer, row: Any) -> list[ColumnElement[bool]]:
    return [in_firm(viewer, row)]


def _account(viewer: Viewer, row: Any) -> list[ColumnElement[bool]]:
    return [visible_accounts(viewer, row)]


def _user(viewer: Viewer, row: Any) -> list[ColumnElement[bool]]:
    return [live_users(viewer, row)]


def _contact(viewer: Viewer, row: Any) -> list[ColumnElement[bool]]:
    return [visible_contacts(viewer)]


def _api_key(viewer: Viewer, row: Any) -> list[ColumnElement[bool]]:
    return [visible_api_keys(viewer, row)]


def _firm(viewer: Viewer, row: Any) -> list[ColumnElement[bool]]:
    return [own_firm(viewer, row)]


def _audit_event(viewer: Viewer, event: Any) -> list[ColumnElement[bool]]:
    """History naming no account hidden from the caller, of a subject the caller may see: an
    account or contact they can see, anything else for administrators only."""
    account, contact = aliased(models.Account), models.Contact
    account_seen = exists().where(visible_accounts(viewer, account), account.id == event.subject_id)
    contact_seen = exists(
        select(contact.id).where(visible_contacts(viewer), contact.id == event.subject_id)
    )
    other = event.subject_type.not_in(("account", "contact"))
    subject_seen = or_(
        and_(event.subject_type == "account", account_seen),
        and_(event.subject_type == "contact", contact_seen),
        other if viewer.is_admin else false(),
    )
    return [event.firm_id == viewer.firm_id, named_accounts_visible(viewer), subject_seen]


def _notification(viewer: Viewer, row: Any) -> list[ColumnElement[bool]]:
    return [row.firm_id == viewer.firm_id, row.user_id == viewer.user_id]


def _email_delivery(viewer: Viewer, row: Any) -> list[ColumnElement[bool]]:
    return [row.firm_id == viewer.firm_id, row.kind.in_(EMAIL_KINDS)]


def _webhook_delivery(viewer: Viewer, row: Any) -> list[ColumnElement[bool]]:
    return [row.firm_id == viewer.firm_id, row.kind == WEBHOOK_KIND]


NODE_KINDS: dict[str, NodeKind] = {
    "Account": NodeKind(models.Account, AccountRow, _account),
    "ClientOwner": NodeKind(models.ClientOwner, ClientOwnerRow, _of_firm),
    "User": NodeKind(models.User, UserRow, _user),
    "Contact": NodeKind(models.Contact, ContactRow, _contact, aliasable=False),
    "Firm": NodeKind(models.Firm, FirmRow, _firm),
    "AuditEvent": NodeKind(models.AuditEvent, AuditEventRow, _audit_event, aliasable=False),
    "Notification": NodeKind(models.Notification, NotificationRow, _notification),
    "EmailDelivery": NodeKind(
        models.OutboxEvent, EmailDeliveryRow, _email_delivery, admin_only=True
    ),
    "ApiKey": NodeKind(models.ApiKey, ApiKeyRow, _api_key, admin_only=True),
    "Webhook": NodeKind(models.Webhook, WebhookRow, _of_firm, admin_only=True),
    "WebhookDelivery": NodeKind(
        models.OutboxEvent, WebhookDeliveryRow, _webhook_delivery, admin_only=True
    ),
}


def _loader_of(ctx: Context, type_name: str, kind: NodeKind) -> Any:
    """The request's loader of `type_name`'s reachable rows by id."""

    async def load(keys: list[Any]) -> list[Any]:
        entity = kind.entity
        found = await ctx.rows(
            select_rows(kind.row_type).where(
                *kind.reachable(ctx.viewer, entity), entity.id.in_(keys)
            )
        )
        rows = {row.id: row for row in (to_row(kind.row_type, found_row) for found_row in found)}
        return [rows.get(key) for key in keys]

    return ctx.loader(f"node:{type_name}", load)


async def node_row(ctx: Context, global_id: str) -> tuple[str, Any] | None:
    """(type name, row) for an id the caller may see; None for anything else, whatever it is."""
    decoded = decode_any_id(global_id)
    if decoded is None:
        return None
    type_name, key = decoded
    kind = NODE_KINDS.get(type_name)
    if kind is None or not kind.visible_to(ctx.viewer):
        return None
    row = await _loader_of(ctx, type_name, kind).load(key)
    return (type_name, row) if row is not None else None


def reachable_types(viewer: Viewer) -> Sequence[str]:
    """The node types `viewer` may reach any object of."""
    return [name for name, kind in NODE_KINDS.items() if kind.visible_to(viewer)]
