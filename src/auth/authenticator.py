"""Who a bearer token names, the same way for every transport (HTTP requests, websockets)."""

from __future__ import annotations

import time
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
from clientgraph.caches import BoundedLru
from clientgraph.db.engine import Database
from sqlalchemy.ext.asyncio import AsyncSession

Identity = Viewer | UserClaims | PortalClaims

RECOGNIZED_TOKENS = 1024
RECOGNIZED_BYTES = 1024 * 1024
"""Per worker: the user tokens whose signature was checked lately, with their claims. Checking
one (PyJWT reads it twice: unverified, to tell a portal token, then verified) cost more than
the rest of authenticating a request."""


class Authenticator:
    def __init__(
        self, db: Database, secret: str, oidc: OidcSignIn | None, callers: CallerCache
    ) -> None:
        self.db = db
        self.secret = secret
        self.oidc = oidc
        self.callers = callers
        self.recognized: BoundedLru[str, UserClaims] = BoundedLru(
            RECOGNIZED_TOKENS, RECOGNIZED_BYTES
        )

    async def identify(self, token: str, *, wait_s: float) -> tuple[str, Identity]:
        """(whose budget, who) of `token`; raises InvalidToken. The budget is the user's or
        the API key's, never the raw token's, so a user's fresh tokens share one.

        A user token's signature and expiry are checked without the database; its user is
        loaded later by `viewer`. An API key, or the user of an identity provider's token
        (auth/provider_tokens.py), is looked up now, in a short session of its own; the identity
        provider's keys are waited for within `wait_s`.

        A user token checked before is taken at its word until it expires: what its
        signature proves never changes under the same secret."""
        key = parse_key(token)
        known = self._recognized(token) if key is None else None
        if known is not None:
            return f"user:{known.user_id}", known
        if key is None and is_portal_token(token):
            portal = read_portal_token(self.secret, token)
            return f"portal:{portal.contact_id}", portal
        if key is None and self.oidc is not None and self.oidc.issued_by_provider(token):
            viewer = await self.oidc.viewer(token, wait_s=wait_s)
            return f"user:{viewer.user_id}", viewer
        if key is None:
            claims = read_claims(self.secret, token)
            self.recognized.put(token, claims, len(token))
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

    def _recognized(self, token: str) -> UserClaims | None:
        """The claims of a user token checked before, while it has not expired (PyJWT's rule:
        valid strictly before `exp`); its `iat` and `nbf`, if any, were past when checked."""
        known = self.recognized.get(token)
        if known is None or known.expires_at is None or time.time() >= known.expires_at:
            return None
        return known

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
