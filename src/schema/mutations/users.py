"""Mutations of the firm's users: create, change, delete (with their clients' transfer)."""

from __future__ import annotations

import strawberry
from clientgraph.ids import encode_id
from clientgraph.resolvers import users
from clientgraph.schema.inputs import CreateUserInput, DeleteUserInput, UpdateUserInput
from clientgraph.schema.mutations.arguments import given, optional_id
from clientgraph.schema.payloads import (
    CreateUserPayload,
    DeleteUserPayload,
    UpdateUserPayload,
    respond,
)
from clientgraph.schema.previews import ClientMovePreview, move_preview
from clientgraph.schema.types import Info, User


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


@strawberry.type
class UserMutation:
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
