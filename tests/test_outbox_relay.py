"""E-mail (issue 9, point 5): the outbox relay delivers what `inviteContact` queues, through a
real SMTP server (aiosmtpd) that the tests read; it retries with backoff, gives up after its
limit, and administrators see and retry failed deliveries."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiosmtpd.controller import Controller
from clientgraph.app import create_app
from clientgraph.db import models
from clientgraph.db.engine import Database
from clientgraph.ids import decode_id
from clientgraph.outbox import queue, service
from clientgraph.outbox.mail import InvalidSmtpUrl, SmtpServer
from clientgraph.outbox.relay import OutboxRelay, backoff_s
from clientgraph.settings import Settings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.server_process import free_port
from tests.support import (
    APP_ROLE,
    EVERY_PERMISSION,
    SECRET,
    Api,
    asyncpg_dsn,
    eventually,
    owner_url,
)

CLIENTGRAPH = str(Path(sys.executable).with_name("clientgraph"))
SENDER = "Nordlys Revision <post@nordlys.example>"
PORTAL_URL = "https://portal.nordlys.example"

DELIVERIES = """
query($status: EmailDeliveryStatus) {
  emailDeliveries(status: $status, first: 100) {
    totalCount
    nodes { id kind recipient status attempts lastError lastAttemptAt nextAttemptAt sentAt }
  }
}
"""
RETRY = """
mutation($input: RetryEmailDeliveryInput!) {
  retryEmailDelivery(input: $input) {
    delivery { id status attempts }
    userErrors { field code message }
  }
}
"""


class Inbox:
    """An aiosmtpd handler that keeps what it accepts, or refuses everything with `refusal`."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refusal: str | None = None
        self.refused = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refusal is not None:
            self.refused += 1
            return self.refusal
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        message = message_from_bytes(envelope.original_content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def with_id(self, message_id: str) -> list[EmailMessage]:
        return [message for message in self.messages if message["Message-ID"] == message_id]

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.messages if message["To"] == address]


@contextlib.contextmanager
def smtp_server(inbox: Inbox, port: int) -> Iterator[None]:
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield
    finally:
        controller.stop()


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    """A running SMTP server: what it received, and its port."""
    received, port = Inbox(), free_port()
    with smtp_server(received, port):
        yield received, port


@dataclass
class Clock:
    """The relay's time, moved by the test instead of waited for."""

    now: datetime = field(default_factory=models.utcnow)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def mail_settings(db: Database, port: int | None, **values: Any) -> Settings:
    return Settings(
        database_url=owner_url(db),
        secret=SECRET,
        app_role=APP_ROLE,
        smtp_url=f"smtp://127.0.0.1:{port}" if port else None,
        smtp_timeout_s=5.0,
        mail_from=SENDER,
        portal_url=PORTAL_URL,
        **values,
    )


def make_relay(db: Database, port: int | None, clock: Clock, **values: Any) -> OutboxRelay:
    relay = service.relay(mail_settings(db, port, **values), db)
    relay.clock = clock
    return relay


async def invite(api: Api, email: str | None = None) -> str:
    """A new contact invited to the portal: its e-mail address."""
    email = email or f"client-{uuid.uuid4().hex[:10]}@example.dk"
    contact = await api.ok(
        "createContact",
        {"firstName": "Mette", "lastName": "Hansen", "email": email},
        "contact { id }",
    )
    await api.ok("inviteContact", {"contactId": contact["contact"]["id"]})
    return email


async def deliveries(api: Api, status: str | None = None) -> list[dict[str, Any]]:
    return (await api.data(DELIVERIES, {"status": status}))["emailDeliveries"]["nodes"]


async def delivery_to(api: Api, email: str) -> dict[str, Any]:
    [found] = [node for node in await deliveries(api) if node["recipient"] == email]
    return found


def message_id(delivery: dict[str, Any]) -> str:
    event_id = decode_id(delivery["id"], "EmailDelivery")
    assert event_id is not None
    return f"<{event_id}@nordlys.example>"


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def queue_event(api: Api, email: str, payload: dict[str, Any], **values: Any) -> uuid.UUID:
    """An outbox row written directly: what a mutation (or a relay's claim) would leave."""
    event = models.OutboxEvent(
        id=models.new_id(),
        firm_id=api.firm_id,
        kind="contact.portal_invitation",
        recipient=email,
        payload=payload,
        **values,
    )

    async def work(session: AsyncSession) -> None:
        session.add(event)

    await api.db.write(work, firm_id=api.firm_id)
    return event.id


async def test_an_invitation_arrives_with_its_recipient_subject_and_message_id(
    api: Api, inbox: tuple[Inbox, int]
) -> None:
    received, port = inbox
    email = await invite(api)
    queued = await delivery_to(api, email)

    await make_relay(api.db, port, Clock()).run_once()

    [message] = received.to(email)
    firm = (await api.data("{ viewer { firm { name } } }"))["viewer"]["firm"]["name"]
    assert (message["From"], message["Subject"]) == (
        SENDER,
        f"{firm} invites you to its client portal",
    )
    assert message["Message-ID"] == message_id(queued)
    body = message.get_content()
    assert body.startswith("Hello Mette Hansen,")
    assert f"{PORTAL_URL}/accept?token=" in body
    assert ("post@nordlys.example", [email]) in received.envelopes
    sent = await delivery_to(api, email)
    assert (sent["status"], sent["attempts"], sent["lastError"]) == ("SENT", 1, None)
    assert sent["sentAt"] is not None and sent["nextAttemptAt"] is None


async def test_an_invitation_holding_an_accept_token_links_to_the_portal(
    api: Api, inbox: tuple[Inbox, int]
) -> None:
    received, port = inbox
    email = f"client-{uuid.uuid4().hex[:10]}@example.dk"
    token = {"token": "one-time/secret+1"}
    await queue_event(api, email, {"name": "Mette Hansen", "resend": True, **token})

    await make_relay(api.db, port, Clock()).run_once()

    [message] = received.to(email)
    assert message["Subject"].startswith("Reminder: ")
    assert f"{PORTAL_URL}/accept?token=one-time%2Fsecret%2B1" in message.get_content().splitlines()


async def test_a_server_down_at_first_gets_the_mail_once_when_it_comes_up(api: Api) -> None:
    received, port = Inbox(), free_port()
    email = await invite(api)
    clock = Clock()
    relay = make_relay(api.db, port, clock, outbox_backoff_s=60, outbox_backoff_max_s=600)

    await relay.run_once()

    waiting = await delivery_to(api, email)
    assert (waiting["status"], waiting["attempts"]) == ("QUEUED", 1)
    assert waiting["lastError"]
    wait = at(waiting["nextAttemptAt"]) - at(waiting["lastAttemptAt"])
    assert timedelta(seconds=30) <= wait <= timedelta(seconds=60)

    with smtp_server(received, port):
        await relay.run_once()
        assert received.to(email) == [], "not due yet: the backoff is not over"
        clock.advance(seconds=61)
        await relay.run_once()
        clock.advance(days=1)
        await relay.run_once()

    sent = await delivery_to(api, email)
    assert [message["Message-ID"] for message in received.to(email)] == [message_id(sent)]
    assert (sent["status"], sent["attempts"], sent["lastError"]) == ("SENT", 2, None)


async def test_a_refused_mail_fails_after_the_limit_and_a_retry_delivers_it(
    api: Api, inbox: tuple[Inbox, int]
) -> None:
    received, port = inbox
    received.refusal = "554 5.7.1 Message rejected as spam"
    email = await invite(api)
    clock = Clock()
    relay = make_relay(api.db, port, clock, outbox_max_attempts=3, outbox_backoff_max_s=60)

    for _ in range(5):
        await relay.run_once()
        clock.advance(seconds=61)

    [failed] = await deliveries(api, "FAILED")
    assert (failed["recipient"], failed["attempts"]) == (email, 3)
    assert "554" in failed["lastError"] and "spam" in failed["lastError"]
    assert received.to(email) == []

    received.refusal = None
    retried = await api.data(RETRY, {"input": {"deliveryId": failed["id"]}})
    assert retried["retryEmailDelivery"] == {
        "delivery": {"id": failed["id"], "status": "QUEUED", "attempts": 0},
        "userErrors": [],
    }
    await relay.run_once()

    assert [message["Message-ID"] for message in received.to(email)] == [message_id(failed)]
    assert await deliveries(api, "FAILED") == []
    assert (await delivery_to(api, email))["status"] == "SENT"


async def test_a_mail_whose_relay_died_while_sending_goes_out_again_with_the_same_message_id(
    api: Api, inbox: tuple[Inbox, int]
) -> None:
    """Claimed, maybe sent, never recorded: once the lease ends it is sent again, recognisably
    the same message."""
    received, port = inbox
    email = await invite(api)
    clock = Clock()
    relay = make_relay(api.db, port, clock)

    async def claim_and_die(session: AsyncSession) -> list[queue.Claimed]:
        return await queue.claim(
            session,
            api.firm_id,
            relay.kinds,
            now=clock.now,
            limit=100,
            lease_until=clock.now + relay.config.lease,
        )

    await api.db.write(claim_and_die, firm_id=api.firm_id)
    await relay.run_once()
    assert received.to(email) == [], "leased to the relay that died"
    clock.advance(seconds=relay.config.lease.total_seconds() + 1)
    await relay.run_once()

    sent = await delivery_to(api, email)
    assert [message["Message-ID"] for message in received.to(email)] == [message_id(sent)]
    assert (sent["status"], sent["attempts"]) == ("SENT", 2)


async def test_a_mail_whose_last_attempt_died_while_sending_fails_unsent(
    api: Api, inbox: tuple[Inbox, int]
) -> None:
    received, port = inbox
    email = f"client-{uuid.uuid4().hex[:10]}@example.dk"
    await queue_event(api, email, {"name": "Mette Hansen"}, attempts=3)

    await make_relay(api.db, port, Clock(), outbox_max_attempts=3).run_once()

    failed = await delivery_to(api, email)
    assert (failed["status"], failed["attempts"]) == ("FAILED", 4)
    assert "outcome is unknown" in failed["lastError"]
    assert received.to(email) == []


@pytest.mark.parametrize(
    ("recipient", "payload", "error"),
    [
        ("client@example.dk", {}, "names nobody"),
        ("not an address\nBcc: everyone@example.dk", {"name": "Mette"}, "no e-mail address"),
    ],
)
async def test_an_event_that_cannot_become_an_e_mail_fails_at_once(
    api: Api, inbox: tuple[Inbox, int], recipient: str, payload: dict[str, Any], error: str
) -> None:
    received, port = inbox
    recipient = recipient.replace("client@", f"client-{uuid.uuid4().hex[:8]}@")
    await queue_event(api, recipient, payload)

    await make_relay(api.db, port, Clock()).run_once()

    failed = await delivery_to(api, recipient)
    assert (failed["status"], failed["attempts"]) == ("FAILED", 1)
    assert error in failed["lastError"]
    assert received.to(recipient) == []


@pytest.mark.parametrize("status", ["QUEUED", "SENT"])
async def test_only_a_failed_delivery_can_be_retried(
    api: Api, inbox: tuple[Inbox, int], status: str
) -> None:
    email = await invite(api)
    if status == "SENT":
        await make_relay(api.db, inbox[1], Clock()).run_once()
    delivery = await delivery_to(api, email)
    assert delivery["status"] == status

    retried = (await api.data(RETRY, {"input": {"deliveryId": delivery["id"]}}))[
        "retryEmailDelivery"
    ]

    assert retried["delivery"] is None
    assert [(e["field"], e["code"]) for e in retried["userErrors"]] == [(["deliveryId"], "INVALID")]
    assert (await delivery_to(api, email))["status"] == status


async def test_another_firms_delivery_is_not_found(api: Api, other_firm: Api) -> None:
    email = await invite(other_firm)
    theirs = await delivery_to(other_firm, email)

    retried = (await api.data(RETRY, {"input": {"deliveryId": theirs["id"]}}))["retryEmailDelivery"]

    assert [(e["field"], e["code"]) for e in retried["userErrors"]] == [
        (["deliveryId"], "NOT_FOUND")
    ]
    assert await api.data("query($id: ID!) { node(id: $id) { id } }", {"id": theirs["id"]}) == {
        "node": None
    }


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_two_relays_at_once_send_each_message_once(
    api: Api, inbox: tuple[Inbox, int]
) -> None:
    received, port = inbox
    emails = [await invite(api) for _ in range(24)]
    first, second = Database(api.db.url), Database(api.db.url)
    clock = Clock()
    relays = [make_relay(db, port, clock, outbox_batch_size=3) for db in (first, second)]
    try:
        while sum(await asyncio.gather(*(relay.run_once() for relay in relays))):
            pass
    finally:
        await first.dispose()
        await second.dispose()

    sent = [await delivery_to(api, email) for email in emails]
    assert {delivery["status"] for delivery in sent} == {"SENT"}
    assert {delivery["attempts"] for delivery in sent} == {1}
    assert [len(received.with_id(message_id(delivery))) for delivery in sent] == [1] * 24


async def test_without_smtp_mail_stays_queued_and_each_is_logged_once(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    relay = make_relay(api.db, None, Clock())
    emails = [await invite(api), await invite(api)]

    with caplog.at_level(logging.WARNING, logger="clientgraph.outbox"):
        await relay.run_once()
        await relay.run_once()

    queued = [await delivery_to(api, email) for email in emails]
    assert [(d["status"], d["attempts"]) for d in queued] == [("QUEUED", 0)] * 2
    for email in emails:
        lines = [r.getMessage() for r in caplog.records if email in r.getMessage()]
        assert len(lines) == 1, lines
        assert "no SMTP server is configured" in lines[0]


async def _key(api: Api) -> str:
    payload = await api.ok(
        "createApiKey", {"name": "Everything", "permissions": list(EVERY_PERMISSION)}, "key"
    )
    return payload["key"]


async def _staff(api: Api) -> str:
    return (await api.staff(*EVERY_PERMISSION))[1]


@pytest.mark.parametrize("caller", [_staff, _key], ids=["staff", "api-key"])
async def test_email_deliveries_are_forbidden_to_staff_and_api_keys(
    api: Api, caller: Callable[[Api], Any]
) -> None:
    delivery = await delivery_to(api, await invite(api))
    token = await caller(api)

    listed = await api.execute(DELIVERIES, {"status": None}, token)
    retried = await api.execute(RETRY, {"input": {"deliveryId": delivery["id"]}}, token)
    node = await api.data("query($id: ID!) { node(id: $id) { id } }", {"id": delivery["id"]}, token)

    assert [e["extensions"]["code"] for e in listed["errors"]] == ["FORBIDDEN"]
    assert [e["extensions"]["code"] for e in retried["errors"]] == ["FORBIDDEN"]
    assert node == {"node": None}


async def test_deliveries_page_newest_first_and_filter_by_status(
    api: Api, inbox: tuple[Inbox, int]
) -> None:
    older = await invite(api)
    await make_relay(api.db, inbox[1], Clock()).run_once()
    newer = await invite(api)
    query = """query($after: String, $status: EmailDeliveryStatus) {
      emailDeliveries(first: 1, after: $after, status: $status) {
        totalCount pageInfo { hasNextPage endCursor } nodes { recipient status } } }"""

    first = (await api.data(query))["emailDeliveries"]
    second = (await api.data(query, {"after": first["pageInfo"]["endCursor"]}))["emailDeliveries"]
    queued = (await api.data(query, {"status": "QUEUED"}))["emailDeliveries"]

    assert (first["totalCount"], first["nodes"], first["pageInfo"]["hasNextPage"]) == (
        2,
        [{"recipient": newer, "status": "QUEUED"}],
        True,
    )
    assert second["nodes"] == [{"recipient": older, "status": "SENT"}]
    assert (queued["totalCount"], queued["nodes"]) == (
        1,
        [{"recipient": newer, "status": "QUEUED"}],
    )


def relay_tasks(other_than: AbstractSet[asyncio.Task[Any]] = frozenset()) -> set[asyncio.Task[Any]]:
    """The e-mail relays running in this event loop, but for those of `other_than` (relays of
    other tests' apps that may still be winding down)."""
    running = {
        task
        for task in asyncio.all_tasks()
        if task.get_name() == "clientgraph-outbox-relay" and not task.done()
    }
    return running - other_than


async def test_the_server_runs_the_relay_and_stops_it_on_shutdown(
    api: Api, inbox: tuple[Inbox, int]
) -> None:
    received, port = inbox
    others = relay_tasks()
    app = create_app(mail_settings(api.db, port, outbox_poll_interval_s=0.05), api.db)

    async with app.router.lifespan_context(app):
        await eventually(lambda: len(relay_tasks(others)) == 1)
        [running] = relay_tasks(others)
        email = await invite(api)
        await eventually(lambda: bool(received.to(email)))

    assert running.done() and relay_tasks(others) == set()


async def test_a_server_stopped_by_an_error_stops_its_relay(
    api: Api, inbox: tuple[Inbox, int]
) -> None:
    _, port = inbox
    others = relay_tasks()
    app = create_app(mail_settings(api.db, port, outbox_poll_interval_s=0.05), api.db)

    with pytest.raises(RuntimeError):
        async with app.router.lifespan_context(app):
            await eventually(lambda: len(relay_tasks(others)) == 1)
            raise RuntimeError("the server stops on an error")

    assert relay_tasks(others) == set()


async def test_the_server_runs_no_relay_when_switched_off(api: Api) -> None:
    others = relay_tasks()
    app = create_app(mail_settings(api.db, None, outbox_relay=False), api.db)

    async with app.router.lifespan_context(app):
        assert relay_tasks(others) == set()


async def test_the_worker_command_delivers_and_stops_on_sigterm(
    api: Api, inbox: tuple[Inbox, int]
) -> None:
    received, port = inbox
    email = await invite(api)
    env = {
        **os.environ,
        "DATABASE_URL": owner_url(api.db),
        "CLIENTGRAPH_APP_ROLE": APP_ROLE,
        "CLIENTGRAPH_SECRET": SECRET,
        "CLIENTGRAPH_SMTP_URL": f"smtp://127.0.0.1:{port}",
        "CLIENTGRAPH_MAIL_FROM": SENDER,
        "CLIENTGRAPH_OUTBOX_POLL_INTERVAL_S": "0.1",
    }
    worker = subprocess.Popen(
        [CLIENTGRAPH, "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        await eventually(lambda: bool(received.to(email)) or worker.poll() is not None)
        worker.send_signal(signal.SIGTERM)
        _, errors = await asyncio.to_thread(worker.communicate, timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, errors
    assert len(received.to(email)) == 1
    assert "outbox relay stopped" in errors


async def test_the_worker_refuses_a_bad_smtp_url() -> None:
    env = {**os.environ, "CLIENTGRAPH_SMTP_URL": "http://mail.example.com"}
    result = await asyncio.to_thread(
        subprocess.run,
        [CLIENTGRAPH, "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "CLIENTGRAPH_SMTP_URL must start with smtp:// or smtps://" in result.stderr


@pytest.mark.parametrize(
    ("url", "server"),
    [
        (
            "smtp://user%40x:p%3Ass@mail.example.com:587?starttls=1",
            SmtpServer("mail.example.com", 587, "user@x", "p:ss", False, True),
        ),
        (
            "smtps://mail.example.com",
            SmtpServer("mail.example.com", 465, use_tls=True, start_tls=False),
        ),
        ("smtp://localhost:1025?starttls=0", SmtpServer("localhost", 1025, start_tls=False)),
        ("smtp://localhost", SmtpServer("localhost", 25)),
    ],
)
def test_smtp_urls_name_host_port_credentials_and_tls(url: str, server: SmtpServer) -> None:
    assert SmtpServer.from_url(url) == server


@pytest.mark.parametrize(
    "url",
    [
        "http://mail.example.com",
        "smtp://",
        "smtp://host?tls=1",
        "smtp://host?starttls=maybe",
        "smtps://host?starttls=1",
        "smtp://host:notaport",
    ],
)
def test_bad_smtp_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidSmtpUrl):
        SmtpServer.from_url(url)


@pytest.mark.parametrize(
    ("attempt", "low", "high"),
    [(1, 15, 30), (2, 30, 60), (3, 60, 120), (9, 150, 300), (80, 150, 300)],
)
def test_the_backoff_doubles_per_attempt_up_to_its_cap_with_jitter(
    attempt: int, low: float, high: float
) -> None:
    assert backoff_s(attempt, 30, 300, draw=lambda: 0.0) == low
    assert backoff_s(attempt, 30, 300, draw=lambda: 1.0) == high


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_the_app_role_learns_across_firms_only_which_have_mail_due(
    api: Api, other_firm: Api
) -> None:
    """The relay's one look across firms answers firm ids; the rows stay behind the wall."""
    await invite(api)
    await invite(other_firm)
    connection = await asyncpg.connect(asyncpg_dsn(api.db.url))
    try:
        assert await connection.fetchval("SELECT current_user") == APP_ROLE
        visible = await connection.fetchval("SELECT count(*) FROM outbox_events")
        firms = await connection.fetch(
            "SELECT * FROM outbox_queued_firms($1, 'infinity', '-infinity')",
            ["contact.portal_invitation"],
        )
        updated = await connection.execute("UPDATE outbox_events SET status = 'SENT'")
    finally:
        await connection.close()
    assert (visible, updated) == (0, "UPDATE 0")
    assert [tuple(record.keys()) for record in firms[:1]] == [("firm_id",)]
    assert {api.firm_id, other_firm.firm_id} <= {record[0] for record in firms}


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_the_relay_finds_due_mail_when_the_tables_owner_is_no_superuser(
    database: Database, inbox: tuple[Inbox, int]
) -> None:
    """A superuser owner would pass row-level security anyway: here the owner's own policy
    must let the look across firms through, for that query alone."""
    from tests.test_cli import database_owned_by_a_plain_role, run_cli_as

    received, port = inbox
    email = f"client-{uuid.uuid4().hex[:10]}@example.dk"
    async with database_owned_by_a_plain_role(database) as url:
        assert (await run_cli_as(url, "migrate")).returncode == 0
        created = await run_cli_as(url, "create-firm", "Plain & Co", "--admin-email", "a@b.dk")
        firm_id = uuid.UUID(json.loads(created.stdout)["firmId"])

        async def queue(session: AsyncSession) -> None:
            session.add(
                models.OutboxEvent(
                    firm_id=firm_id,
                    kind="contact.portal_invitation",
                    recipient=email,
                    payload={"name": "Mette Hansen"},
                )
            )

        owner = Database(url)
        app = Database(mail_settings(owner, port).server_database_url())
        try:
            await owner.write(queue, firm_id=firm_id)
            await make_relay(app, port, Clock()).run_once()
            async with app.read_sessions() as session, session.begin():
                await session.execute(
                    text("SELECT * FROM outbox_queued_firms(ARRAY['x'], 'infinity', '-infinity')")
                )
                switched = await session.scalar(text("SELECT current_setting('app.all_firms')"))
        finally:
            await owner.dispose()
            await app.dispose()

    [message] = received.to(email)
    assert message["Subject"] == "Plain & Co invites you to its client portal"
    assert switched == "", "the owner's setting is off again once the function returns"
