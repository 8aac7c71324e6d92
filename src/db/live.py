"""Live events: what a committed transaction changed, told to every process's subscribers.

A writer `announce`s an event in its session; the event leaves only if that transaction
commits. On PostgreSQL it leaves as `NOTIFY` inside the transaction (PostgreSQL delivers it on
COMMIT, to every process that LISTENs, the writer's own included); each process LISTENs on one
dedicated connection, opened while it has subscribers. On SQLite, where there is one process,
the events go straight to this process's subscribers after COMMIT.

An event is small (firm, subject, action): a subscriber reads the object again with its own
rights when it delivers it, so nothing a subscriber may not see travels in the event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from clientgraph.db.listener import listen, listen_dsn
from sqlalchemy import ColumnElement, bindparam, event, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.types import Text

logger = logging.getLogger("clientgraph")

CHANNEL = "clientgraph_live"
PENDING = "clientgraph.live_events"
QUEUE_SIZE = 1000
"""Events one subscriber may fall behind by; past it its newest events are dropped (logged)."""
APPLICATION_NAME = "clientgraph-live"
"""The listening connection's name in `pg_stat_activity`."""

PAYLOADS = "payloads"
"""The parameter of the NOTIFY statements' payloads."""
_NOTIFY = text(
    f"SELECT pg_notify('{CHANNEL}', payload) FROM unnest(:payloads) AS payload"
).bindparams(bindparam(PAYLOADS, type_=ARRAY(Text)))
NOTIFIED: ColumnElement[int] = select(
    func.count(
        func.pg_notify(
            CHANNEL, func.unnest(bindparam(PAYLOADS, type_=ARRAY(Text))).column_valued("payload")
        )
    )
).scalar_subquery()
"""On PostgreSQL, a column that sends the NOTIFY of each of parameter PAYLOADS (the count)."""


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """`subject_type` is "account" or "notification"; `user_id` is a notification's reader."""

    firm_id: uuid.UUID
    subject_type: str
    subject_id: uuid.UUID
    action: str
    user_id: uuid.UUID | None = None

    def to_json(self) -> str:
        """Ids as text: asyncpg's own UUID type is not one orjson knows."""
        fields = {
            "firm_id": str(self.firm_id),
            "subject_type": self.subject_type,
            "subject_id": str(self.subject_id),
            "action": self.action,
            "user_id": str(self.user_id) if self.user_id is not None else None,
        }
        return orjson.dumps(fields).decode()

    @classmethod
    def from_json(cls, payload: str | bytes) -> LiveEvent | None:
        try:
            data = orjson.loads(payload)
            return cls(
                firm_id=uuid.UUID(data["firm_id"]),
                subject_type=str(data["subject_type"]),
                subject_id=uuid.UUID(data["subject_id"]),
                action=str(data["action"]),
                user_id=uuid.UUID(data["user_id"]) if data.get("user_id") else None,
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            logger.warning("live events: ignored a malformed notification %.200r", payload)
            return None


def announce(session: AsyncSession | Session, live_event: LiveEvent) -> None:
    """Tell subscribers about `live_event` once `session`'s transaction commits."""
    session.info.setdefault(PENDING, []).append(live_event)


def _pending(session: Session) -> list[LiveEvent]:
    return session.info.pop(PENDING, [])


def _notify_payloads(events: Iterable[LiveEvent]) -> dict[str, list[str]]:
    return {PAYLOADS: sorted({pending.to_json() for pending in events})}


def notified_at_close(session: AsyncSession) -> dict[str, list[str]] | None:
    """The parameters of `NOTIFIED` for what `session` has announced, None when nothing was:
    the transaction's closing statement carries the NOTIFY (db/closing.py), so it costs no
    round trip of its own."""
    pending = _pending(session.sync_session)
    return _notify_payloads(pending) if pending else None


async def send_announced(session: AsyncSession) -> None:
    """Send what `session` has announced so far now rather than at its commit, for a writer
    that announces thousands (the register import), so that they do not pile up in memory.

    On PostgreSQL a `NOTIFY` waits inside the transaction and leaves only on COMMIT (and
    PostgreSQL drops duplicates within a transaction), so nothing changes for subscribers; on
    SQLite the events are delivered in process after COMMIT and so must wait in the session."""
    if session.get_bind().dialect.name != "postgresql":
        return
    pending = _pending(session.sync_session)
    if pending:
        await session.execute(_NOTIFY, _notify_payloads(pending))


class LiveEvents:
    """This process's subscribers, and the one listening connection that feeds them."""

    def __init__(self, url: str) -> None:
        dsn = listen_dsn(url)
        self.listens = dsn is not None
        self.dsn = dsn or ""
        self.routes: dict[tuple[uuid.UUID, str], set[asyncio.Queue[LiveEvent]]] = {}
        """Subscribers' queues by (firm, subject type): an event goes only to the queues of
        its own firm and kind, so one firm's bulk change fills no other firm's queue."""
        self.listening: asyncio.Task[None] | None = None
        self.connected: asyncio.Event | None = None

    def watch(self, session_class: type[Session]) -> None:
        """Send the events announced in `session_class`'s transactions when they commit."""

        @event.listens_for(session_class, "before_commit")
        def before_commit(session: Session) -> None:
            if session.get_bind().dialect.name != "postgresql":
                return
            pending = _pending(session)
            if pending:
                session.execute(_NOTIFY, _notify_payloads(pending))

        @event.listens_for(session_class, "after_commit")
        def after_commit(session: Session) -> None:
            self.deliver(_pending(session))

        @event.listens_for(session_class, "after_soft_rollback")
        def after_rollback(session: Session, _: Any) -> None:
            _pending(session)

    def deliver(self, events: Iterable[LiveEvent]) -> None:
        for live_event in events:
            for queue in self.routes.get((live_event.firm_id, live_event.subject_type), ()):
                try:
                    queue.put_nowait(live_event)
                except asyncio.QueueFull:
                    logger.warning("live events: a subscriber fell behind; event dropped")

    @contextlib.asynccontextmanager
    async def subscription(
        self, firm_id: uuid.UUID, subject_type: str
    ) -> AsyncIterator[asyncio.Queue[LiveEvent]]:
        """A queue of the firm's events about `subject_type` committed from now on (on
        PostgreSQL, once listening)."""
        queue: asyncio.Queue[LiveEvent] = asyncio.Queue(QUEUE_SIZE)
        route = (firm_id, subject_type)
        self.routes.setdefault(route, set()).add(queue)
        try:
            if self.listens:
                if self.listening is None or self.listening.done():
                    self.connected = asyncio.Event()
                    self.listening = asyncio.create_task(
                        listen(
                            self.dsn,
                            CHANNEL,
                            self._received,
                            connected=self.connected,
                            application_name=APPLICATION_NAME,
                        )
                    )
                assert self.connected is not None
                await self.connected.wait()
            yield queue
        finally:
            queues = self.routes.get(route, set())
            queues.discard(queue)
            if not queues:
                self.routes.pop(route, None)
            if not self.routes and self.listening is not None:
                self.listening.cancel()
                self.listening = None

    def _received(self, payload: str) -> None:
        live_event = LiveEvent.from_json(payload)
        if live_event is not None:
            self.deliver([live_event])
