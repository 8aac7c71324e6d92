"""Mutations of the address book of client owners and of who owns which account."""

from __future__ import annotations

from typing import Any

import strawberry
from clientgraph.ids import encode_id
from clientgraph.resolvers import owners
from clientgraph.resolvers.enums import UserErrorCode
from clientgraph.resolvers.errors import fail
from clientgraph.schema.inputs import (
    AddClientOwnerInput,
    AssignClientOwnerInput,
    RemoveClientOwnerInput,
    TransferClientsInput,
)
from clientgraph.schema.mutations.accounts import account_payload
from clientgraph.schema.mutations.arguments import optional_id
from clientgraph.schema.payloads import (
    AddClientOwnerPayload,
    AssignClientOwnerPayload,
    RemoveClientOwnerPayload,
    TransferClientsPayload,
    respond,
)
from clientgraph.schema.previews import ClientMovePreview, move_preview
from clientgraph.schema.types import Account, ClientOwner, Info


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


@strawberry.type
class OwnerMutation:
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
