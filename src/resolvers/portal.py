"""Client-portal access of contacts (seeds 002, 004): invitations, resent on request, and
revocation. An invitation is a one-time link (resolvers.portal_invitations) e-mailed through
an outbox message written in the same transaction; delivering it is the outbox relay's job.
Accepting it and signing in are resolvers.portal_sign_in's."""

from __future__ import annotations

from clientgraph import links
from clientgraph.db import models
from clientgraph.db.queries import fold
from clientgraph.db.rows import ContactRow
from clientgraph.outbox.emails import INVITATION_KIND
from clientgraph.outbox.queue import enqueue
from clientgraph.resolvers import history, portal_invitations
from clientgraph.resolvers.contacts import CONTACT_NOUN, contact_name, current_emails
from clientgraph.resolvers.context import Context
from clientgraph.resolvers.enums import Permission, PortalAccess, UserErrorCode
from clientgraph.resolvers.errors import fail
from clientgraph.resolvers.guards import lock_contact
from clientgraph.resolvers.inputs import parse_id
from clientgraph.resolvers.policy import require
from clientgraph.resolvers.read_model import CONTACTS
from clientgraph.resolvers.users import clean_email
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession


async def _invitee(session: AsyncSession, contact: models.Contact, email: str | None) -> str:
    """The address to invite: `email` if it is one of the contact's, else the primary one."""
    emails = await current_emails(session, contact)
    if email is None:
        if not emails:
            raise fail(
                ["contactId"], UserErrorCode.REQUIRED, "The contact needs an email to be invited."
            )
        return emails[0]
    wanted = fold(clean_email(email, ["email"]))
    for address in emails:
        if fold(address) == wanted:
            return address
    raise fail(["email"], UserErrorCode.INVALID, "This is not one of the contact's emails.")


async def _require_address_free(session: AsyncSession, contact: models.Contact, email: str) -> None:
    """An address signs in to at most one contact of a firm."""
    credential = models.PortalCredential
    holder = await session.scalar(
        select(credential.contact_id).where(
            credential.firm_id == contact.firm_id,
            credential.email_folded == fold(email),
            credential.contact_id != contact.id,
        )
    )
    if holder is not None:
        raise fail(
            ["email"],
            UserErrorCode.TAKEN,
            "Another contact of the firm signs in to the portal with this email.",
        )


async def invite_contact(
    ctx: Context, *, contact_id: str, email: str | None = None
) -> ContactRow | None:
    """Invite to the client portal (NONE → INVITED); again while INVITED is a resend, which
    voids the link sent before. The e-mail goes to `email` (one of the contact's) or to the
    primary address, and carries a one-time link; it is an outbox message written in the same
    transaction."""
    require(ctx.viewer, Permission.CREATE_CLIENT_USERS)
    contact_uuid = parse_id(contact_id, "Contact", ["contactId"], CONTACT_NOUN)

    async def work(session: AsyncSession) -> None:
        contact = await lock_contact(
            session, ctx.viewer, contact_uuid, ["contactId"], need_edit=False
        )
        address = await _invitee(session, contact, email)
        if contact.portal_access == PortalAccess.ACTIVE:
            raise fail(["contactId"], UserErrorCode.INVALID, "The contact already uses the portal.")
        await _require_address_free(session, contact, address)
        resend = contact.portal_access == PortalAccess.INVITED
        invitation, token = await portal_invitations.new_invitation(
            session, contact, address, invited_by=ctx.viewer.actor_id, now=models.utcnow()
        )
        enqueue(
            session,
            firm_id=contact.firm_id,
            kind=INVITATION_KIND,
            recipient=address,
            payload={
                "invitationId": str(invitation.id),
                "contactId": str(contact.id),
                "name": contact_name(contact),
                "resend": resend,
                "invitedBy": str(ctx.viewer.user_id),
                "token": token,
                **({links.SERVER_URL_KEY: ctx.server_url} if ctx.server_url else {}),
            },
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
                history.Change("invitationEmail", None, address),
            ],
        )

    await ctx.write(work)
    return await ctx.loaders.of(CONTACTS).load(contact_uuid)


async def revoke_portal_access(ctx: Context, *, contact_id: str) -> ContactRow | None:
    """Take back an invitation (its link stops working) or portal access (the contact's
    credential is deleted, so their tokens stop working on their next request)."""
    require(ctx.viewer, Permission.DELETE_CLIENT_USERS)
    contact_uuid = parse_id(contact_id, "Contact", ["contactId"], CONTACT_NOUN)

    async def work(session: AsyncSession) -> None:
        contact = await lock_contact(
            session, ctx.viewer, contact_uuid, ["contactId"], need_edit=False
        )
        await portal_invitations.void_pending(session, contact, now=models.utcnow())
        await session.execute(
            delete(models.PortalCredential).where(
                models.PortalCredential.firm_id == contact.firm_id,
                models.PortalCredential.contact_id == contact.id,
            )
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
    return await ctx.loaders.of(CONTACTS).load(contact_uuid)
