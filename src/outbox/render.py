"""What each kind of outbox event says as an e-mail.

Every message carries a `Message-ID` made from its event's id, the same on every attempt, so a
message sent again after a crash between sending and recording it is recognisably the same
message to the receiving side.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

from clientgraph import links
from clientgraph.auth.link_tokens import link_token
from clientgraph.outbox.emails import EMAIL_KINDS, INVITATION_KIND, SET_PASSWORD_KIND


class RenderError(ValueError):
    """The event cannot become an e-mail (its payload lacks what its kind needs)."""


class InvalidMailFrom(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class MailConfig:
    sender: str
    """`CLIENTGRAPH_MAIL_FROM`: an address, or `Name <address>`."""
    portal_url: str | None = None
    """`CLIENTGRAPH_PORTAL_URL`: where clients accept an invitation (`/accept?token=…`); unset,
    the portal of the server that queued the e-mail (clientgraph.links)."""
    app_url: str | None = None
    """`CLIENTGRAPH_APP_URL`: where staff set a password (`/set-password?token=…`); unset, the
    page of the server that queued the e-mail."""
    link_secret: str | None = None
    """The server's secret, which signs set-password links (auth/link_tokens.py)."""

    def __post_init__(self) -> None:
        if "@" not in parseaddr(self.sender)[1] or "\n" in self.sender or "\r" in self.sender:
            raise InvalidMailFrom(
                f"CLIENTGRAPH_MAIL_FROM must be an address or Name <address>, not {self.sender!r}"
            )

    @property
    def domain(self) -> str:
        address = parseaddr(self.sender)[1]
        return address.rpartition("@")[2] or "localhost"


@dataclass(frozen=True, slots=True)
class Event:
    """What a renderer reads of an outbox row, and the name of its firm."""

    id: uuid.UUID
    kind: str
    recipient: str
    payload: dict[str, Any]
    created_at: datetime
    firm_name: str


def message_id(event_id: uuid.UUID, config: MailConfig) -> str:
    return f"<{event_id}@{config.domain}>"


def _server_url(event: Event) -> str | None:
    """The server that queued the event, which hosts the pages its links open by default."""
    server_url = event.payload.get(links.SERVER_URL_KEY)
    return server_url if isinstance(server_url, str) and server_url else None


def _invitation(event: Event, config: MailConfig) -> tuple[str, str]:
    name = event.payload.get("name")
    if not isinstance(name, str) or not name.strip():
        raise RenderError("the invitation names nobody (payload.name)")
    firm = event.firm_name
    subject = f"{firm} invites you to its client portal"
    if event.payload.get("resend"):
        subject = f"Reminder: {subject}"
    lines = [f"Hello {name},", "", f"{firm} invites you to its client portal."]
    token = event.payload.get("token")
    if isinstance(token, str) and token:
        link = links.portal_accept_url(
            token, portal_url=config.portal_url, server_url=_server_url(event)
        )
        lines += ["", "To accept, choose your password here:", "", link]
        lines += ["", "The link works once; a newer invitation replaces it."]
    else:
        lines += ["", f"{firm} will tell you how to sign in."]
    lines += ["", "If you did not expect this e-mail, you can ignore it.", "", f"— {firm}"]
    return subject, "\n".join(lines) + "\n"


def _set_password(event: Event, config: MailConfig) -> tuple[str, str]:
    name, token_id = event.payload.get("name"), event.payload.get("tokenId")
    if not isinstance(name, str) or not isinstance(token_id, str):
        raise RenderError("the set-password e-mail needs payload.name and payload.tokenId")
    if config.link_secret is None:
        raise RenderError("no secret to sign the set-password link with (CLIENTGRAPH_SECRET)")
    try:
        token = link_token(config.link_secret, uuid.UUID(token_id))
    except ValueError as error:
        raise RenderError(f"payload.tokenId {token_id!r} is no id") from error
    firm = event.firm_name
    link = links.set_password_url(token, app_url=config.app_url, server_url=_server_url(event))
    if event.payload.get("reason") == "reset":
        subject = f"{firm}: choose a new password"
        opening = "Your password was reset by an administrator of"
    else:
        subject = f"{firm}: choose your password"
        opening = "You now have a user account at"
    lines = [f"Hello {name},", "", f"{opening} {firm}.", "", "Choose your password here:"]
    lines += ["", link, "", "The link works once, within 72 hours; a newer link replaces it."]
    lines += ["", "If you did not expect this e-mail, you can ignore it.", "", f"— {firm}"]
    return subject, "\n".join(lines) + "\n"


RENDERERS: dict[str, Callable[[Event, MailConfig], tuple[str, str]]] = {
    INVITATION_KIND: _invitation,
    SET_PASSWORD_KIND: _set_password,
}
"""Kind → (subject, text body), for each of the EMAIL_KINDS. The relay claims only these kinds,
so a relay of an older release leaves the events of newer kinds to a newer relay."""

if set(RENDERERS) != set(EMAIL_KINDS):
    raise RuntimeError("outbox.render.RENDERERS must write exactly the EMAIL_KINDS")


def render(event: Event, config: MailConfig) -> EmailMessage:
    """The e-mail for `event`; RenderError if its kind is unknown or its payload incomplete.
    It is the same message on every attempt: dated when the event was written."""
    renderer = RENDERERS.get(event.kind)
    if renderer is None:
        raise RenderError(f"no e-mail is known for events of kind {event.kind!r}")
    subject, body = renderer(event, config)
    message = EmailMessage()
    try:
        message["To"] = Address(addr_spec=event.recipient)
    except (ValueError, IndexError) as error:
        raise RenderError(f"the recipient {event.recipient!r} is no e-mail address") from error
    message["From"] = config.sender
    message["Subject"] = " ".join(subject.split())
    message["Message-ID"] = message_id(event.id, config)
    message["Date"] = format_datetime(event.created_at)
    message.set_content(body)
    return message
