"""The one rule that tells partners what changed: every audit event a mutation records whose
action is a webhook event type becomes one outbox delivery per webhook subscribed to it,
written in the mutation's own transaction (so a change that rolls back tells nobody).

The body is made once, when the change commits, and every attempt sends it unchanged; its
`id` (also the `webhook-id` header) is the audit event's id, the same for every webhook and
every retry, so receivers can drop what they already handled."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol

import orjson
from clientgraph.db import models, orders
from clientgraph.db.one_of import one_of
from clientgraph.ids import encode_id
from clientgraph.outbox.queue import enqueue
from clientgraph.outbox.webhook import WEBHOOK_KIND
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

EVENT_TYPES = (
    "account.created",
    "account.updated",
    "account.deactivated",
    "account.reactivated",
    "account.deleted",
    "account.owner_changed",
    "account.team_member_added",
    "account.team_member_removed",
    "contact.created",
    "contact.updated",
    "contact.linked",
    "contact.unlinked",
    "contact.invited",
    "client_owner.removed",
    "clients.transferred",
    "import.completed",
)
"""What a webhook may listen to: the audit actions of the same names."""

_RECORDED = "clientgraph.audit_events"
_TYPE_NAMES = {
    "firm": "Firm",
    "account": "Account",
    "contact": "Contact",
    "client_owner": "ClientOwner",
}
"""The GraphQL type of each kind of subject an event type names."""


class RecordedEvent(Protocol):
    """An audit event a transaction writes, as this module reads it: the ORM row, or the
    plain values a bulk writer inserts (history.NewEvent)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def firm_id(self) -> uuid.UUID: ...
    @property
    def subject_type(self) -> str: ...
    @property
    def subject_id(self) -> uuid.UUID: ...
    @property
    def action(self) -> str: ...
    @property
    def actor_name(self) -> str | None: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def changes(self) -> list[Any]: ...


def recorded(session: AsyncSession, event: RecordedEvent) -> None:
    """Note an audit event the transaction of `session` writes (history.record calls this)."""
    session.info.setdefault(_RECORDED, []).append(event)


async def enqueue_recorded(session: AsyncSession) -> None:
    """Queue the deliveries for the events the transaction recorded (Context.write calls this
    after each mutation's work, before the commit)."""
    events = [event for event in session.info.pop(_RECORDED, []) if event.action in EVENT_TYPES]
    if not events:
        return
    firm_id = events[0].firm_id
    webhooks = list(
        await session.scalars(
            select(models.Webhook)
            .where(models.Webhook.firm_id == firm_id)
            .order_by(*orders.webhooks_oldest_first().clauses())
        )
    )
    wanted = [e for e in events if any(e.action in hook.events for hook in webhooks)]
    if not wanted:
        return
    await session.flush()
    objects = await _objects(session, firm_id, wanted)
    for event in wanted:
        event_id = encode_id("AuditEvent", event.id)
        body = orjson.dumps(
            {
                "id": event_id,
                "type": event.action,
                "occurredAt": event.occurred_at.isoformat(),
                "firmId": encode_id("Firm", firm_id),
                "actor": {"name": event.actor_name},
                "data": objects.get(event.subject_id)
                or {"id": encode_id(_TYPE_NAMES[event.subject_type], event.subject_id)},
                "changes": event.changes,
            }
        ).decode()
        for hook in webhooks:
            if event.action in hook.events:
                enqueue(
                    session,
                    firm_id=firm_id,
                    kind=WEBHOOK_KIND,
                    recipient=str(hook.id),
                    payload={"eventId": event_id, "eventType": event.action, "body": body},
                    now=models.utcnow(),
                )


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def _grouped(session: AsyncSession, statement: Select[Any]) -> dict[uuid.UUID, list[str]]:
    """The (parent id, value) rows of `statement`, as each parent's values in their order."""
    grouped: dict[uuid.UUID, list[str]] = defaultdict(list)
    for parent_id, value in await session.execute(statement):
        grouped[parent_id].append(value)
    return grouped


async def _accounts(
    session: AsyncSession, firm_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    account, tag = models.Account, models.AccountTag
    tags = await _grouped(
        session,
        select(tag.account_id, tag.tag)
        .where(tag.firm_id == firm_id, one_of(tag.account_id, ids))
        .order_by(*orders.tags_in_order(tag).clauses()),
    )
    rows = await session.execute(
        select(account).where(account.firm_id == firm_id, one_of(account.id, ids))
    )
    return {
        row.id: {
            "__typename": "Account",
            "id": encode_id("Account", row.id),
            "name": row.name,
            "customerNumber": row.customer_number,
            "type": row.type,
            "status": row.status,
            "tags": tags[row.id],
            "owner": {"id": encode_id("ClientOwner", row.owner_id)} if row.owner_id else None,
            "version": row.version,
            "createdAt": _time(row.created_at),
            "updatedAt": _time(row.updated_at),
        }
        for (row,) in rows
    }


async def _contacts(
    session: AsyncSession, firm_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    contact, email = models.Contact, models.ContactEmail
    emails = await _grouped(
        session,
        select(email.contact_id, email.email)
        .where(email.firm_id == firm_id, one_of(email.contact_id, ids))
        .order_by(*orders.emails_in_order(email).clauses()),
    )
    rows = await session.execute(
        select(contact).where(contact.firm_id == firm_id, one_of(contact.id, ids))
    )
    return {
        row.id: {
            "__typename": "Contact",
            "id": encode_id("Contact", row.id),
            "firstName": row.first_name,
            "lastName": row.last_name,
            "email": emails[row.id][0] if emails[row.id] else None,
            "emails": emails[row.id],
            "phone": row.phone,
            "portalAccess": row.portal_access,
            "version": row.version,
            "createdAt": _time(row.created_at),
            "updatedAt": _time(row.updated_at),
        }
        for (row,) in rows
    }


async def _client_owners(
    session: AsyncSession, firm_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    owner = models.ClientOwner
    rows = await session.execute(
        select(owner).where(owner.firm_id == firm_id, one_of(owner.id, ids))
    )
    return {
        row.id: {
            "__typename": "ClientOwner",
            "id": encode_id("ClientOwner", row.id),
            "name": row.name,
        }
        for (row,) in rows
    }


_LOADERS: dict[
    str,
    Callable[[AsyncSession, uuid.UUID, list[uuid.UUID]], Any],
] = {"account": _accounts, "contact": _contacts, "client_owner": _client_owners}


async def _objects(
    session: AsyncSession, firm_id: uuid.UUID, events: Iterable[RecordedEvent]
) -> dict[uuid.UUID, dict[str, Any]]:
    """Each subject as it stands after the change, one statement per kind of subject; a
    deleted subject is absent (its event carries its id and what it was)."""
    ids: dict[str, set[uuid.UUID]] = defaultdict(set)
    for event in events:
        ids[event.subject_type].add(event.subject_id)
    found: dict[uuid.UUID, dict[str, Any]] = {}
    for subject_type, subject_ids in ids.items():
        load = _LOADERS.get(subject_type)
        if load is not None:
            found.update(await load(session, firm_id, sorted(subject_ids)))
    return found
