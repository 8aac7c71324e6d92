"""The audit trail: every mutation records who changed what, in its own transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from clientgraph.auth.viewer import Viewer
from clientgraph.db import models
from clientgraph.db.bulk import insert_rows
from clientgraph.db.live import LiveEvent, announce, send_announced
from clientgraph.db.one_of import one_of
from clientgraph.resolvers import webhook_events
from sqlalchemy import ColumnElement, case
from sqlalchemy.ext.asyncio import AsyncSession

_last_timestamp = datetime.min.replace(tzinfo=models.utcnow().tzinfo)


def _next_timestamp() -> datetime:
    """Now, but strictly after the previous event of this process, so history order is exact."""
    global _last_timestamp
    now = models.utcnow()
    _last_timestamp = max(now, _last_timestamp + timedelta(microseconds=1))
    return _last_timestamp


def as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value)


@dataclass(frozen=True, slots=True)
class Change:
    field: str
    before: Any
    after: Any

    def as_json(self) -> dict[str, str | None]:
        return {"field": self.field, "from": as_text(self.before), "to": as_text(self.after)}


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """The fields whose value differs, in the order of `after`."""
    return [
        Change(name, before.get(name), value)
        for name, value in after.items()
        if before.get(name) != value
    ]


def record(
    session: AsyncSession,
    viewer: Viewer,
    *,
    subject_type: str,
    subject_id: uuid.UUID,
    action: str,
    changes: list[Change],
    related_id: uuid.UUID | None = None,
) -> None:
    """Add one event; `related_id` is an account the event names besides its subject, so that
    callers who may not see that account do not see the event either."""
    event = models.AuditEvent(
        **new_event(
            viewer,
            subject_type=subject_type,
            subject_id=subject_id,
            action=action,
            changes=changes,
            related_id=related_id,
        ).columns()
    )
    session.add(event)
    tell(session, event)


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An audit event as plain values, before it is written: for a writer that inserts
    thousands at once (the register import), an ORM object each would cost more than the
    rest of the event."""

    id: uuid.UUID
    firm_id: uuid.UUID
    subject_type: str
    subject_id: uuid.UUID
    action: str
    actor_id: uuid.UUID | None
    actor_name: str | None
    actor_api_key_id: uuid.UUID | None
    occurred_at: datetime
    changes: list[dict[str, str | None]]
    related_id: uuid.UUID | None

    def columns(self) -> dict[str, Any]:
        """The audit_events row (its transaction order is the database's default)."""
        return {field.name: getattr(self, field.name) for field in fields(self)}


def new_event(
    viewer: Viewer,
    *,
    subject_type: str,
    subject_id: uuid.UUID,
    action: str,
    changes: list[Change],
    related_id: uuid.UUID | None = None,
) -> NewEvent:
    """The event `record` adds, with its id and time, not yet written; whoever writes it calls
    `tell` as well."""
    return NewEvent(
        id=models.new_id(),
        firm_id=viewer.firm_id,
        subject_type=subject_type,
        subject_id=subject_id,
        action=action,
        actor_id=viewer.actor_id,
        actor_name=viewer.name,
        actor_api_key_id=viewer.api_key_id,
        occurred_at=_next_timestamp(),
        changes=[change.as_json() for change in changes],
        related_id=related_id,
    )


def tell(session: AsyncSession, event: webhook_events.RecordedEvent) -> None:
    """The webhooks and live subscribers of the event `session`'s transaction writes."""
    webhook_events.recorded(session, event)
    announce(session, LiveEvent(event.firm_id, event.subject_type, event.subject_id, event.action))


async def hand_over(session: AsyncSession) -> None:
    """Queue the webhook deliveries and send the live events of what `session`'s transaction
    has told so far, instead of holding them until its commit: a writer that records thousands
    of events (the register import) calls this after each batch, so that its memory does not
    grow with them. Both still leave only if the transaction commits."""
    await webhook_events.enqueue_recorded(session)
    await send_announced(session)


def _versioned(session: AsyncSession) -> set[uuid.UUID]:
    """Ids whose version this transaction has already set (each write has a fresh session)."""
    return session.info.setdefault("versioned", set())


def take_versioned(session: AsyncSession) -> set[uuid.UUID]:
    """The subjects whose version `session`'s transaction has set so far, forgotten here: a
    writer of thousands of subjects (the register import) keeps them elsewhere, so that its
    memory does not grow with them, and names again with `versioned_already` those it meets
    again."""
    return session.info.pop("versioned", set())


def versioned_already(session: AsyncSession, ids: set[uuid.UUID]) -> None:
    """`ids`' versions were set earlier in this transaction (see `take_versioned`)."""
    _versioned(session).update(ids)


def bulk_version(session: AsyncSession, model: type[models.Account]) -> ColumnElement[int]:
    """The version an UPDATE of many of `model`'s rows sets, as `changed` moves one: up by
    one, but not again for a row this transaction has already versioned; the caller then
    names the rows it changed with `versioned_already`."""
    already = _versioned(session)
    if not already:
        return model.version + 1
    return case((one_of(model.id, sorted(already)), model.version), else_=model.version + 1)


async def record_all(session: AsyncSession, events: list[NewEvent]) -> None:
    """Write `events` (new_event) as `record` adds one, for a writer of many at once: plain
    rows in one INSERT, no ORM object each."""
    await insert_rows(session, models.AuditEvent, [event.columns() for event in events])
    for event in events:
        tell(session, event)


def created(session: AsyncSession, subject: models.Account | models.Contact) -> None:
    """A new account or contact starts at version 1, whatever else its mutation records."""
    _versioned(session).add(subject.id)


def changed(session: AsyncSession, subject: models.Account | models.Contact) -> None:
    """The version (once per mutation, and not at all for a subject the mutation created)
    and the update time of a subject `session`'s transaction changes."""
    versioned = _versioned(session)
    if subject.id not in versioned:
        subject.version += 1
        versioned.add(subject.id)
    subject.updated_at = models.utcnow()


def record_change(
    session: AsyncSession,
    viewer: Viewer,
    subject: models.Account | models.Contact,
    action: str,
    changes: list[Change],
    related_id: uuid.UUID | None = None,
) -> None:
    """A change of an account or contact: its version moves (once per mutation, and not at all
    for one the mutation created), its update time moves, and the change is recorded."""
    changed(session, subject)
    record(
        session,
        viewer,
        subject_type="account" if isinstance(subject, models.Account) else "contact",
        subject_id=subject.id,
        action=action,
        changes=changes,
        related_id=related_id,
    )
