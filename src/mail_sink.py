"""`clientgraph mail-sink`: a local SMTP server that keeps nothing and prints each message it
receives as a person reads it.

A mail client decodes what travels encoded: a set-password e-mail's body goes as
quoted-printable, which breaks a long link into 76-character lines ending in `=`, so the link
copied from a raw dump leads nowhere. This prints the headers that matter decoded and each
text part decoded, so every link stands whole on one line."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 1025
SHOWN_HEADERS = ("Date", "From", "To", "Cc", "Reply-To", "Subject", "Message-ID")
RULE = "-" * 72


class MailSinkUnavailable(RuntimeError):
    """aiosmtpd, which the mail sink runs on, is not installed."""


def readable(message: EmailMessage, *, mail_from: str | None, rcpt_tos: list[str]) -> str:
    """The message as text: envelope, the headers that matter (decoded), then every text part
    decoded (plain text preferred over HTML when both are there) and a line per attachment."""
    lines = [RULE, f"envelope: from {mail_from or '<>'} to {', '.join(rcpt_tos)}"]
    lines += [f"{name}: {message[name]}" for name in SHOWN_HEADERS if message[name] is not None]
    body = message.get_body(preferencelist=("plain", "html"))
    if body is not None:
        lines += ["", *str(body.get_content()).rstrip().splitlines()]
    for part in message.iter_attachments():
        size = len(part.get_payload(decode=True) or b"")
        name = part.get_filename() or "unnamed"
        lines.append(f"[attachment: {name}, {part.get_content_type()}, {size} bytes]")
    lines.append(RULE)
    return "\n".join(lines)


class Printer:
    """An aiosmtpd handler that accepts every message and writes it out, readable."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        self.write(readable(message, mail_from=envelope.mail_from, rcpt_tos=envelope.rcpt_tos))
        return "250 Message accepted for delivery"


async def run(host: str, port: int, write: Callable[[str], None]) -> None:
    """Listen on host:port (port 0: one the system picks) until cancelled; announce the
    address first, then write each message received."""
    try:
        from aiosmtpd.smtp import SMTP
    except ImportError:
        raise MailSinkUnavailable(
            "clientgraph mail-sink needs aiosmtpd: pip install 'clientgraph[mail-sink]'"
        ) from None
    loop = asyncio.get_running_loop()
    printer = Printer(write)
    server = await loop.create_server(
        lambda: SMTP(printer, hostname="clientgraph-mail-sink", loop=loop), host=host, port=port
    )
    bound_host, bound_port = server.sockets[0].getsockname()[:2]
    write(
        f"mail-sink listening on {bound_host}:{bound_port}: send with"
        f" CLIENTGRAPH_SMTP_URL=smtp://{bound_host}:{bound_port} (Ctrl-C stops it)"
    )
    async with server:
        await server.serve_forever()
