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
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import orjson
from clientgraph.auth.viewer import whole_firm_reader
from clientgraph.db import models, orders
from clientgraph.db.closing import Question, ask_at_close
from clientgraph.db.loaders import load_relation, on_session
from clientgraph.db.relation import Relation
from clientgraph.db.rows import AccountRow, ClientOwnerRow, ContactRow
from clientgraph.ids import encode_id
from clientgraph.list_limits import ListLimits
from clientgraph.outbox.queue import enqueue
from clientgraph.outbox.webhook import WEBHOOK_KIND
from clientgraph.resolvers.read_model import ACCOUNTS, CONTACT_EMAILS, CONTACTS, OWNERS, TAGS
from sqlalchemy import BindParameter, Select, Uuid, bindparam, select
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


def enqueue_at_close(session: AsyncSession) -> None:
    """`enqueue_recorded` at the end of the transaction (Context.write calls this after each
    mutation's work): whether the firm has any webhook at all rides in the transaction's
    closing statement (db/closing.py), so a firm without webhooks pays no statement for them."""
    events = [event for event in session.info.get(_RECORDED, []) if event.action in EVENT_TYPES]
    if not events:
        session.info.pop(_RECORDED, None)
        return
    ask_at_close(session, _ANY_WEBHOOK, {"webhook_firm_id": events[0].firm_id})


async def _enqueue_if_any_webhook(session: AsyncSession, any_webhook: bool) -> None:
    if any_webhook:
        await enqueue_recorded(session)
    else:
        session.info.pop(_RECORDED, None)


def _webhooks_of(firm_id: uuid.UUID | BindParameter[uuid.UUID]) -> Select[tuple[models.Webhook]]:
    return select(models.Webhook).where(models.Webhook.firm_id == firm_id)


_ANY_WEBHOOK = Question(
    _webhooks_of(bindparam("webhook_firm_id", type_=Uuid)).exists(),
    _enqueue_if_any_webhook,
)
"""Whether the firm of parameter `webhook_firm_id` has any webhook."""


async def enqueue_recorded(session: AsyncSession) -> None:
    """Queue the deliveries for the events the transaction recorded so far, now (a writer of
    thousands of events calls this after each batch: history.hand_over)."""
    events = [event for event in session.info.pop(_RECORDED, []) if event.action in EVENT_TYPES]
    if not events:
        return
    firm_id = events[0].firm_id
    webhooks = list(
        await session.scalars(
            _webhooks_of(firm_id).order_by(*orders.webhooks_oldest_first().clauses())
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


def _owner(owner_id: uuid.UUID | None) -> dict[str, str] | None:
    return {"id": encode_id("ClientOwner", owner_id)} if owner_id is not None else None


@dataclass(frozen=True, slots=True)
class SubjectShape:
    """How the body shows one kind of subject: the read model's relation of its rows by id,
    the lists beside each row (body key, relation by the subject's id), and the body's fields
    of a row after its `__typename` and `id` (`show(row, lists)`).

    The fields are the webhook's contract, written here rather than derived from the GraphQL
    type, so that a field added to the API does not change what partners receive; the
    rows, their firm, their visibility and the lists' joins and orders are the read model's."""

    relation: Relation
    lists: tuple[tuple[str, Relation], ...]
    show: Callable[[Any, dict[str, list[str]]], dict[str, Any]]


def _account(row: AccountRow, lists: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "name": row.name,
        "customerNumber": row.customer_number,
        "type": row.type,
        "status": row.status,
        "tags": lists["tags"],
        "owner": _owner(row.owner_id),
        "version": row.version,
        "createdAt": _time(row.created_at),
        "updatedAt": _time(row.updated_at),
    }


def _contact(row: ContactRow, lists: dict[str, list[str]]) -> dict[str, Any]:
    emails = lists["emails"]
    return {
        "firstName": row.first_name,
        "lastName": row.last_name,
        "email": emails[0] if emails else None,
        "emails": emails,
        "phone": row.phone,
        "portalAccess": row.portal_access,
        "version": row.version,
        "createdAt": _time(row.created_at),
        "updatedAt": _time(row.updated_at),
    }


def _client_owner(row: ClientOwnerRow, lists: dict[str, list[str]]) -> dict[str, Any]:
    return {"name": row.name}


SUBJECT_SHAPES = {
    "account": SubjectShape(ACCOUNTS, (("tags", TAGS),), _account),
    "contact": SubjectShape(CONTACTS, (("emails", CONTACT_EMAILS),), _contact),
    "client_owner": SubjectShape(OWNERS, (), _client_owner),
}
"""The subjects whose body carries them as they stand; any other carries only its id."""


async def _objects(
    session: AsyncSession, firm_id: uuid.UUID, events: Iterable[RecordedEvent]
) -> dict[uuid.UUID, dict[str, Any]]:
    """Each subject as it stands after the change, as the firm's administrators see it, one
    statement per kind of subject and per list; a deleted subject is absent (its event carries
    its id and what it was)."""

    run = on_session(session)

    reader = whole_firm_reader(firm_id)
    lists = ListLimits()
    ids: dict[str, set[uuid.UUID]] = defaultdict(set)
    for event in events:
        if event.subject_type in SUBJECT_SHAPES:
            ids[event.subject_type].add(event.subject_id)
    found: dict[uuid.UUID, dict[str, Any]] = {}
    for subject_type, subject_ids in ids.items():
        shape, keys = SUBJECT_SHAPES[subject_type], sorted(subject_ids)
        type_name = _TYPE_NAMES[subject_type]
        rows = await load_relation(run, shape.relation, reader, lists, keys)
        beside = {
            name: await load_relation(run, relation, reader, lists, keys)
            for name, relation in shape.lists
        }
        for index, row in enumerate(rows):
            if row is not None:
                shown = {name: values[index] for name, values in beside.items()}
                found[row.id] = {
                    "__typename": type_name,
                    "id": encode_id(type_name, row.id),
                    **shape.show(row, shown),
                }
    return found
