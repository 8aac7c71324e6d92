"""Mutations of an account's team."""

from __future__ import annotations

import strawberry
from clientgraph.resolvers import teams
from clientgraph.schema.inputs import AssignTeamMemberInput, UnassignTeamMemberInput
from clientgraph.schema.mutations.accounts import account_payload
from clientgraph.schema.payloads import AssignTeamMemberPayload, UnassignTeamMemberPayload, respond
from clientgraph.schema.types import Info


@strawberry.type
class TeamMutation:
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
