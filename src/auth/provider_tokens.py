"""Single sign-on: bearer JWTs of the configured OIDC identity provider
(`CLIENTGRAPH_OIDC_ISSUER`, `CLIENTGRAPH_OIDC_AUDIENCE`).

A token is the provider's when its (unverified) `iss` names the provider; everything else is
left to our own tokens, which carry no `iss`. A provider's token must then be signed with
RS256 or ES256 by a key of the provider's JWKS (never HS256 or `none`, so the provider's
public key cannot be turned into a shared secret), be for our audience, and be current
(`exp`, `nbf`, `iat`, with `CLIENTGRAPH_OIDC_LEEWAY_S` for clock skew). Its `email` claim,
verified when the provider says whether it is (`email_verified`), picks the user; a `firm`
claim (the firm's id) picks the firm when the e-mail is a user in several.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from clientgraph.auth.provider_identity import viewer_for_email
from clientgraph.auth.provider_keys import (
    ACCEPTED_ALGORITHMS,
    KeysUnavailable,
    ProviderKeys,
    is_trusted_url,
)
from clientgraph.auth.token_errors import PROVIDER_TOKEN, Reason
from clientgraph.auth.viewer import Viewer
from clientgraph.db.engine import Database
from clientgraph.ids import decode_id
from clientgraph.settings import Settings

MAX_EMAIL_LENGTH = 320
KEYS_RETRY_AFTER_S = 5


class ProviderUnavailable(Exception):
    """The provider's signing keys cannot be had now: the request may be sent again shortly
    (the web layer answers 503 with `Retry-After: retry_after_s`)."""

    retry_after_s = KEYS_RETRY_AFTER_S


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a verified provider token says the caller is."""

    email: str
    firm_id: uuid.UUID | None


class OidcSignIn:
    def __init__(self, settings: Settings, db: Database) -> None:
        assert settings.oidc_issuer and settings.oidc_audience
        for name, url in (("ISSUER", settings.oidc_issuer), ("JWKS_URL", settings.oidc_jwks_url)):
            if url is not None and not is_trusted_url(url):
                raise ValueError(f"CLIENTGRAPH_OIDC_{name} must be an https:// URL, not {url!r}")
        self.issuer = settings.oidc_issuer
        self.audience = settings.oidc_audience
        self.leeway_s = settings.oidc_leeway_s
        self.db = db
        self.keys = ProviderKeys(
            issuer=self.issuer,
            jwks_url=settings.oidc_jwks_url,
            timeout_s=settings.oidc_http_timeout_s,
            max_age_s=settings.oidc_jwks_max_age_s,
            min_refresh_interval_s=settings.oidc_jwks_min_refresh_interval_s,
        )

    @classmethod
    def configured(cls, settings: Settings, db: Database) -> OidcSignIn | None:
        return cls(settings, db) if settings.oidc_issuer else None

    def issued_by_provider(self, token: str) -> bool:
        """Whether `token` claims to come from the provider (nothing is verified yet)."""
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return False
        return claims.get("iss") == self.issuer

    async def viewer(self, token: str, *, wait_s: float) -> Viewer:
        """The user a provider token signs in, loaded in a short session of its own; waiting
        at most `wait_s` for the provider's keys (the rest of the request's deadline)."""
        identity = await self.identity(token, wait_s=wait_s)
        async with self.db.read_sessions() as session:
            return await self.db.read(
                session, lambda s: viewer_for_email(s, identity.email, identity.firm_id)
            )

    async def identity(self, token: str, *, wait_s: float) -> Identity:
        return _identity_claims(await self._verified_claims(token, wait_s))

    async def _verified_claims(self, token: str, wait_s: float) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise PROVIDER_TOKEN.unreadable(error) from error
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm not in ACCEPTED_ALGORITHMS:
            raise PROVIDER_TOKEN.refused(
                Reason.MALFORMED,
                "must be signed with RS256 or ES256",
                "have your identity provider sign its tokens with one of them",
            )
        if not isinstance(kid, str | None):
            raise PROVIDER_TOKEN.refused(Reason.MALFORMED, "has a key id (`kid`) that is no string")
        try:
            key = await self.keys.key(kid, wait_s=wait_s)
        except KeysUnavailable as error:
            raise ProviderUnavailable(
                "The identity provider's signing keys cannot be fetched; retry shortly."
            ) from error
        if key is None:
            raise PROVIDER_TOKEN.refused(
                Reason.MALFORMED, "is signed with a key the identity provider does not publish"
            )
        try:
            return jwt.decode(
                token,
                key,
                algorithms=list(ACCEPTED_ALGORITHMS),
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={
                    "require": ["iss", "aud", "exp", "iat"],
                    "enforce_minimum_key_length": True,
                },
            )
        except jwt.InvalidAudienceError as error:
            raise PROVIDER_TOKEN.refused(
                Reason.WRONG_AUDIENCE,
                "was issued for another audience",
                f"ask your identity provider for a token whose audience (`aud`) is"
                f" `{self.audience}`",
            ) from error
        except jwt.PyJWTError as error:
            raise PROVIDER_TOKEN.unreadable(error) from error


def _identity_claims(claims: dict[str, Any]) -> Identity:
    email = claims.get("email")
    if not isinstance(email, str) or not email.strip() or len(email) > MAX_EMAIL_LENGTH:
        raise PROVIDER_TOKEN.refused(
            Reason.MALFORMED,
            "carries no usable `email` claim",
            "have your identity provider put the user's e-mail in the token",
        )
    # Some providers (Amazon Cognito) send the boolean as a string.
    if "email_verified" in claims and claims["email_verified"] not in (True, "true"):
        raise PROVIDER_TOKEN.refused(
            Reason.MALFORMED,
            "carries an e-mail the identity provider has not verified",
            "verify the e-mail address at your identity provider",
        )
    return Identity(email=email, firm_id=_firm_id(claims.get("firm")))


def _firm_id(claim: object) -> uuid.UUID | None:
    """The firm's id, as `clientgraph create-firm` prints it or as the API's global id."""
    if claim is None:
        return None
    if isinstance(claim, str):
        firm_id = decode_id(claim, "Firm")
        if firm_id is not None:
            return firm_id
        try:
            return uuid.UUID(claim)
        except ValueError:
            pass
    raise PROVIDER_TOKEN.refused(
        Reason.MALFORMED,
        "has a `firm` claim that is not the id of a firm",
        "have your identity provider put the firm's id in it",
    )
