"""Mutations of staff passwords: one's own, and an administrator's reset."""

from __future__ import annotations

import strawberry
from clientgraph.resolvers import credentials
from clientgraph.schema.inputs import ChangePasswordInput, ResetUserPasswordInput
from clientgraph.schema.payloads import ChangePasswordPayload, ResetUserPasswordPayload, respond
from clientgraph.schema.types import Info, User


@strawberry.type
class PasswordMutation:
    @strawberry.mutation(
        description="Change your own password (a user's token, not an API key). Every other "
        "sign-in of yours ends; the one this request's token came from goes on."
    )
    async def change_password(
        self, info: Info, input: ChangePasswordInput
    ) -> ChangePasswordPayload:
        return await respond(
            ChangePasswordPayload,
            credentials.change_password(
                info.context,
                current_password=input.current_password,
                new_password=input.new_password,
            ),
            lambda row: {"user": User.from_row(row)},
        )

    @strawberry.mutation(
        description="Admin: the user's password stops working, their sign-ins end, and a new "
        "set-password link is e-mailed to them (earlier links stop working). Only an owner may "
        "reset an owner's password; your own you change with changePassword."
    )
    async def reset_user_password(
        self, info: Info, input: ResetUserPasswordInput
    ) -> ResetUserPasswordPayload:
        return await respond(
            ResetUserPasswordPayload,
            credentials.reset_user_password(info.context, user_id=str(input.user_id)),
            lambda row: {"user": User.from_row(row)},
        )
