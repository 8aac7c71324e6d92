"""The secret part of a set-password link: the id of its `password_tokens` row and an
HMAC-SHA256 of that id under the server's secret (`CLIENTGRAPH_SECRET`). The relay signs it when
it renders the e-mail (outbox.render); resolvers.credentials reads it back when the link is
used. Nothing here reads the database."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

LINK_CONTEXT = b"clientgraph/set-password-link/"


def link_mac(secret: str, token_id: uuid.UUID) -> str:
    digest = hmac.new(secret.encode(), LINK_CONTEXT + token_id.bytes, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def link_token(secret: str, token_id: uuid.UUID) -> str:
    """The secret part of the link for `password_tokens` row `token_id`."""
    return f"{token_id.hex}.{link_mac(secret, token_id)}"


def signed_token_id(secret: str, token: str) -> uuid.UUID | None:
    """The row id a link token names, if this server signed it."""
    id_part, _, mac = token.partition(".")
    try:
        token_id = uuid.UUID(hex=id_part)
    except ValueError:
        return None
    if not hmac.compare_digest(mac.encode(), link_mac(secret, token_id).encode()):
        return None
    return token_id
