"""A notification's row."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class NotificationRow:
    id: uuid.UUID
    kind: str
    message: str
    account_id: uuid.UUID | None
    created_at: datetime
    read_at: datetime | None
