"""Who a bearer token names, the same way for every transport (HTTP requests, websockets)."""

from __future__ import annotations

from clientgraph.auth.access_tokens import UserClaims, load_viewer, read_claims, viewer_for_key
from clientgraph.auth.api_keys import parse_key
from clientgraph.auth.portal_tokens import (
    PortalClaims,
    is_portal_token,
    load_portal_viewer,
    read_portal_token,
)
from clientgraph.auth.provider_tokens import OidcSignIn
from clientgraph.auth.user_cache import UserCache
from clientgraph.auth.viewer import Viewer
from clientgraph.db.engine import Database
from sqlalchemy.ext.asyncio import AsyncSession

Identity = Viewer | UserClaims | PortalClaims


class Authenticator:
    def __init__(
        self, db: Database, secret: str, oidc: OidcSignIn | None, users: UserCache
    ) -> None:
        self.db = db
        self.secret = secret
        self.oidc = oidc
        self.users = users

    async def identify(self, token: str, *, wait_s: float) -> tuple[str, Identity]:
        """(whose budget, who) of `token`; raises InvalidToken. The budget is the user's or
        the API key's, never the raw token's, so a user's fresh tokens share one.

        A user token's signature and expiry are checked without the database; its user is
        loaded later by `viewer`. An API key, or the user of an identity provider's token
        (auth/provider_tokens.py), is looked up now, in a short session of its own; the identity
        provider's keys are waited for within `wait_s`."""
        key = parse_key(token)
        if key is None and is_portal_token(token):
            portal = read_portal_token(self.secret, token)
            return f"portal:{portal.contact_id}", portal
        if key is None and self.oidc is not None and self.oidc.issued_by_provider(token):
            viewer = await self.oidc.viewer(token, wait_s=wait_s)
            return f"user:{viewer.user_id}", viewer
        if key is None:
            claims = read_claims(self.secret, token)
            return f"user:{claims.user_id}", claims
        async with self.db.read_sessions() as session:
            viewer = await self.db.read(session, lambda s: viewer_for_key(s, key[0], token))
        return f"key:{key[0]}", viewer

    async def viewer(self, who: Identity, session: AsyncSession) -> Viewer:
        """The caller, loaded through `session` when only the token's claims are known: the
        user may have been deleted or deactivated, or the contact's portal access revoked,
        since the token was signed (a user is read from `users`, the process's cache, while
        it is sure to hear of changes). Raises InvalidToken."""
        if isinstance(who, Viewer):
            return who
        if isinstance(who, PortalClaims):
            return await self.db.read(session, lambda s: load_portal_viewer(s, who))
        known = self.users.get(who.user_id, who.firm_id, who.session_id)
        if known is not None:
            return known
        mark = self.users.mark()
        viewer = await self.db.read(
            session,
            lambda s: load_viewer(s, who.user_id, who.firm_id, session_id=who.session_id),
        )
        self.users.keep(viewer, mark)
        return viewer
