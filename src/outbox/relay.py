"""The outbox relay: delivers what mutations queue in `outbox_events`, e-mails or webhook
deliveries (one relay per kind of row, each with its `Sender`).

Each round it asks which firms have mail due, then for each firm claims a batch of due rows in
one short transaction (counting the attempt and leasing the rows), sends them outside any
transaction, and records each outcome in a transaction of its own: SENT, due again after an
exponential backoff with jitter, or FAILED once the attempts are spent. A relay that dies
between sending and recording leaves its rows leased; they fall due again when the lease ends
and go out once more with the same Message-ID.

Several relays (serve's workers, `clientgraph worker`s) may run at once: on PostgreSQL a claim
skips rows another relay holds (`FOR UPDATE SKIP LOCKED`) and a claimed row is leased, so no
two relays send the same row at the same time; SQLite runs one claim at a time.

Without an SMTP server configured the e-mail relay sends nothing and changes nothing: the rows stay
queued and each is logged once, so the mail goes out when SMTP is configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from clientgraph import metrics, tracing
from clientgraph.db import models
from clientgraph.db.engine import Database, connection_lost, describe_loss
from clientgraph.outbox import queue
from clientgraph.outbox.emails import EMAIL_KINDS
from clientgraph.outbox.mail import EMAIL, MailSender, MailTransport
from clientgraph.outbox.render import MailConfig
from clientgraph.outbox.sender import AttemptFailed, Sender, Undeliverable
from sqlalchemy.ext.asyncio import AsyncSession

logger = logging.getLogger("clientgraph.outbox")

LEASE_MARGIN = timedelta(minutes=1)
"""Beyond the sends of a batch: the statements that claim it and record its outcomes."""
LOG_OVERLAP = timedelta(minutes=1)
"""How far back a relay without SMTP looks again for queued rows to log: a row committed a
little after a later-written one is still logged, and only once."""


@dataclass(frozen=True, slots=True)
class RelayConfig:
    mail: MailConfig
    poll_interval_s: float = 1.0
    batch_size: int = 10
    max_attempts: int = 10
    backoff_s: float = 30.0
    backoff_max_s: float = 3600.0
    send_timeout_s: float = 30.0
    concurrency: int = 1
    """Firms served at once in a round, each by one worker that claims its batch and sends it
    before taking the next firm."""
    per_firm: int = 1
    """Rows of one firm's batch sent at once: a firm whose receivers never answer holds at
    most this many of the round's sends, and no other firm's."""

    @property
    def lease(self) -> timedelta:
        """Longer than it takes to send a whole batch one row after another, each up to its
        timeout, and to record each outcome: a live relay records every row it claimed before
        the lease ends, and no other relay sends it again meanwhile."""
        return timedelta(
            seconds=self.send_timeout_s * (self.batch_size + 1) + LEASE_MARGIN.total_seconds()
        )


def backoff_s(
    attempt: int, base_s: float, max_s: float, draw: Callable[[], float] = random.random
) -> float:
    """Seconds to wait after failed attempt `attempt` (1, 2, …): base·2^(attempt-1), at most
    `max_s`, of which a random half is waited (jitter spreads retries of many rows apart)."""
    delay = min(max_s, base_s * 2 ** min(attempt - 1, 62))
    return delay / 2 + draw() * delay / 2


@dataclass
class OutboxRelay:
    db: Database
    transport: MailTransport | None
    config: RelayConfig
    clock: Callable[[], datetime] = models.utcnow
    kinds: tuple[str, ...] = EMAIL_KINDS
    sender: Sender | None = None
    """How a row is delivered; by default an e-mail through `transport` (none without it)."""
    name: str = "clientgraph-outbox-relay"
    """Its task's name while it runs."""
    _logged: dict[uuid.UUID, datetime] = field(default_factory=dict)
    _logged_until: datetime = queue.ALWAYS
    _database_lost: bool = False

    def __post_init__(self) -> None:
        if self.sender is None and self.transport is not None:
            self.sender = MailSender(self.transport, self.config.mail)

    @property
    def noun(self) -> str:
        """What it delivers (`e-mail`, `webhook delivery`), as the metrics name the kind."""
        return self.sender.noun if self.sender is not None else EMAIL

    async def run_once(self) -> int:
        """One round over every firm with mail due; how many rows it handled (sent, retried
        later, failed, or without SMTP newly logged). The rows due when it began are the
        backlog `/metrics` shows (`clientgraph_outbox_backlog`)."""
        now = self.clock()
        if self.sender is None:
            backlog = 0
            for firm_id in await self._firms(due_before=now):
                async with self.db.firm_session(firm_id) as session:
                    backlog += await queue.due_count(session, firm_id, self.kinds, now=now)
            metrics.OUTBOX_BACKLOG.labels(self.noun).set(backlog)
            return await self._log_queued()
        firms = iter(await self._firms(due_before=now))
        handled = backlog = 0

        async def worker() -> None:
            nonlocal handled, backlog
            for firm_id in firms:
                delivered, due = await self._deliver_due(firm_id, self.clock())
                handled += delivered
                backlog += due

        await _all_or_first_error([worker() for _ in range(self.config.concurrency)])
        metrics.OUTBOX_BACKLOG.labels(self.noun).set(backlog)
        return handled

    async def run_once_for(self, firm_id: uuid.UUID) -> int:
        """One round over one firm's due mail, which needs SMTP (`clientgraph create-firm`
        sends its owner's link this way at once); how many rows it handled."""
        if self.sender is None:
            raise ValueError("the relay has no SMTP server to send with")
        handled, _ = await self._deliver_due(firm_id, self.clock())
        return handled

    async def _deliver_due(self, firm_id: uuid.UUID, now: datetime) -> tuple[int, int]:
        """Claim the firm's due batch (leased from `now`, the moment of the claim) and send
        it, `per_firm` rows at a time: (rows handled, rows due before they were claimed)."""
        claimed, due = await self._claim(firm_id, now)
        slots = asyncio.Semaphore(self.config.per_firm)

        async def deliver(row: queue.Claimed, firm_name: str) -> None:
            async with slots:
                await self._deliver(row, firm_name)

        await _all_or_first_error([deliver(row, firm_name) for row, firm_name in claimed])
        return len(claimed), due

    async def run(self, stop: asyncio.Event) -> None:
        """Rounds until `stop` is set: at once while rounds fill whole batches, else after the
        poll interval. A round that fails (the database is away) is logged and tried again."""
        if self.sender is None:
            logger.warning(
                "No SMTP server is configured (CLIENTGRAPH_SMTP_URL): e-mails stay queued."
            )
        while not stop.is_set():
            try:
                handled = await self.run_once()
            except Exception as error:
                self._round_failed(error)
                handled = 0
            else:
                self._round_done()
            if handled >= self.config.batch_size and self.sender is not None:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.config.poll_interval_s)

    def _round_failed(self, error: Exception) -> None:
        """A lost database connection is a fault of the moment, logged in one line when the
        outage begins; anything else is a bug, logged in full each time."""
        if not connection_lost(error):
            logger.exception("the outbox relay's round failed; it tries again")
        elif not self._database_lost:
            self._database_lost = True
            logger.warning(
                "the outbox relay lost the database (%s); it tries again each round",
                describe_loss(error),
            )

    def _round_done(self) -> None:
        if self._database_lost:
            self._database_lost = False
            logger.info("the outbox relay reaches the database again")

    async def _firms(self, **criteria: datetime) -> list[uuid.UUID]:
        async with self.db.read_sessions() as session:
            return await queue.queued_firms(session, self.kinds, **criteria)

    async def _claim(
        self, firm_id: uuid.UUID, now: datetime
    ) -> tuple[list[tuple[queue.Claimed, str]], int]:
        """The rows claimed, with their firm's name, and how many were due before the claim."""

        async def work(session: AsyncSession) -> tuple[list[tuple[queue.Claimed, str]], int]:
            due = await queue.due_count(session, firm_id, self.kinds, now=now)
            rows = await queue.claim(
                session,
                firm_id,
                self.kinds,
                now=now,
                limit=self.config.batch_size,
                lease_until=now + self.config.lease,
            )
            name = await queue.firm_name(session, firm_id) if rows else ""
            return [(row, name) for row in rows], due

        return await self.db.write(work, firm_id=firm_id)

    async def _deliver(self, row: queue.Claimed, firm_name: str) -> None:
        """One attempt at `row`, traced as a span of its own (clientgraph.tracing) with the
        statements that record its outcome."""
        assert self.sender is not None
        attributes = {
            "clientgraph.outbox.kind": self.sender.noun,
            "clientgraph.outbox.row_kind": row.kind,
            "clientgraph.outbox.row_id": str(row.id),
            "clientgraph.outbox.attempt": row.attempt,
            "clientgraph.firm_id": str(row.firm_id),
        }
        with tracing.span(f"outbox deliver {self.sender.noun}", attributes) as span:
            result = await self._attempt(row, firm_name)
            if span is not None:
                span.set_attribute("clientgraph.outbox.result", result)
                if result != "sent":
                    tracing.failed(span, result)

    async def _attempt(self, row: queue.Claimed, firm_name: str) -> str:
        """Deliver `row` and record the outcome: `sent`, `retry` or `failed`."""
        assert self.sender is not None
        noun = self.sender.noun
        if row.attempt > self.config.max_attempts:
            logger.error("%s %s (%s): no outcome of its last attempt", noun, row.id, row.kind)
            error = "gave up: the relay stopped during the last attempt, whose outcome is unknown"
            await self._record_failure(row, error, final=True)
            return "failed"
        try:
            sent = await self.sender.send(row, firm_name)
        except Undeliverable as error:
            logger.error("%s %s (%s) cannot be delivered: %s", noun, row.id, row.kind, error)
            await self._record_failure(row, str(error), final=True)
            return "failed"
        except Exception as error:
            final = row.attempt >= self.config.max_attempts
            logger.warning(
                "%s %s (%s), attempt %d of %d, was not delivered: %s",
                noun,
                row.id,
                row.kind,
                row.attempt,
                self.config.max_attempts,
                error,
            )
            code = error.response_code if isinstance(error, AttemptFailed) else None
            await self._record_failure(row, _describe(error), final=final, response_code=code)
            return "failed" if final else "retry"
        await self._write(
            row.firm_id,
            lambda s: queue.record_sent(s, row, now=self.clock(), response_code=sent.response_code),
        )
        metrics.OUTBOX_DELIVERIES.labels(noun, "sent").inc()
        logger.info("%s %s (%s) %s", noun, row.id, row.kind, sent.note)
        return "sent"

    async def _record_failure(
        self, row: queue.Claimed, error: str, *, final: bool, response_code: int | None = None
    ) -> None:
        assert self.sender is not None
        metrics.OUTBOX_DELIVERIES.labels(self.sender.noun, "failed" if final else "retry").inc()
        retry_at = None
        if not final:
            wait = backoff_s(row.attempt, self.config.backoff_s, self.config.backoff_max_s)
            retry_at = self.clock() + timedelta(seconds=wait)
        await self._write(
            row.firm_id,
            lambda s: queue.record_failure(
                s, row, error, retry_at=retry_at, response_code=response_code
            ),
        )

    async def _write(
        self, firm_id: uuid.UUID, work: Callable[[AsyncSession], Awaitable[bool]]
    ) -> None:
        """Record an outcome; False from `work` (the row was claimed again after its lease ran
        out) leaves the row to that newer attempt."""
        await self.db.write(work, firm_id=firm_id)

    async def _log_queued(self) -> int:
        """Log each queued row once (per process), and change nothing."""
        since = self._logged_until - LOG_OVERLAP
        logged = 0
        for firm_id in await self._firms(created_after=since):
            async with self.db.firm_session(firm_id) as session:
                rows = await queue.queued_since(session, firm_id, self.kinds, since)
            for row_id, kind, recipient, created_at in rows:
                self._logged_until = max(self._logged_until, created_at)
                if row_id in self._logged:
                    continue
                self._logged[row_id] = created_at
                logged += 1
                logger.warning(
                    "e-mail %s (%s) to %s stays queued: no SMTP server is configured",
                    row_id,
                    kind,
                    recipient,
                )
        horizon = self._logged_until - LOG_OVERLAP
        self._logged = {key: at for key, at in self._logged.items() if at > horizon}
        return logged


async def _all_or_first_error(work: list[Coroutine[Any, Any, None]]) -> None:
    """Run `work` at once; the first failure cancels the rest and is raised as itself (not as
    an ExceptionGroup), for `run` to tell a lost database from a bug."""
    if len(work) == 1:
        await work[0]
        return
    try:
        async with asyncio.TaskGroup() as group:
            for item in work:
                group.create_task(item)
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None


def _describe(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class RunningRelay:
    """A relay running as a task of the current event loop, until `stop`."""

    def __init__(self, relay: OutboxRelay) -> None:
        self.relay = relay
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(relay.run(self._stop), name=relay.name)

    async def stop(self, grace_s: float = 10.0) -> None:
        """Let the round in progress finish (up to `grace_s`), then end. A message cut off
        mid-send stays leased and goes out again, with the same Message-ID."""
        self._stop.set()
        try:
            await asyncio.wait_for(self._task, grace_s)
        except TimeoutError:
            logger.warning("the outbox relay was stopped in the middle of a round")
