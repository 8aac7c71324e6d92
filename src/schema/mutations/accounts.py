"""Mutations of accounts: create, change, deactivate, reactivate, delete."""

from __future__ import annotations

from typing import Any

import strawberry
from clientgraph.ids import encode_id
from clientgraph.resolvers import accounts
from clientgraph.resolvers.accounts import AccountContactSpec
from clientgraph.resolvers.contacts import CONTACT_FIELDS
from clientgraph.resolvers.enums import AccountStatus
from clientgraph.schema.inputs import (
    CreateAccountInput,
    DeactivateAccountInput,
    DeleteAccountInput,
    ReactivateAccountInput,
    UpdateAccountInput,
)
from clientgraph.schema.mutations.arguments import given, optional_id
from clientgraph.schema.payloads import (
    CreateAccountPayload,
    DeactivateAccountPayload,
    DeleteAccountPayload,
    ReactivateAccountPayload,
    UpdateAccountPayload,
    respond,
)
from clientgraph.schema.types import Account, Info


def account_payload(row: Any) -> dict[str, Any]:
    return {"account": Account.from_row(row) if row is not None else None}


@strawberry.type
class AccountMutation:
    @strawberry.mutation(description="Create an account (needs CREATE_ACCOUNTS).")
    async def create_account(self, info: Info, input: CreateAccountInput) -> CreateAccountPayload:
        return await respond(
            CreateAccountPayload,
            accounts.create_account(
                info.context,
                name=input.name,
                customer_number=input.customer_number,
                type=input.type,
                owner_id=optional_id(input.owner_id),
                tags=input.tags,
                contacts=[
                    AccountContactSpec(
                        contact_id=optional_id(item.contact_id),
                        new_contact=given(item.new_contact, *CONTACT_FIELDS)
                        if item.new_contact is not None
                        else None,
                        roles=item.roles,
                        description=item.description,
                    )
                    for item in input.contacts
                ],
            ),
            account_payload,
        )

    @strawberry.mutation(description="Change an account's name, type, tags or customer number.")
    async def update_account(self, info: Info, input: UpdateAccountInput) -> UpdateAccountPayload:
        return await respond(
            UpdateAccountPayload,
            accounts.update_account(
                info.context,
                account_id=str(input.account_id),
                expected_version=input.expected_version,
                changes=given(input, "name", "customer_number", "type", "tags"),
            ),
            account_payload,
        )


@strawberry.type
class AccountStatusMutation:
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
