"""Client-portal access of contacts (seeds 002, 004): invitations, resent on request, and
revocation. An invitation is an outbox message written in the same transaction; delivering it
is another component's job."""

from __future__ import annotations

from clientgraph.db import models
from clientgraph.db.rows import ContactRow
from clientgraph.resolvers import history
from clientgraph.resolvers.contacts import CONTACT_NOUN, contact_name, current_emails
from clientgraph.resolvers.context import Context
from clientgraph.resolvers.enums import Permission, PortalAccess, UserErrorCode
from clientgraph.resolvers.errors import fail
from clientgraph.resolvers.guards import lock_contact
from clientgraph.resolvers.inputs import parse_id
from clientgraph.resolvers.policy import require
from sqlalchemy.ext.asyncio import AsyncSession

INVITATION_KIND = "contact.portal_invitation"


async def invite_contact(ctx: Context, *, contact_id: str) -> ContactRow | None:
    """Invite to the client portal (NONE → INVITED); again while INVITED is a resend. Each
    invitation is an outbox message written in the same transaction."""
    require(ctx.viewer, Permission.CREATE_CLIENT_USERS)
    contact_uuid = parse_id(contact_id, "Contact", ["contactId"], CONTACT_NOUN)

    async def work(session: AsyncSession) -> None:
        contact = await lock_contact(
            session, ctx.viewer, contact_uuid, ["contactId"], need_edit=False
        )
        emails = await current_emails(session, contact)
        if not emails:
            raise fail(
                ["contactId"], UserErrorCode.REQUIRED, "The contact needs an email to be invited."
            )
        if contact.portal_access == PortalAccess.ACTIVE:
            raise fail(["contactId"], UserErrorCode.INVALID, "The contact already uses the portal.")
        resend = contact.portal_access == PortalAccess.INVITED
        invitation_id = models.new_id()
        session.add(
            models.OutboxEvent(
                firm_id=contact.firm_id,
                kind=INVITATION_KIND,
                recipient=emails[0],
                payload={
                    "invitationId": str(invitation_id),
                    "contactId": str(contact.id),
                    "name": contact_name(contact),
                    "resend": resend,
                    "invitedBy": str(ctx.viewer.user_id),
                },
            )
        )
        previous = contact.portal_access
        contact.portal_access = PortalAccess.INVITED.value
        history.record_change(
            session,
            ctx.viewer,
            contact,
            "contact.invitation_resent" if resend else "contact.invited",
            [
                history.Change("portalAccess", previous, PortalAccess.INVITED.value),
                history.Change("invitationEmail", None, emails[0]),
            ],
        )

    await ctx.write(work)
    return await ctx.loaders.contact.load(contact_uuid)


async def revoke_portal_access(ctx: Context, *, contact_id: str) -> ContactRow | None:
    require(ctx.viewer, Permission.DELETE_CLIENT_USERS)
    contact_uuid = parse_id(contact_id, "Contact", ["contactId"], CONTACT_NOUN)

    async def work(session: AsyncSession) -> None:
        contact = await lock_contact(
            session, ctx.viewer, contact_uuid, ["contactId"], need_edit=False
        )
        if contact.portal_access == PortalAccess.NONE:
            return
        previous = contact.portal_access
        contact.portal_access = PortalAccess.NONE.value
        history.record_change(
            session,
            ctx.viewer,
            contact,
            "contact.portal_access_revoked",
            [history.Change("portalAccess", previous, PortalAccess.NONE.value)],
        )

    await ctx.write(work)
    return await ctx.loaders.contact.load(contact_uuid)
