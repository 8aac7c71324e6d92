"""Plain frozen rows the read side maps Core results into; GraphQL types wrap these."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class FirmRow:
    id: uuid.UUID
    name: str
    client_ownership_enabled: bool
    customer_number_min_length: int | None
    customer_number_max_length: int | None


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


@dataclass(frozen=True, slots=True)
class ClientOwnerRow:
    id: uuid.UUID
    firm_id: uuid.UUID
    name: str
    user_id: uuid.UUID | None


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


@dataclass(frozen=True, slots=True)
class NotificationRow:
    id: uuid.UUID
    kind: str
    message: str
    account_id: uuid.UUID | None
    created_at: datetime
    read_at: datetime | None


@dataclass(frozen=True, slots=True)
class CustomFieldDefinitionRow:
    id: uuid.UUID
    entity: str
    key: str
    label: str
    type: str
    options: list[str]


@dataclass(frozen=True, slots=True)
class CustomFieldValueRow:
    """A custom field of an entity with one subject's stored value (None when unset)."""

    key: str
    label: str
    type: str
    value: str | None


@dataclass(frozen=True, slots=True)
class ApiKeyRow:
    id: uuid.UUID
    created_by_id: uuid.UUID
    name: str
    permissions: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


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
