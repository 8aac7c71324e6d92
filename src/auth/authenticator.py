"""Who a bearer token names, the same way for every transport (HTTP requests, websockets)."""

from __future__ import annotations

import uuid

from clientgraph.auth.access_tokens import UserClaims, caller_of_key, load_viewer, read_claims
from clientgraph.auth.api_keys import KeyCaller, mark_used, parse_key, use_is_recorded
from clientgraph.auth.caller_cache import CallerCache
from clientgraph.auth.portal_tokens import (
    PortalClaims,
    is_portal_token,
    load_portal_viewer,
    read_portal_token,
)
from clientgraph.auth.provider_tokens import OidcSignIn
from clientgraph.auth.viewer import Viewer
from clientgraph.db.engine import Database
from sqlalchemy.ext.asyncio import AsyncSession

Identity = Viewer | UserClaims | PortalClaims


class Authenticator:
    def __init__(
        self, db: Database, secret: str, oidc: OidcSignIn | None, callers: CallerCache
    ) -> None:
        self.db = db
        self.secret = secret
        self.oidc = oidc
        self.callers = callers

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
        key_id, secret = key
        return f"key:{key_id}", (await self._key_caller(key_id, secret, token)).viewer

    async def _key_caller(self, key_id: uuid.UUID, secret: str, token: str) -> KeyCaller:
        """The caller of a key: kept by this process (its use recorded once a minute, in a
        short transaction), or looked up in one."""
        mark = self.callers.mark()
        kept = self.callers.key(key_id, secret)
        if kept is not None and use_is_recorded(kept.key):
            return kept
        if kept is not None:
            async with self.db.firm_session(kept.key.firm_id) as session:
                used = await self.db.read(session, lambda s: mark_used(s, kept.key))
            caller = KeyCaller(used, kept.viewer)
        else:
            async with self.db.read_sessions() as session:
                caller = await self.db.read(session, lambda s: caller_of_key(s, key_id, token))
        self.callers.keep_key(caller, mark)
        return caller

    async def viewer(self, who: Identity, session: AsyncSession) -> Viewer:
        """The caller, loaded through `session` when only the token's claims are known: the
        user may have been deleted or deactivated, or the contact's portal access revoked,
        since the token was signed (or kept by this process while it is sure to hear of
        changes: `callers`). Raises InvalidToken."""
        if isinstance(who, Viewer):
            return who
        if isinstance(who, PortalClaims):
            return await self.db.read(session, lambda s: load_portal_viewer(s, who))
        known = self.callers.user(who.user_id, who.firm_id, who.session_id)
        if known is not None:
            return known
        mark = self.callers.mark()
        viewer = await self.db.read(
            session,
            lambda s: load_viewer(s, who.user_id, who.firm_id, session_id=who.session_id),
        )
        self.callers.keep_user(viewer, mark)
        return viewer
