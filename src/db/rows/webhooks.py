"""A webhook's row and a webhook delivery's (an outbox row)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class WebhookRow:
    """A webhook as administrators see it: never its secrets."""

    id: uuid.UUID
    firm_id: uuid.UUID
    url: str
    description: str
    events: list[str]
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class WebhookDeliveryRow:
    """An outbox row that is a webhook delivery (`recipient` is the webhook's id)."""

    id: uuid.UUID
    firm_id: uuid.UUID
    recipient: str
    payload: dict[str, Any]
    status: str
    attempts: int
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    """Derived (`db.derived.next_attempt_at`): null unless queued."""
    last_error: str | None
    last_response_code: int | None
    delivered_at: datetime | None
