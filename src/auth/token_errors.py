"""Why a credential is refused, in words a person can act on (API.md §3): a `reason` a client
can branch on, and a message that says what is wrong and what to do.

Every reader of a bearer credential — user access tokens (access_tokens.py), portal tokens
(portal_tokens.py), partner API keys (api_keys.py), identity-provider tokens
(provider_tokens.py) — and of a refresh token refuses it through a `Credential` of this
module, and PyJWT's verdicts are translated here, once: no library's wording reaches a client."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import jwt


class Reason(StrEnum):
    """`extensions.reason` of a 401: what is wrong with the credential sent."""

    MISSING = "MISSING"
    """No credential was sent."""
    MALFORMED = "MALFORMED"
    """Not a credential this service accepts as sent: not well-formed, a signature or secret
    that does not match, a claim missing or of the wrong form, not valid yet."""
    EXPIRED = "EXPIRED"
    """Past its expiry: renew it."""
    REVOKED = "REVOKED"
    """Well-formed and current, but what it stood for is gone: revoked, signed out, replaced,
    or its user or contact deleted or deactivated."""
    WRONG_AUDIENCE = "WRONG_AUDIENCE"
    """A valid token, but issued for another audience than this API."""
    WRONG_CREDENTIALS = "WRONG_CREDENTIALS"
    """A sign-in's e-mail and password do not match (/auth/login, /portal/login)."""


class InvalidToken(Exception):
    """A credential refused: `reason` for programs, the message (str) for people."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class Credential:
    """One kind of credential: what it is called and what its holder does to get a good one."""

    name: str
    when_expired: str
    """What to do once it has expired."""
    otherwise: str
    """What to do when it is refused for another reason (unless the refusal says better)."""

    def refused(self, reason: Reason, problem: str, action: str | None = None) -> InvalidToken:
        """ "The <name> <problem>: <action>." with the action this reason calls for, unless
        `action` says better."""
        if action is None:
            action = self.when_expired if reason is Reason.EXPIRED else self.otherwise
        return InvalidToken(reason, f"The {self.name} {problem}: {action}.")

    def unreadable(self, error: Exception) -> InvalidToken:
        """PyJWT's refusal of a token of this kind (or a claim that is not of the form it must
        have), in this module's words."""
        match error:
            case jwt.ExpiredSignatureError():
                return self.refused(Reason.EXPIRED, "has expired")
            case jwt.ImmatureSignatureError():
                return self.refused(
                    Reason.MALFORMED,
                    "is not valid yet (it says it was issued, or becomes valid, in the future;"
                    " the issuer's clock may be ahead)",
                )
            case jwt.InvalidAudienceError():
                return self.refused(Reason.WRONG_AUDIENCE, "was issued for another audience")
            case jwt.MissingRequiredClaimError():
                return self.refused(Reason.MALFORMED, f"lacks the `{error.claim}` claim")
            case jwt.InvalidSignatureError():
                return self.refused(
                    Reason.MALFORMED,
                    "does not carry a valid signature (it was not signed with the issuer's key,"
                    " or it was altered)",
                )
            case jwt.InvalidAlgorithmError():
                return self.refused(
                    Reason.MALFORMED, "is signed with an algorithm this service does not accept"
                )
            case jwt.InvalidIssuerError():
                return self.refused(Reason.MALFORMED, "names another issuer")
            case jwt.InvalidTokenError() if not isinstance(error, jwt.DecodeError):
                return self.refused(Reason.MALFORMED, "carries a claim that is not valid")
            case jwt.PyJWTError():
                return self.refused(
                    Reason.MALFORMED, "is malformed (check that it was copied whole)"
                )
            case _:
                return self.refused(
                    Reason.MALFORMED, "carries a claim that is not of the form it must have"
                )


ACCESS_TOKEN = Credential(
    "access token",
    when_expired="refresh it at /auth/refresh or sign in again",
    otherwise="sign in again at /auth/login for a new one",
)
PORTAL_TOKEN = Credential(
    "portal token",
    when_expired="sign in again at /portal/login",
    otherwise="sign in again at /portal/login for a new one",
)
PROVIDER_TOKEN = Credential(
    "identity provider's token",
    when_expired="get a new one from your identity provider",
    otherwise="sign in at your identity provider again for a new one",
)
API_KEY = Credential(
    "API key",
    when_expired="ask an administrator of your firm for a new key",
    otherwise="check that it was copied whole, or ask an administrator of your firm for a new key",
)
REFRESH_TOKEN = Credential(
    "refresh token",
    when_expired="sign in again at /auth/login",
    otherwise="sign in again at /auth/login",
)


def missing() -> InvalidToken:
    return InvalidToken(
        Reason.MISSING,
        "No access token was sent: send `Authorization: Bearer <token>` with an access token"
        " (sign in at /auth/login) or an API key.",
    )


def not_bearer() -> InvalidToken:
    return InvalidToken(
        Reason.MALFORMED,
        "The Authorization header is not of the form `Bearer <token>`: send the access token"
        " or API key as `Authorization: Bearer <token>`.",
    )
