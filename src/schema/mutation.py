"""Mutations of the firm, its users, the address book and accounts. Every mutation takes one
`input` and returns its payload."""

from __future__ import annotations

from typing import Any

import strawberry
from clientgraph.ids import encode_id
from clientgraph.resolvers import accounts, api_keys, email_deliveries, firms, owners, users
from clientgraph.resolvers.accounts import AccountContactSpec
from clientgraph.resolvers.contacts import CONTACT_FIELDS
from clientgraph.resolvers.enums import UserErrorCode
from clientgraph.resolvers.errors import fail
from clientgraph.schema.inputs import (
    AddClientOwnerInput,
    AssignClientOwnerInput,
    CreateAccountInput,
    CreateApiKeyInput,
    CreateUserInput,
    DeleteUserInput,
    RemoveClientOwnerInput,
    RetryEmailDeliveryInput,
    RevokeApiKeyInput,
    TransferClientsInput,
    UpdateAccountInput,
    UpdateFirmSettingsInput,
    UpdateUserInput,
)
from clientgraph.schema.payloads import (
    AddClientOwnerPayload,
    AssignClientOwnerPayload,
    CreateAccountPayload,
    CreateApiKeyPayload,
    CreateUserPayload,
    DeleteUserPayload,
    RemoveClientOwnerPayload,
    RetryEmailDeliveryPayload,
    RevokeApiKeyPayload,
    TransferClientsPayload,
    UpdateAccountPayload,
    UpdateFirmSettingsPayload,
    UpdateUserPayload,
    respond,
)
from clientgraph.schema.previews import ClientMovePreview, move_preview
from clientgraph.schema.types import (
    Account,
    ApiKey,
    ClientOwner,
    EmailDelivery,
    FirmSettings,
    Info,
    User,
)


def given(input_object: object, *names: str) -> dict[str, Any]:
    """The fields of an input the caller actually passed (null included), by Python name."""
    return {
        name: getattr(input_object, name)
        for name in names
        if getattr(input_object, name) is not strawberry.UNSET
    }


def account_payload(row: Any) -> dict[str, Any]:
    return {"account": Account.from_row(row) if row is not None else None}


@strawberry.type
class OwnershipMutation:
    @strawberry.mutation(description="Admin: switch client ownership, set customer-number rules.")
    async def update_firm_settings(
        self, info: Info, input: UpdateFirmSettingsInput
    ) -> UpdateFirmSettingsPayload:
        changes = given(input, *firms.SETTING_FIELDS)
        return await respond(
            UpdateFirmSettingsPayload,
            firms.update_firm_settings(info.context, changes),
            lambda firm: {
                "settings": FirmSettings(
                    client_ownership_enabled=firm.client_ownership_enabled,
                    customer_number_min_length=firm.customer_number_min_length,
                    customer_number_max_length=firm.customer_number_max_length,
                )
            },
        )

    @strawberry.mutation(description="Admin: add a user to the firm.")
    async def create_user(self, info: Info, input: CreateUserInput) -> CreateUserPayload:
        return await respond(
            CreateUserPayload,
            users.create_user(
                info.context,
                name=input.name,
                email=input.email,
                role=input.role,
                permissions=input.permissions,
            ),
            lambda row: {"user": User.from_row(row)},
        )

    @strawberry.mutation(description="Admin: change a user's name, role, rights or activity.")
    async def update_user(self, info: Info, input: UpdateUserInput) -> UpdateUserPayload:
        return await respond(
            UpdateUserPayload,
            users.update_user(
                info.context,
                user_id=str(input.user_id),
                changes=given(input, "name", "role", "permissions", "is_active"),
            ),
            lambda row: {"user": User.from_row(row)},
        )

    @strawberry.mutation(description="Admin: delete a user; their clients transfer or go unowned.")
    async def delete_user(self, info: Info, input: DeleteUserInput) -> DeleteUserPayload:
        return await respond(
            DeleteUserPayload,
            _delete_user(info, input),
            lambda result: {
                "deleted_user_id": None
                if input.dry_run
                else encode_id("User", result[0].deleted_user_id),
                "transferred_count": result[0].release.transferred_count,
                "unassigned_count": result[0].release.unassigned_count,
                "team_count": result[0].team_count,
                "preview": result[1],
            },
        )

    @strawberry.mutation(description="Admin: add a user, or a person by name, to the address book.")
    async def add_client_owner(
        self, info: Info, input: AddClientOwnerInput
    ) -> AddClientOwnerPayload:
        return await respond(
            AddClientOwnerPayload,
            owners.add_client_owner(
                info.context, user_id=optional_id(input.user_id), name=input.name
            ),
            lambda row: {"client_owner": ClientOwner.from_row(row)},
        )

    @strawberry.mutation(description="Set, change or (with ownerId null) clear an account's owner.")
    async def assign_client_owner(
        self, info: Info, input: AssignClientOwnerInput
    ) -> AssignClientOwnerPayload:
        return await respond(
            AssignClientOwnerPayload,
            _assign_client_owner(info, input),
            account_payload,
        )

    @strawberry.mutation(description="Admin: move all or some accounts of one owner to another.")
    async def transfer_clients(
        self, info: Info, input: TransferClientsInput
    ) -> TransferClientsPayload:
        return await respond(
            TransferClientsPayload,
            _transfer_clients(info, input),
            lambda result: {
                "transferred_count": len(result[0].moved),
                "accounts": [Account.from_row(row) for row in result[0].accounts],
                "preview": result[1],
            },
        )

    @strawberry.mutation(description="Admin: remove an owner from the address book.")
    async def remove_client_owner(
        self, info: Info, input: RemoveClientOwnerInput
    ) -> RemoveClientOwnerPayload:
        return await respond(
            RemoveClientOwnerPayload,
            owners.remove_client_owner(
                info.context,
                owner_id=str(input.owner_id),
                transfer_clients_to=optional_id(input.transfer_clients_to),
            ),
            lambda result: {
                "removed_owner_id": encode_id("ClientOwner", result[0]),
                "transferred_count": result[1].transferred_count,
                "unassigned_count": result[1].unassigned_count,
            },
        )

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
class ApiKeyMutation:
    @strawberry.mutation(
        description="Owner or admin (a person, not a key): make a partner API key holding "
        "exactly `permissions`, each one a right you hold."
    )
    async def create_api_key(self, info: Info, input: CreateApiKeyInput) -> CreateApiKeyPayload:
        return await respond(
            CreateApiKeyPayload,
            api_keys.create_api_key(
                info.context,
                name=input.name,
                permissions=list(input.permissions),
                expires_at=input.expires_at,
                user_id=optional_id(input.user_id),
            ),
            lambda issued: {"api_key": ApiKey.from_row(issued.row), "key": issued.key},
        )

    @strawberry.mutation(description="Admin: revoke a partner API key; it stops working at once.")
    async def revoke_api_key(self, info: Info, input: RevokeApiKeyInput) -> RevokeApiKeyPayload:
        return await respond(
            RevokeApiKeyPayload,
            api_keys.revoke_api_key(info.context, api_key_id=str(input.api_key_id)),
            lambda row: {"api_key": ApiKey.from_row(row)},
        )


@strawberry.type
class EmailMutation:
    @strawberry.mutation(
        description="Admin: send a FAILED e-mail again; it is queued, due now, with its "
        "attempts counted afresh."
    )
    async def retry_email_delivery(
        self, info: Info, input: RetryEmailDeliveryInput
    ) -> RetryEmailDeliveryPayload:
        return await respond(
            RetryEmailDeliveryPayload,
            email_deliveries.retry_email_delivery(info.context, delivery_id=str(input.delivery_id)),
            lambda row: {"delivery": EmailDelivery.from_row(row)},
        )


def optional_id(value: strawberry.ID | None) -> str | None:
    return str(value) if value is not None else None


async def _assign_client_owner(info: Info, input: AssignClientOwnerInput) -> Any:
    if input.owner_id is strawberry.UNSET:
        raise fail(["ownerId"], UserErrorCode.REQUIRED, "Give ownerId, or null to clear it.")
    return await owners.assign_client_owner(
        info.context, account_id=str(input.account_id), owner_id=optional_id(input.owner_id)
    )


async def _transfer_clients(
    info: Info, input: TransferClientsInput
) -> tuple[owners.Transfer, ClientMovePreview | None]:
    transfer = await owners.transfer_clients(
        info.context,
        from_owner_id=str(input.from_owner_id),
        to_owner_id=str(input.to_owner_id),
        account_ids=[str(i) for i in input.account_ids] if input.account_ids is not None else None,
        dry_run=input.dry_run,
    )
    preview = (
        await move_preview(info.context, transfer.moved, transfer.target_id)
        if input.dry_run
        else None
    )
    return transfer, preview


async def _delete_user(
    info: Info, input: DeleteUserInput
) -> tuple[users.UserDeletion, ClientMovePreview | None]:
    deletion = await users.delete_user(
        info.context,
        user_id=str(input.user_id),
        transfer_clients_to=optional_id(input.transfer_clients_to),
        dry_run=input.dry_run,
    )
    release = deletion.release
    preview = (
        await move_preview(info.context, release.moved, release.target_id)
        if input.dry_run
        else None
    )
    return deletion, preview
