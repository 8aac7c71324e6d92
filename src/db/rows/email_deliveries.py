"""An e-mail's row: an outbox row that is an e-mail."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class EmailDeliveryRow:
    """An outbox row that is an e-mail, with its delivery state."""

    id: uuid.UUID
    firm_id: uuid.UUID
    kind: str
    recipient: str
    status: str
    attempts: int
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    """Derived (`db.derived.next_attempt_at`): null unless queued."""
    last_error: str | None
    delivered_at: datetime | None
