"""An address-book entry's row."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ClientOwnerRow:
    id: uuid.UUID
    firm_id: uuid.UUID
    name: str
    user_id: uuid.UUID | None
