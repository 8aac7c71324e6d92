"""A contact's row, and a link's (an account's link to a contact, with the contact)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ContactRow:
    id: uuid.UUID
    firm_id: uuid.UUID
    first_name: str
    last_name: str
    phone: str | None
    portal_access: str
    version: int
    created_at: datetime
    updated_at: datetime
    last_login_at: datetime | None


@dataclass(frozen=True, slots=True)
class AccountContactRow:
    account_id: uuid.UUID
    contact: ContactRow
    description: str | None
    is_commercial: bool
    is_operational: bool
    linked_at: datetime
