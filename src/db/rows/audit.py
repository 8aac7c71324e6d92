"""A change's row, as history shows it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class AuditEventRow:
    id: uuid.UUID
    subject_type: str
    subject_id: uuid.UUID
    action: str
    actor_id: uuid.UUID | None
    actor_name: str | None
    actor_api_key_id: uuid.UUID | None
    occurred_at: datetime
    changes: list[dict[str, Any]]
