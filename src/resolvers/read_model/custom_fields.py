"""The relations of custom fields: the definitions of an entity, and an account's or a
contact's fields with their values."""

from __future__ import annotations

from typing import Any

from clientgraph.auth.viewer import Viewer
from clientgraph.db import models, orders
from clientgraph.db.relation import Alias, Related, Relation, Shape, row_shape
from clientgraph.db.rows import CustomFieldDefinitionRow, CustomFieldValueRow
from clientgraph.list_limits import ListLimits
from sqlalchemy import ColumnElement, and_, select


def _custom_field_definitions(viewer: Viewer, lists: ListLimits, alias: Alias) -> Related:
    definition = alias(models.CustomFieldDefinition)
    statement = select().select_from(definition).where(definition.firm_id == viewer.firm_id)
    return Related(
        statement,
        definition,
        definition.entity,
        orders.custom_fields_by_label(definition),
        lists.custom_fields,
    )


CUSTOM_FIELD_DEFINITIONS = Relation(
    "custom_field_definitions",
    _custom_field_definitions,
    row_shape(CustomFieldDefinitionRow),
)
"""The custom fields the firm defined for an entity (`ACCOUNT`, `CONTACT`), by label."""


def _value_columns(entity: Any) -> list[ColumnElement[Any]]:
    definition, stored = entity
    return [definition.key, definition.label, definition.type, stored.value]


CUSTOM_VALUE_SHAPE = Shape(_value_columns, lambda values: CustomFieldValueRow(*values))
"""A custom value's rows are the pair (definition, the subject's stored value or nulls), as
`CustomFieldValue`'s handlers read."""


def _custom_values(entity: str, subject_model: Any) -> Any:
    """Every definition of `entity`, in the definitions' order, paired with each subject (a row
    of `subject_model`, the parent) and the value stored for that pair, if any."""

    def rows(viewer: Viewer, lists: ListLimits, alias: Alias) -> Related:
        definitions = _custom_field_definitions(viewer, lists, alias)
        definition = definitions.entity
        subject, stored = alias(subject_model), alias(models.CustomFieldValue)
        statement = (
            definitions.statement.where(definition.entity == entity)
            .join(subject, subject.firm_id == definition.firm_id)
            .outerjoin(
                stored,
                and_(
                    stored.firm_id == definition.firm_id,
                    stored.definition_id == definition.id,
                    stored.subject_id == subject.id,
                ),
            )
        )
        return Related(
            statement, (definition, stored), subject.id, definitions.order, definitions.limit
        )

    return rows


ACCOUNT_CUSTOM_FIELDS = Relation(
    "account_custom_fields", _custom_values("ACCOUNT", models.Account), CUSTOM_VALUE_SHAPE
)
"""An account's custom fields: every one defined for accounts, with its value or null."""


CONTACT_CUSTOM_FIELDS = Relation(
    "contact_custom_fields", _custom_values("CONTACT", models.Contact), CUSTOM_VALUE_SHAPE
)
"""A contact's custom fields: every one defined for contacts, with its value or null."""
