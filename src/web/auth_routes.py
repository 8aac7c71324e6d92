"""Staff sign-in over HTTP (API.md §8): /auth/login, /auth/refresh, /auth/logout and
/auth/set-password. Bodies are small JSON objects; answers are JSON (errors in the shape of
`clientgraph.web.errors`), and token answers are never cached.

The refresh token travels in the body or in an `HttpOnly; Secure; SameSite=Strict` cookie on
`/auth`, which scripts cannot read and other sites cannot make a browser send."""

from __future__ import annotations

from typing import Any

import orjson
from clientgraph import passwords
from clientgraph.auth.access_tokens import issue_token
from clientgraph.auth.token_errors import InvalidToken, Reason
from clientgraph.db.engine import Database
from clientgraph.db.queries import fold
from clientgraph.db.readiness import Readiness
from clientgraph.ids import decode_id, encode_id
from clientgraph.resolvers import credentials, sign_in
from clientgraph.settings import Settings
from clientgraph.web.body import read_json_object
from clientgraph.web.errors import HttpError, error_response
from clientgraph.web.graphql import client_address
from clientgraph.web.origins import OriginCheck
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

COOKIE = "clientgraph_refresh"
COOKIE_PATH = "/auth"
MAX_BODY_BYTES = 8 * 1024
"""A sign-in body holds an e-mail, a password (at most passwords.MAX_LENGTH characters) and a
token or two."""
WRONG_CREDENTIALS = "Wrong e-mail or password."


def _text(body: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise HttpError(400, f"`{name}` must be a non-empty string.")
    if "\x00" in value:
        raise HttpError(400, f"`{name}` may not contain NUL characters.")
    return value


class AuthRoutes:
    def __init__(
        self, settings: Settings, db: Database, rate_limits: RateLimits, readiness: Readiness
    ) -> None:
        self.settings = settings
        self.db = db
        self.rate_limits = rate_limits
        self.readiness = readiness
        self.secret = settings.signing_secret()
        self.origins = OriginCheck(settings.cors_origin_list())
        self.lifetimes = sign_in.Lifetimes(
            refresh_s=settings.refresh_token_ttl_s, session_s=settings.sign_in_session_ttl_s
        )

    def routes(self) -> list[Route]:
        handlers = {
            "/auth/login": self.login,
            "/auth/refresh": self.refresh,
            "/auth/logout": self.logout,
            "/auth/set-password": self.set_password,
        }
        return [
            Route(path, guarded(self.readiness, self.origins.guarding(handler)), methods=["POST"])
            for path, handler in handlers.items()
        ]

    async def _body(self, request: Request) -> dict[str, Any]:
        return await read_json_object(request, MAX_BODY_BYTES)

    async def _failed(self, address: str) -> None:
        await self.rate_limits.record_failed_auth(address)

    def _tokens(self, issued: sign_in.Issued) -> Response:
        ttl = self.settings.access_token_ttl_s
        access = issue_token(
            self.secret,
            user_id=issued.user_id,
            firm_id=issued.firm_id,
            ttl_seconds=ttl,
            session_id=issued.family_id,
        )
        body = {"accessToken": access, "expiresIn": ttl, "refreshToken": issued.refresh_token}
        response = Response(orjson.dumps(body), media_type="application/json", headers=NO_STORE)
        response.set_cookie(
            COOKIE,
            issued.refresh_token,
            max_age=self.settings.refresh_token_ttl_s,
            path=COOKIE_PATH,
            secure=True,
            httponly=True,
            samesite="strict",
        )
        return response

    def _refresh_token(self, request: Request, body: dict[str, Any]) -> str | None:
        given = _text(body, "refreshToken", required=False)
        return given if given is not None else request.cookies.get(COOKIE)

    async def login(self, request: Request) -> Response:
        address = client_address(request)
        body = await self._body(request)
        email = _text(body, "email")
        password = _text(body, "password")
        assert email is not None and password is not None
        firm = _text(body, "firmId", required=False)
        firm_id = decode_id(firm, "Firm") if firm is not None else None
        if firm is not None and firm_id is None:
            raise HttpError(400, "`firmId` is not the id of a firm.")
        await check_address(self.rate_limits, address)
        who = fold(email.strip())
        await check_sign_in(self.rate_limits.sign_ins, who, address)
        try:
            issued = await sign_in.sign_in(
                self.db, email=email, password=password, firm_id=firm_id, lifetimes=self.lifetimes
            )
        except sign_in.SignInFailed:
            raise await wrong_password(self.rate_limits, who, address, WRONG_CREDENTIALS) from None
        except sign_in.FirmRequired as choice:
            firms = [{"id": encode_id("Firm", f.id), "name": f.name} for f in choice.firms]
            raise HttpError(409, str(choice), extensions={"firms": firms}) from None
        await self.rate_limits.sign_ins.succeeded(who, address)
        return self._tokens(issued)

    async def refresh(self, request: Request) -> Response:
        address = client_address(request)
        body = await self._body(request)
        token = self._refresh_token(request, body)
        await check_address(self.rate_limits, address)
        if token is None:
            raise HttpError(
                401,
                "No refresh token was sent: send `refreshToken` in the body (or, in a browser,"
                " the cookie), or sign in again at /auth/login.",
                extensions={"reason": Reason.MISSING},
            )
        try:
            issued = await sign_in.refresh(self.db, token, lifetimes=self.lifetimes)
        except InvalidToken as error:
            await self._failed(address)
            response = error_response(401, error.message, extensions={"reason": error.reason})
            response.delete_cookie(
                COOKIE, path=COOKIE_PATH, secure=True, httponly=True, samesite="strict"
            )
            return response
        return self._tokens(issued)

    async def logout(self, request: Request) -> Response:
        body = await self._body(request)
        token = self._refresh_token(request, body)
        if token is not None:
            await sign_in.sign_out(self.db, token)
        response = Response(status_code=204, headers=NO_STORE)
        response.delete_cookie(
            COOKIE, path=COOKIE_PATH, secure=True, httponly=True, samesite="strict"
        )
        return response

    async def set_password(self, request: Request) -> Response:
        """204; with `"signIn": true`, the tokens of a new sign-in as `/auth/login` answers
        them (the page the e-mailed link opens goes on to GraphiQL signed in)."""
        address = client_address(request)
        body = await self._body(request)
        token = _text(body, "token")
        password = _text(body, "password")
        assert token is not None and password is not None
        sign_in_too = body.get("signIn", False)
        if not isinstance(sign_in_too, bool):
            raise HttpError(400, "`signIn` must be true or false.")
        await check_address(self.rate_limits, address)
        try:
            issued = await credentials.set_password_with_link(
                self.db,
                self.secret,
                token,
                password,
                sign_in_for=self.lifetimes if sign_in_too else None,
            )
        except passwords.PasswordRejected as rejected:
            raise HttpError(400, str(rejected), extensions={"reason": rejected.reason}) from None
        except credentials.InvalidLink as refusal:
            await self._failed(address)
            raise HttpError(
                400, refusal.message, extensions={"reason": "INVALID_LINK", "link": refusal.state}
            ) from None
        return self._tokens(issued) if issued else Response(status_code=204, headers=NO_STORE)
