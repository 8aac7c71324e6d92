"""CustomFieldValue: every definition of an entity, with the subject's value or null. Its
row is the pair (definition, subject)."""

from __future__ import annotations

from typing import Any

from clientgraph.db import models, orders
from clientgraph.plan.build import Build, Field, Fix, list_fix, planned
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import aliased

TYPE = "CustomFieldValue"


def values(
    build: Build, row: Any, field: Field, entity: str
) -> tuple[ColumnElement[Any], Fix | None]:
    definition = aliased(models.CustomFieldDefinition)
    value, fix = build.object(TYPE, field, (definition, row))
    statement = select(value.label("j")).where(
        definition.firm_id == build.viewer.firm_id, definition.entity == entity
    )
    order = orders.custom_fields_by_label(definition)
    return build.array(statement, row, order, build.lists.custom_fields), list_fix(fix)


@planned(TYPE, "key", "label", "type")
def definition_column(
    build: Build, row: Any, field: Field
) -> tuple[ColumnElement[Any], Fix | None]:
    return getattr(row[0], field.name), None


@planned(TYPE, "value")
def stored_value(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    definition, subject = row
    stored = aliased(models.CustomFieldValue)
    statement = select(stored.value).where(
        stored.firm_id == build.viewer.firm_id,
        stored.subject_id == subject.id,
        stored.definition_id == definition.id,
    )
    return statement.correlate(definition, subject).limit(1).scalar_subquery(), None
