"""The rows of custom fields: a definition, and a field with one subject's value."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


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
