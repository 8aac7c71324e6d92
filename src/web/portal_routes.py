"""The client portal's two routes without a bearer token: `POST /portal/accept` (an
invitation's token and a new password → 204) and `POST /portal/login` (e-mail and password →
a portal token). Answers other than success are JSON in the API's error shape, with
`extensions.reason` saying which problem it is where a client may want to tell them apart."""

from __future__ import annotations

import logging
from typing import Any

import orjson
import sqlalchemy.exc
from clientgraph.db.engine import Database, DatabaseUnavailable
from clientgraph.db.queries import fold
from clientgraph.ids import decode_id, encode_id
from clientgraph.passwords import WeakPassword, check_new_password
from clientgraph.portal_auth import issue_portal_token
from clientgraph.resolvers.portal_sign_in import (
    MAX_EMAIL_LENGTH,
    BadCredentials,
    InvitationRefused,
    SeveralFirms,
    accept_invitation,
    sign_in,
)
from clientgraph.settings import Settings
from clientgraph.web.body import read_body
from clientgraph.web.errors import HttpError
from clientgraph.web.graphql import POOL_RETRY_AFTER_S, _client_address, unavailable_response
from clientgraph.web.rate_limits import RateLimits
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

logger = logging.getLogger("clientgraph.portal")

MAX_BODY_BYTES = 16 * 1024
NO_STORE = {"Cache-Control": "no-store"}


def _answer(
    status: int,
    message: str,
    code: str,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}
    return Response(
        orjson.dumps(body),
        status_code=status,
        headers={**NO_STORE, **(headers or {})},
        media_type="application/json",
    )


def _bad_request(message: str, reason: str) -> Response:
    return _answer(400, message, "BAD_REQUEST", reason=reason)


async def _json_object(request: Request) -> dict[str, Any]:
    body = await read_body(request, MAX_BODY_BYTES)
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise HttpError(400, "The body must be a JSON object.") from error
    if not isinstance(parsed, dict):
        raise HttpError(400, "The body must be a JSON object.")
    return parsed


class PortalRoutes:
    def __init__(self, settings: Settings, db: Database, rate_limits: RateLimits) -> None:
        self.settings = settings
        self.db = db
        self.rate_limits = rate_limits
        self.secret = settings.signing_secret()

    def routes(self) -> list[Route]:
        return [
            Route("/portal/accept", self._guarded(self.accept), methods=["POST"]),
            Route("/portal/login", self._guarded(self.login), methods=["POST"]),
        ]

    def _guarded(self, handler: Any) -> Any:
        """`handler`, with the answers every route shares: its HttpErrors, and 503 while the
        database cannot be reached."""

        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except HttpError as error:
                return error.response()
            except DatabaseUnavailable as error:
                return unavailable_response(request, error)
            except sqlalchemy.exc.TimeoutError:
                return _answer(
                    503,
                    "The service is busy; retry shortly.",
                    "SERVICE_UNAVAILABLE",
                    {"Retry-After": str(POOL_RETRY_AFTER_S)},
                )

        return endpoint

    async def accept(self, request: Request) -> Response:
        address = _client_address(request)
        budget = await self.rate_limits.failed_auth_budget(address)
        if budget is not None and budget.spent:
            raise budget.exceeded("Too many failed authentications from this address.")
        body = await _json_object(request)
        token, password = body.get("token"), body.get("password")
        if not isinstance(token, str) or not token:
            return _bad_request("`token` (from the invitation link) is required.", "TOKEN_MISSING")
        try:
            check_new_password(password)
        except WeakPassword as error:
            return _bad_request(str(error), "WEAK_PASSWORD")
        assert isinstance(password, str)
        try:
            await accept_invitation(self.db, token=token, password=password)
        except InvitationRefused as refusal:
            if refusal.reason == "TOKEN_INVALID":
                await self.rate_limits.record_failed_auth(address)
            status = 409 if refusal.reason == "EMAIL_TAKEN" else 400
            code = "CONFLICT" if status == 409 else "BAD_REQUEST"
            return _answer(status, refusal.message, code, reason=refusal.reason)
        return Response(status_code=204, headers=NO_STORE)

    async def login(self, request: Request) -> Response:
        body = await _json_object(request)
        email, password, firm = body.get("email"), body.get("password"), body.get("firmId")
        if not isinstance(email, str) or not email.strip() or not isinstance(password, str):
            return _bad_request("`email` and `password` are required.", "CREDENTIALS_MISSING")
        firm_id = None
        if firm is not None:
            firm_id = decode_id(firm, "Firm") if isinstance(firm, str) else None
            if firm_id is None:
                return _bad_request("`firmId` is not the id of a firm.", "FIRM_ID_INVALID")
        throttle_key = f"{fold(email.strip())[:MAX_EMAIL_LENGTH]}|{_client_address(request)}"
        budget = await self.rate_limits.failed_portal_sign_in_budget(throttle_key)
        if budget is not None and budget.spent:
            raise budget.exceeded("Too many failed sign-ins for this e-mail address; retry later.")
        try:
            claims = await sign_in(self.db, email=email, password=password, firm_id=firm_id)
        except BadCredentials:
            await self.rate_limits.record_failed_portal_sign_in(throttle_key)
            return _answer(
                401,
                "Wrong e-mail address or password.",
                "UNAUTHENTICATED",
                {"WWW-Authenticate": "Bearer"},
            )
        except SeveralFirms as several:
            return _answer(
                409,
                "You are a client of several firms: sign in again with the `firmId` of one.",
                "CONFLICT",
                reason="SEVERAL_FIRMS",
                firms=[
                    {"id": encode_id("Firm", choice.id), "name": choice.name}
                    for choice in several.firms
                ],
            )
        ttl = self.settings.portal_token_ttl_seconds
        token = issue_portal_token(self.secret, claims, ttl_seconds=ttl)
        return Response(
            orjson.dumps({"accessToken": token, "tokenType": "Bearer", "expiresIn": ttl}),
            headers=NO_STORE,
            media_type="application/json",
        )
