"""The outbox table seen as a queue: which firms have mail due, claiming a firm's due rows, and
recording what became of each.

Row-level security binds the relay as it binds a request: it works for one firm per
transaction. Only the question "which firms have queued mail" crosses firms, and on
PostgreSQL it goes through `outbox_queued_firms` (migration 0004), which answers firm ids and
nothing else.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from clientgraph.db import models
from clientgraph.outbox.emails import EmailDeliveryStatus
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

QUEUED = EmailDeliveryStatus.QUEUED.value
SENT = EmailDeliveryStatus.SENT.value
FAILED = EmailDeliveryStatus.FAILED.value

NEVER = datetime(9999, 12, 31, tzinfo=UTC)
ALWAYS = datetime(1970, 1, 1, tzinfo=UTC)
MAX_ERROR_LENGTH = 2000
SECRET_PAYLOAD_KEYS = frozenset({"token"})
"""Payload entries that are secrets only the e-mail may carry (a one-time link's token): they
are dropped from the row once it is sent, so the database keeps no usable link."""

_QUEUED_FIRMS = text("SELECT firm_id FROM outbox_queued_firms(:kinds, :due_before, :created_after)")


@dataclass(frozen=True, slots=True)
class Claimed:
    """A row claimed for one attempt; `attempt` fences the outcome to this attempt."""

    id: uuid.UUID
    firm_id: uuid.UUID
    kind: str
    recipient: str
    payload: dict[str, Any]
    created_at: datetime
    attempt: int


def enqueue(
    session: AsyncSession,
    *,
    firm_id: uuid.UUID,
    kind: str,
    recipient: str,
    payload: dict[str, Any],
    now: datetime | None = None,
) -> models.OutboxEvent:
    """Queue a message (an e-mail of `emails.EMAIL_KINDS`, or a webhook delivery) in the
    caller's transaction: the relay sends it after, and only if, that transaction commits.
    `now` stamps it and makes it due at that time; without it the row's defaults do."""
    event = models.OutboxEvent(
        id=models.new_id(),
        firm_id=firm_id,
        kind=kind,
        recipient=recipient,
        payload=payload,
        **({"created_at": now, "next_attempt_at": now} if now is not None else {}),
    )
    session.add(event)
    return event


async def queued_firms(
    session: AsyncSession,
    kinds: Sequence[str],
    *,
    due_before: datetime = NEVER,
    created_after: datetime = ALWAYS,
) -> list[uuid.UUID]:
    """Firms with queued rows of `kinds` due before `due_before`, written after
    `created_after`."""
    if session.bind.dialect.name == "postgresql":
        found = await session.scalars(
            _QUEUED_FIRMS,
            {"kinds": list(kinds), "due_before": due_before, "created_after": created_after},
        )
        return list(found)
    event = models.OutboxEvent
    return list(
        await session.scalars(
            select(event.firm_id)
            .distinct()
            .where(
                event.status == QUEUED,
                event.kind.in_(kinds),
                event.next_attempt_at <= due_before,
                event.created_at > created_after,
            )
        )
    )


async def due_count(
    session: AsyncSession, firm_id: uuid.UUID, kinds: Sequence[str], *, now: datetime
) -> int:
    """How many of the firm's rows of `kinds` are due and not sent (the relay's backlog)."""
    event = models.OutboxEvent
    found = await session.scalar(
        select(func.count()).where(
            event.firm_id == firm_id,
            event.status == QUEUED,
            event.kind.in_(kinds),
            event.next_attempt_at <= now,
        )
    )
    return int(found or 0)


async def claim(
    session: AsyncSession,
    firm_id: uuid.UUID,
    kinds: Sequence[str],
    *,
    now: datetime,
    limit: int,
    lease_until: datetime,
) -> list[Claimed]:
    """Up to `limit` due rows of the firm, oldest due first, each counted as one more attempt
    and leased to the caller until `lease_until` (when they fall due again unless recorded).

    On PostgreSQL rows another relay has locked are skipped, not waited for; on SQLite the
    write transaction holds the database's write lock, so claims run one at a time."""
    event = models.OutboxEvent
    rows = (
        await session.execute(
            select(
                event.id,
                event.kind,
                event.recipient,
                event.payload,
                event.created_at,
                event.attempts,
            )
            .where(
                event.firm_id == firm_id,
                event.status == QUEUED,
                event.kind.in_(kinds),
                event.next_attempt_at <= now,
            )
            .order_by(event.next_attempt_at, event.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    if not rows:
        return []
    await session.execute(
        update(event)
        .where(event.firm_id == firm_id, event.id.in_([row.id for row in rows]))
        .values(attempts=event.attempts + 1, last_attempt_at=now, next_attempt_at=lease_until)
        .execution_options(synchronize_session=False)
    )
    return [
        Claimed(
            row.id,
            firm_id,
            row.kind,
            row.recipient,
            dict(row.payload),
            row.created_at,
            row.attempts + 1,
        )
        for row in rows
    ]


async def firm_name(session: AsyncSession, firm_id: uuid.UUID) -> str:
    return await session.scalar(select(models.Firm.name).where(models.Firm.id == firm_id)) or ""


async def record_sent(
    session: AsyncSession, row: Claimed, *, now: datetime, response_code: int | None = None
) -> bool:
    """SENT, unless the row was claimed again meanwhile (its lease ran out); its secrets are
    dropped from the payload."""
    values: dict[str, Any] = {
        "status": SENT,
        "delivered_at": now,
        "last_error": None,
        "last_response_code": response_code,
    }
    if SECRET_PAYLOAD_KEYS & row.payload.keys():
        values["payload"] = {
            key: value for key, value in row.payload.items() if key not in SECRET_PAYLOAD_KEYS
        }
    return await _record(session, row, **values)


async def record_failure(
    session: AsyncSession,
    row: Claimed,
    error: str,
    *,
    retry_at: datetime | None,
    response_code: int | None = None,
) -> bool:
    """Due again at `retry_at`, or FAILED when it is None; the error (and the receiver's
    response code, if it answered) is kept either way."""
    values: dict[str, Any] = {
        "last_error": error[:MAX_ERROR_LENGTH],
        "last_response_code": response_code,
    }
    if retry_at is None:
        values["status"] = FAILED
    else:
        values["next_attempt_at"] = retry_at
    return await _record(session, row, **values)


async def _record(session: AsyncSession, row: Claimed, **values: Any) -> bool:
    event = models.OutboxEvent
    result = await session.execute(
        update(event)
        .where(
            event.firm_id == row.firm_id,
            event.id == row.id,
            event.status == QUEUED,
            event.attempts == row.attempt,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


async def queued_since(
    session: AsyncSession, firm_id: uuid.UUID, kinds: Sequence[str], created_after: datetime
) -> list[tuple[uuid.UUID, str, str, datetime]]:
    """(id, kind, recipient, created_at) of the firm's queued rows written after
    `created_after`, oldest first."""
    event = models.OutboxEvent
    rows = await session.execute(
        select(event.id, event.kind, event.recipient, event.created_at)
        .where(
            event.firm_id == firm_id,
            event.status == QUEUED,
            event.kind.in_(kinds),
            event.created_at > created_after,
        )
        .order_by(event.created_at, event.id)
    )
    return [(row.id, row.kind, row.recipient, row.created_at) for row in rows]


async def outcome(
    session: AsyncSession, firm_id: uuid.UUID, event_id: uuid.UUID
) -> tuple[str, str | None]:
    """(status, last error) of one row."""
    event = models.OutboxEvent
    row = (
        await session.execute(
            select(event.status, event.last_error).where(
                event.firm_id == firm_id, event.id == event_id
            )
        )
    ).one()
    return row.status, row.last_error
