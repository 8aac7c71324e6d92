"""Mutations of custom fields: their definitions and values."""

from __future__ import annotations

from typing import Any

import strawberry
from clientgraph.resolvers import custom_fields
from clientgraph.resolvers.custom_fields import ValueInput
from clientgraph.resolvers.enums import CustomFieldEntity
from clientgraph.resolvers.read_model import ACCOUNTS, CONTACTS
from clientgraph.schema.inputs import DefineCustomFieldInput, SetCustomFieldValuesInput
from clientgraph.schema.mutations.arguments import optional_id
from clientgraph.schema.payloads import (
    DefineCustomFieldPayload,
    SetCustomFieldValuesPayload,
    respond,
)
from clientgraph.schema.types import Account, Contact, CustomFieldDefinition, Info


async def _custom_field_subject(info: Info, outcome: Any) -> dict[str, Any]:
    entity, subject_id = outcome
    loaders = info.context.loaders
    if entity == CustomFieldEntity.ACCOUNT:
        row = await loaders.of(ACCOUNTS).load(subject_id)
        return {"account": Account.from_row(row) if row is not None else None}
    row = await loaders.of(CONTACTS).load(subject_id)
    return {"contact": Contact.from_row(row) if row is not None else None}


async def _set_values(info: Info, input: SetCustomFieldValuesInput) -> dict[str, Any]:
    outcome = await custom_fields.set_custom_field_values(
        info.context,
        account_id=optional_id(input.account_id),
        contact_id=optional_id(input.contact_id),
        values=[ValueInput(item.key, item.value) for item in input.values],
    )
    return await _custom_field_subject(info, outcome)


@strawberry.type
class CustomFieldMutation:
    @strawberry.mutation(description="Admin: define a custom field for accounts or contacts.")
    async def define_custom_field(
        self, info: Info, input: DefineCustomFieldInput
    ) -> DefineCustomFieldPayload:
        return await respond(
            DefineCustomFieldPayload,
            custom_fields.define_custom_field(
                info.context,
                entity=input.entity,
                key=input.key,
                label=input.label,
                type=input.type,
                options=input.options,
            ),
            lambda row: {"definition": CustomFieldDefinition.from_row(row)},
        )

    @strawberry.mutation(description="Set or clear custom field values of an account or contact.")
    async def set_custom_field_values(
        self, info: Info, input: SetCustomFieldValuesInput
    ) -> SetCustomFieldValuesPayload:
        return await respond(SetCustomFieldValuesPayload, _set_values(info, input), lambda r: r)
