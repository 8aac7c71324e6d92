"""Portal tokens: what `POST /portal/login` gives a client contact, and how a request's portal
token becomes its Viewer.

A portal token is signed with the service's key like a user token, but for another audience
(`clientgraph-portal`) and with claims of its own (`contact`, `cred`). Each reader demands its
own audience and claims, so a portal token is never taken for a staff token, nor the reverse.
`cred` names the contact's credential: revoking portal access deletes it, and accepting a new
invitation makes a new one, so every token issued before stops working on its next request.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt
from clientgraph.auth.access_tokens import ALGORITHM
from clientgraph.auth.token_errors import PORTAL_TOKEN, Reason
from clientgraph.auth.viewer import Viewer, portal_viewer
from clientgraph.db import models
from clientgraph.resolvers.contacts import full_name
from clientgraph.resolvers.portal_sign_in import PortalClaims, live_credentials
from sqlalchemy.ext.asyncio import AsyncSession

PORTAL_AUDIENCE = "clientgraph-portal"


def issue_portal_token(secret: str, claims: PortalClaims, *, ttl_seconds: int) -> str:
    now = datetime.now(UTC)
    return jwt.encode(
        {
            "contact": str(claims.contact_id),
            "firm": str(claims.firm_id),
            "cred": str(claims.credential_id),
            "aud": PORTAL_AUDIENCE,
            "iat": now,
            "exp": now + timedelta(seconds=ttl_seconds),
        },
        secret,
        algorithm=ALGORITHM,
    )


def is_portal_token(token: str) -> bool:
    """Whether `token` claims to be a portal token: which reader to hand it to. The claim is
    read unverified; `read_portal_token` verifies everything."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return False
    return isinstance(claims, dict) and claims.get("aud") == PORTAL_AUDIENCE


def read_portal_token(secret: str, token: str) -> PortalClaims:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=PORTAL_AUDIENCE,
            options={"require": ["contact", "firm", "cred", "exp", "aud"]},
        )
        return PortalClaims(
            uuid.UUID(claims["contact"]), uuid.UUID(claims["firm"]), uuid.UUID(claims["cred"])
        )
    except (jwt.PyJWTError, ValueError, TypeError, AttributeError) as error:
        raise PORTAL_TOKEN.unreadable(error) from error


async def load_portal_viewer(session: AsyncSession, claims: PortalClaims) -> Viewer:
    """The contact behind a portal token, if it still exists, still has portal access, still
    holds the credential the token was issued for, and still has the address it signs in
    with."""
    contact, credential = models.Contact, models.PortalCredential
    found = (
        await session.execute(
            live_credentials(contact.first_name, contact.last_name).where(
                contact.firm_id == claims.firm_id,
                contact.id == claims.contact_id,
                credential.id == claims.credential_id,
            )
        )
    ).first()
    if found is None:
        raise PORTAL_TOKEN.refused(
            Reason.REVOKED,
            "no longer works, because portal access was revoked or given anew, the sign-in"
            " address removed, or the contact deleted",
            "sign in again at /portal/login, or ask the firm for a new invitation",
        )
    return portal_viewer(claims.firm_id, claims.contact_id, full_name(*found))
