"""The firm's row."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FirmRow:
    id: uuid.UUID
    name: str
    client_ownership_enabled: bool
    customer_number_min_length: int | None
    customer_number_max_length: int | None
