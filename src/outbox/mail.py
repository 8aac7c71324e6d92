"""Sending e-mail: the relay's transport, a small interface with SMTP behind it."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
from clientgraph.outbox.queue import Claimed
from clientgraph.outbox.render import Event, MailConfig, RenderError, render
from clientgraph.outbox.sender import Sent, Undeliverable

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})


class MailTransport(Protocol):
    async def send(self, message: EmailMessage) -> None:
        """Hand `message` to the mail system; raise if it was not accepted."""


class InvalidSmtpUrl(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """Where and how to send: `smtp://user:pass@host:587?starttls=1`, or `smtps://host:465`
    for TLS from the first byte."""

    hostname: str
    port: int
    username: str | None = None
    password: str | None = None
    use_tls: bool = False
    start_tls: bool | None = None
    """True: require STARTTLS; False: never; None: use it when the server offers it."""

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as error:
            raise InvalidSmtpUrl(f"CLIENTGRAPH_SMTP_URL is not a URL: {error}") from None
        if parts.scheme not in ("smtp", "smtps"):
            raise InvalidSmtpUrl("CLIENTGRAPH_SMTP_URL must start with smtp:// or smtps://")
        if not parts.hostname:
            raise InvalidSmtpUrl("CLIENTGRAPH_SMTP_URL names no host")
        implicit_tls = parts.scheme == "smtps"
        query = parse_qs(parts.query)
        unknown = set(query) - {"starttls"}
        if unknown:
            raise InvalidSmtpUrl(
                f"CLIENTGRAPH_SMTP_URL has unknown options: {', '.join(sorted(unknown))}"
            )
        start_tls: bool | None = None
        if "starttls" in query:
            value = query["starttls"][-1].lower()
            if value not in TRUE | FALSE:
                raise InvalidSmtpUrl("starttls in CLIENTGRAPH_SMTP_URL must be 1 or 0")
            start_tls = value in TRUE
        if implicit_tls and start_tls:
            raise InvalidSmtpUrl("smtps:// is TLS already; leave out starttls=1")
        return cls(
            hostname=parts.hostname,
            port=port or (465 if implicit_tls else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=implicit_tls,
            start_tls=False if implicit_tls else start_tls,
        )


class SmtpTransport:
    """One SMTP connection per message, through aiosmtplib."""

    def __init__(self, server: SmtpServer, *, timeout_s: float = 30.0) -> None:
        self.server = server
        self.timeout_s = timeout_s

    async def send(self, message: EmailMessage) -> None:
        server = self.server
        await aiosmtplib.send(
            message,
            hostname=server.hostname,
            port=server.port,
            username=server.username,
            password=server.password,
            use_tls=server.use_tls,
            start_tls=server.start_tls,
            timeout=self.timeout_s,
        )


EMAIL = "e-mail"
"""What the mail relay delivers, as its log lines and metrics name the kind."""


@dataclass(frozen=True, slots=True)
class MailSender:
    """An outbox row as an e-mail, through `transport`."""

    transport: MailTransport
    config: MailConfig
    noun: str = EMAIL

    async def send(self, row: Claimed, firm_name: str) -> Sent:
        event = Event(row.id, row.kind, row.recipient, row.payload, row.created_at, firm_name)
        try:
            message = render(event, self.config)
        except RenderError as error:
            raise Undeliverable(f"cannot be written: {error}") from error
        await self.transport.send(message)
        return Sent(f"sent, Message-ID {message['Message-ID']}")
