"""The types of custom fields: a definition, and a field of an account or contact with its
value."""

from __future__ import annotations

import strawberry
from clientgraph.db.rows import CustomFieldDefinitionRow, CustomFieldValueRow
from clientgraph.schema.enums import CustomFieldEntity, CustomFieldType
from clientgraph.schema.types.base import Info


@strawberry.type(description="A custom field the firm defined for accounts or contacts.")
class CustomFieldDefinition:
    entity: CustomFieldEntity
    key: str
    label: str
    type: CustomFieldType
    row: strawberry.Private[CustomFieldDefinitionRow]

    @classmethod
    def from_row(cls, row: CustomFieldDefinitionRow) -> CustomFieldDefinition:
        return cls(
            entity=CustomFieldEntity(row.entity),
            key=row.key,
            label=row.label,
            type=CustomFieldType(row.type),
            row=row,
        )

    @strawberry.field(description="The choices of a SELECT field.")
    def options(self, info: Info) -> list[str]:
        return list(self.row.options[: info.context.lists.select_options])


@strawberry.type(description="A custom field of an account or contact, with its value.")
class CustomFieldValue:
    key: str
    label: str
    type: CustomFieldType
    value: str | None = strawberry.field(
        description="As text: decimals for NUMBER, YYYY-MM-DD for DATE, true/false for BOOLEAN."
    )

    @classmethod
    def from_row(cls, row: CustomFieldValueRow) -> CustomFieldValue:
        return cls(key=row.key, label=row.label, type=CustomFieldType(row.type), value=row.value)
