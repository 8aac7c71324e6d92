"""The relay as the server and `clientgraph worker` run it, configured from the settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import uuid
from dataclasses import replace

from clientgraph import tracing
from clientgraph.db.engine import Database
from clientgraph.db.readiness import Readiness
from clientgraph.outbox import queue
from clientgraph.outbox.mail import MailTransport, SmtpServer, SmtpTransport
from clientgraph.outbox.relay import OutboxRelay, RelayConfig, RunningRelay
from clientgraph.outbox.render import MailConfig
from clientgraph.outbox.webhook import WEBHOOK_KIND, WebhookSender
from clientgraph.outbox.webhook_urls import HostResolver, default_resolver
from clientgraph.settings import Settings

logger = logging.getLogger("clientgraph.outbox")


def relay_config(settings: Settings) -> RelayConfig:
    return RelayConfig(
        mail=MailConfig(
            sender=settings.mail_from,
            portal_url=settings.portal_url,
            app_url=settings.app_url,
            link_secret=settings.signing_secret(),
        ),
        poll_interval_s=settings.outbox_poll_interval_s,
        batch_size=settings.outbox_batch_size,
        max_attempts=settings.outbox_max_attempts,
        backoff_s=settings.outbox_backoff_s,
        backoff_max_s=settings.outbox_backoff_max_s,
        send_timeout_s=settings.smtp_timeout_s,
    )


def transport(settings: Settings) -> MailTransport | None:
    """SMTP as `CLIENTGRAPH_SMTP_URL` says (InvalidSmtpUrl if it cannot), or None without it."""
    if not settings.smtp_url:
        return None
    return SmtpTransport(SmtpServer.from_url(settings.smtp_url), timeout_s=settings.smtp_timeout_s)


def relay(settings: Settings, db: Database) -> OutboxRelay:
    """The relay of e-mails."""
    return OutboxRelay(db, transport(settings), relay_config(settings))


def webhook_relay(
    settings: Settings, db: Database, resolver: HostResolver | None = None
) -> OutboxRelay:
    """The relay of webhook deliveries: the outbox's claims, backoff and limit, each attempt
    within `CLIENTGRAPH_WEBHOOK_TIMEOUT_S` (the name lookup by `resolver`, the process's own
    by default, included), several firms and a few deliveries of each at once."""
    config = replace(
        relay_config(settings),
        send_timeout_s=settings.webhook_timeout_s,
        concurrency=settings.webhook_concurrency,
        per_firm=settings.webhook_concurrency_per_firm,
    )
    sender = WebhookSender(
        db,
        settings.webhooks_allow_private,
        settings.webhook_timeout_s,
        resolver=resolver or default_resolver(),
    )
    return OutboxRelay(
        db, None, config, kinds=(WEBHOOK_KIND,), sender=sender, name="clientgraph-webhook-relay"
    )


def relays(
    settings: Settings, db: Database, resolver: HostResolver | None = None
) -> list[OutboxRelay]:
    return [relay(settings, db), webhook_relay(settings, db, resolver)]


async def send_now(
    settings: Settings, db: Database, firm_id: uuid.UUID, event_id: uuid.UUID
) -> tuple[str, str | None]:
    """Deliver the firm's due e-mail in this process, at once, through the relay `serve` and
    `worker` run (SMTP must be configured); then (status, last error) of event `event_id`:
    SENT; QUEUED with the error when the attempt failed (the running relays retry it), or
    without one when another relay holds it."""
    await relay(settings, db).run_once_for(firm_id)
    async with db.firm_session(firm_id) as session:
        return await queue.outcome(session, firm_id, event_id)


class RelayWhenReady:
    """The relays (e-mail, webhooks), started in the current event loop once the database is
    reachable and at the newest migration: before that, every round would fail on tables and
    functions that do not exist yet."""

    def __init__(self, relays: list[OutboxRelay], readiness: Readiness) -> None:
        self.running: list[RunningRelay] = []
        self._starting = asyncio.create_task(
            self._start(relays, readiness), name="clientgraph-outbox-relay-start"
        )

    async def _start(self, relays: list[OutboxRelay], readiness: Readiness) -> None:
        try:
            await readiness.wait_until_ready("the outbox relay")
        except Exception:
            logger.exception("the outbox relay cannot start")
            return
        self.running = [RunningRelay(relay) for relay in relays]

    async def stop(self) -> None:
        self._starting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._starting
        await asyncio.gather(*(running.stop() for running in self.running))


def start(
    settings: Settings, db: Database, readiness: Readiness, resolver: HostResolver | None = None
) -> RelayWhenReady:
    """The relays of the server's lifespan, once `readiness` says the database is ready."""
    return RelayWhenReady(relays(settings, db, resolver), readiness)


async def run_worker(settings: Settings) -> None:
    """`clientgraph worker`: the relay alone, until SIGINT or SIGTERM."""
    db = Database(
        settings.server_database_url(),
        pool_size=2,
        timeouts=settings.database_timeouts(),
        pgbouncer=settings.pgbouncer,
    )
    tracing.start(settings.otel_endpoint, settings.otel_service_name)
    tracing.watch_engine(db.engine)
    running = RelayWhenReady(relays(settings, db), Readiness(db))
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    logger.info("outbox relay running; stop it with Ctrl-C or SIGTERM")
    try:
        await stopped.wait()
    finally:
        await running.stop()
        await db.dispose()
        tracing.TRACING.flush()
        logger.info("outbox relay stopped")
