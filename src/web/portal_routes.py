"""The client portal's two routes without a bearer token: `POST /portal/accept` (an
invitation's token and a new password → 204) and `POST /portal/login` (e-mail and password →
a portal token). Answers other than success are JSON in the API's error shape, with
`extensions.reason` saying which problem it is where a client may want to tell them apart."""

from __future__ import annotations

from typing import Any

import orjson
from clientgraph import passwords
from clientgraph.auth.portal_tokens import issue_portal_token
from clientgraph.db.engine import Database
from clientgraph.db.queries import fold
from clientgraph.db.readiness import Readiness
from clientgraph.ids import decode_id, encode_id
from clientgraph.resolvers.portal_sign_in import (
    MAX_EMAIL_LENGTH,
    BadCredentials,
    InvitationRefused,
    SeveralFirms,
    accept_invitation,
    sign_in,
)
from clientgraph.settings import Settings
from clientgraph.web.body import read_json_object
from clientgraph.web.errors import HttpError
from clientgraph.web.graphql import client_address
from clientgraph.web.rate_limits import RateLimits
from clientgraph.web.sign_in_routes import (
    NO_STORE,
    check_address,
    check_sign_in,
    guarded,
    wrong_password,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

MAX_BODY_BYTES = 16 * 1024
WRONG_CREDENTIALS = "Wrong e-mail address or password."
THROTTLE_PREFIX = "portal:"
"""Failed portal sign-ins are counted apart from staff ones for the same address."""


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise HttpError(
            400, f"`{name}` must be a non-empty string.", extensions={"reason": "MISSING"}
        )
    if "\x00" in value:
        raise HttpError(400, f"`{name}` may not contain NUL characters.")
    return value


class PortalRoutes:
    def __init__(
        self, settings: Settings, db: Database, rate_limits: RateLimits, readiness: Readiness
    ) -> None:
        self.settings = settings
        self.db = db
        self.rate_limits = rate_limits
        self.readiness = readiness
        self.secret = settings.signing_secret()

    def routes(self) -> list[Route]:
        return [
            Route("/portal/accept", guarded(self.readiness, self.accept), methods=["POST"]),
            Route("/portal/login", guarded(self.readiness, self.login), methods=["POST"]),
        ]

    async def accept(self, request: Request) -> Response:
        address = client_address(request)
        body = await read_json_object(request, MAX_BODY_BYTES)
        token, password = _text(body, "token"), _text(body, "password")
        await check_address(self.rate_limits, address)
        try:
            await accept_invitation(self.db, token=token, password=password)
        except passwords.PasswordRejected as rejected:
            raise HttpError(400, str(rejected), extensions={"reason": rejected.reason}) from None
        except InvitationRefused as refusal:
            if refusal.reason == "TOKEN_INVALID":
                await self.rate_limits.record_failed_auth(address)
            status = 409 if refusal.reason == "EMAIL_TAKEN" else 400
            raise HttpError(
                status, refusal.message, extensions={"reason": refusal.reason}
            ) from None
        return Response(status_code=204, headers=NO_STORE)

    async def login(self, request: Request) -> Response:
        address = client_address(request)
        body = await read_json_object(request, MAX_BODY_BYTES)
        email, password = _text(body, "email"), _text(body, "password")
        firm = body.get("firmId")
        firm_id = None
        if firm is not None:
            firm_id = decode_id(firm, "Firm") if isinstance(firm, str) else None
            if firm_id is None:
                raise HttpError(400, "`firmId` is not the id of a firm.")
        await check_address(self.rate_limits, address)
        who = THROTTLE_PREFIX + fold(email.strip())[:MAX_EMAIL_LENGTH]
        await check_sign_in(self.rate_limits.sign_ins, who, address)
        try:
            claims = await sign_in(self.db, email=email, password=password, firm_id=firm_id)
        except BadCredentials:
            raise await wrong_password(
                self.rate_limits, who, address, WRONG_CREDENTIALS, {"WWW-Authenticate": "Bearer"}
            ) from None
        except SeveralFirms as several:
            firms = [{"id": encode_id("Firm", f.id), "name": f.name} for f in several.firms]
            raise HttpError(
                409,
                "You are a client of several firms: sign in again with the `firmId` of one.",
                extensions={"reason": "SEVERAL_FIRMS", "firms": firms},
            ) from None
        await self.rate_limits.sign_ins.succeeded(who, address)
        ttl = self.settings.portal_token_ttl_seconds
        token = issue_portal_token(self.secret, claims, ttl_seconds=ttl)
        return Response(
            orjson.dumps({"accessToken": token, "tokenType": "Bearer", "expiresIn": ttl}),
            headers=NO_STORE,
            media_type="application/json",
        )
