"""Mutations of a contact's access to the client portal."""

from __future__ import annotations

import strawberry
from clientgraph.resolvers import portal
from clientgraph.schema.inputs import InviteContactInput, RevokePortalAccessInput
from clientgraph.schema.mutations.contacts import contact_payload
from clientgraph.schema.payloads import InviteContactPayload, RevokePortalAccessPayload, respond
from clientgraph.schema.types import Info


@strawberry.type
class PortalMutation:
    @strawberry.mutation(
        description="Invite to the client portal: an e-mail with a one-time link; again while "
        "invited resends it, and the earlier link stops working."
    )
    async def invite_contact(self, info: Info, input: InviteContactInput) -> InviteContactPayload:
        return await respond(
            InviteContactPayload,
            portal.invite_contact(
                info.context, contact_id=str(input.contact_id), email=input.email
            ),
            contact_payload,
        )

    @strawberry.mutation(description="Take away a contact's portal access or invitation.")
    async def revoke_portal_access(
        self, info: Info, input: RevokePortalAccessInput
    ) -> RevokePortalAccessPayload:
        return await respond(
            RevokePortalAccessPayload,
            portal.revoke_portal_access(info.context, contact_id=str(input.contact_id)),
            contact_payload,
        )
