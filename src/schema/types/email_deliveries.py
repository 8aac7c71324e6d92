"""The e-mails the service sends, and how their delivery went."""

from __future__ import annotations

from datetime import datetime

import strawberry
from clientgraph.db.rows import EmailDeliveryRow
from clientgraph.schema.enums import EmailDeliveryStatus
from strawberry import relay


@strawberry.type(
    description="An e-mail the service sends (a portal invitation, …), and how its delivery "
    "went. Administrators only."
)
class EmailDelivery(relay.Node):
    id: relay.NodeID[str]
    kind: str = strawberry.field(description="What it is, e.g. contact.portal_invitation.")
    recipient: str
    status: EmailDeliveryStatus
    attempts: int = strawberry.field(description="Tries so far; a retry counts afresh.")
    created_at: datetime = strawberry.field(description="When it was queued.")
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None = strawberry.field(
        description="When it is next tried; null unless QUEUED."
    )
    last_error: str | None = strawberry.field(
        description="What the mail server (or the relay) said when the last try failed."
    )
    sent_at: datetime | None

    @classmethod
    def from_row(cls, row: EmailDeliveryRow) -> EmailDelivery:
        return cls(
            id=str(row.id),
            kind=row.kind,
            recipient=row.recipient,
            status=EmailDeliveryStatus(row.status),
            attempts=row.attempts,
            created_at=row.created_at,
            last_attempt_at=row.last_attempt_at,
            next_attempt_at=row.next_attempt_at,
            last_error=row.last_error,
            sent_at=row.delivered_at,
        )
