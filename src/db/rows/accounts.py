"""An account's row."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class AccountRow:
    id: uuid.UUID
    firm_id: uuid.UUID
    name: str
    customer_number: str | None
    type: str
    status: str
    owner_id: uuid.UUID | None
    version: int
    created_at: datetime
    updated_at: datetime
