"""CustomFieldValue: its row is the pair (definition, the subject's stored value), as the
relations `read_model.ACCOUNT_CUSTOM_FIELDS` and `CONTACT_CUSTOM_FIELDS` give it."""

from __future__ import annotations

from typing import Any

from clientgraph.plan.build import Build, Field, Fix, planned
from sqlalchemy import ColumnElement

TYPE = "CustomFieldValue"


@planned(TYPE, "key", "label", "type")
def definition_column(
    build: Build, row: Any, field: Field
) -> tuple[ColumnElement[Any], Fix | None]:
    return getattr(row[0], field.name), None


@planned(TYPE, "value")
def stored_value(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    return row[1].value, None
