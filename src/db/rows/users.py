"""A user's row."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class UserRow:
    id: uuid.UUID
    firm_id: uuid.UUID
    name: str
    email: str
    role: str
    permissions: list[str]
    is_active: bool
    """Derived (`db.derived.user_is_active`): enabled and not deleted."""
