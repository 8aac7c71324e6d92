"""Mutations of the customer register: account status and deletion, teams, custom fields,
notifications."""

from __future__ import annotations

from typing import Any

import strawberry
from clientgraph.ids import encode_id
from clientgraph.resolvers import accounts, custom_fields, notifications, teams
from clientgraph.resolvers.custom_fields import ValueInput
from clientgraph.resolvers.enums import AccountStatus, CustomFieldEntity
from clientgraph.resolvers.read_model import ACCOUNTS
from clientgraph.schema.inputs import (
    AssignTeamMemberInput,
    DeactivateAccountInput,
    DefineCustomFieldInput,
    DeleteAccountInput,
    MarkNotificationsReadInput,
    ReactivateAccountInput,
    SetCustomFieldValuesInput,
    UnassignTeamMemberInput,
)
from clientgraph.schema.mutation import account_payload, optional_id
from clientgraph.schema.payloads import (
    AssignTeamMemberPayload,
    DeactivateAccountPayload,
    DefineCustomFieldPayload,
    DeleteAccountPayload,
    MarkNotificationsReadPayload,
    ReactivateAccountPayload,
    SetCustomFieldValuesPayload,
    UnassignTeamMemberPayload,
    respond,
)
from clientgraph.schema.types import (
    Account,
    Contact,
    CustomFieldDefinition,
    Info,
    Notification,
)


async def _custom_field_subject(info: Info, outcome: Any) -> dict[str, Any]:
    entity, subject_id = outcome
    loaders = info.context.loaders
    if entity == CustomFieldEntity.ACCOUNT:
        row = await loaders.of(ACCOUNTS).load(subject_id)
        return {"account": Account.from_row(row) if row is not None else None}
    row = await loaders.contact.load(subject_id)
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
class RegisterMutation:
    @strawberry.mutation(description="Deactivate an account: it keeps its data and history.")
    async def deactivate_account(
        self, info: Info, input: DeactivateAccountInput
    ) -> DeactivateAccountPayload:
        return await respond(
            DeactivateAccountPayload,
            accounts.set_account_status(
                info.context, account_id=str(input.account_id), status=AccountStatus.INACTIVE
            ),
            account_payload,
        )

    @strawberry.mutation
    async def reactivate_account(
        self, info: Info, input: ReactivateAccountInput
    ) -> ReactivateAccountPayload:
        return await respond(
            ReactivateAccountPayload,
            accounts.set_account_status(
                info.context, account_id=str(input.account_id), status=AccountStatus.ACTIVE
            ),
            account_payload,
        )

    @strawberry.mutation(description="Delete an account (needs DELETE_ACCOUNTS).")
    async def delete_account(self, info: Info, input: DeleteAccountInput) -> DeleteAccountPayload:
        return await respond(
            DeleteAccountPayload,
            accounts.delete_account(info.context, account_id=str(input.account_id)),
            lambda deleted: {"deleted_account_id": encode_id("Account", deleted)},
        )

    @strawberry.mutation(description="Put a user on an account's team; they are notified.")
    async def assign_team_member(
        self, info: Info, input: AssignTeamMemberInput
    ) -> AssignTeamMemberPayload:
        return await respond(
            AssignTeamMemberPayload,
            teams.assign_team_member(
                info.context, account_id=str(input.account_id), user_id=str(input.user_id)
            ),
            account_payload,
        )

    @strawberry.mutation(description="Take a user off an account's team; they are notified.")
    async def unassign_team_member(
        self, info: Info, input: UnassignTeamMemberInput
    ) -> UnassignTeamMemberPayload:
        return await respond(
            UnassignTeamMemberPayload,
            teams.unassign_team_member(
                info.context, account_id=str(input.account_id), user_id=str(input.user_id)
            ),
            account_payload,
        )

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

    @strawberry.mutation(description="Mark your own notifications as read.")
    async def mark_notifications_read(
        self, info: Info, input: MarkNotificationsReadInput
    ) -> MarkNotificationsReadPayload:
        return await respond(
            MarkNotificationsReadPayload,
            notifications.mark_notifications_read(info.context, ids=[str(i) for i in input.ids]),
            lambda rows: {
                "notifications": [
                    Notification.from_row(row) for row in rows[: info.context.lists.input_list]
                ]
            },
        )
