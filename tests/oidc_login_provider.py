"""An OpenID Connect provider that signs a person in, for GraphiQL's browser tests: a real HTTP
server on 127.0.0.1 (in a thread) with a discovery document, a JWKS, an authorization endpoint
that signs in `person` at once (or refuses when there is none) and redirects back with a code,
and a token endpoint (callable from the page: CORS) that checks the code's PKCE verifier and
answers ID tokens signed with an RSA key made here, and refresh tokens that rotate."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.server
import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import jwt

from tests.oidc_provider import SigningKey

CLIENT_ID = "clientgraph-graphiql"


@dataclass(frozen=True)
class Grant:
    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str | None
    email: str


@dataclass
class LoginProvider:
    issuer: str = ""
    key: SigningKey = field(default_factory=lambda: SigningKey.new("RS256"))
    person: str | None = None
    """The e-mail of whoever signs in at the authorization endpoint; None refuses."""
    token_lifetime_s: int = 300
    gives_refresh_tokens: bool = False
    authorizations: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    _codes: dict[str, Grant] = field(default_factory=dict)
    _refresh_tokens: dict[str, str] = field(default_factory=dict)

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "jwks_uri": f"{self.issuer}/jwks",
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
        }

    def authorize(self, query: dict[str, str]) -> str:
        """Where the browser goes next: back to the client with a code or an error."""
        self.authorizations.append(query)
        answer: dict[str, str] = {"state": query.get("state", "")}
        if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
            answer |= {"error": "unauthorized_client"}
        elif query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            answer |= {"error": "invalid_request", "error_description": "PKCE S256 required"}
        elif self.person is None:
            answer |= {"error": "access_denied", "error_description": "The person said no."}
        else:
            code = secrets.token_urlsafe(24)
            self._codes[code] = Grant(
                client_id=query["client_id"],
                redirect_uri=query.get("redirect_uri", ""),
                code_challenge=query["code_challenge"],
                nonce=query.get("nonce"),
                email=self.person,
            )
            answer |= {"code": code}
        return f"{query.get('redirect_uri', '')}?{urlencode(answer)}"

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.token_requests.append(form)
        if form.get("grant_type") == "authorization_code":
            grant = self._codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            challenge = _b64(hashlib.sha256(verifier.encode()).digest())
            if (
                grant is None
                or grant.client_id != form.get("client_id")
                or grant.redirect_uri != form.get("redirect_uri")
                or grant.code_challenge != challenge
            ):
                return 400, {"error": "invalid_grant"}
            return 200, self._tokens(grant.email, grant.nonce)
        if form.get("grant_type") == "refresh_token":
            email = self._refresh_tokens.pop(form.get("refresh_token", ""), None)
            if email is None or form.get("client_id") != CLIENT_ID:
                return 400, {"error": "invalid_grant"}
            return 200, self._tokens(email, None)
        return 400, {"error": "unsupported_grant_type"}

    def _tokens(self, email: str, nonce: str | None) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": uuid.uuid5(uuid.NAMESPACE_URL, email).hex,
            "email": email,
            "email_verified": True,
            "iat": now,
            "nbf": now,
            "exp": now + self.token_lifetime_s,
        }
        if nonce is not None:
            claims["nonce"] = nonce
        id_token = jwt.encode(
            claims, self.key.private, algorithm="RS256", headers={"kid": self.key.kid}
        )
        answer: dict[str, Any] = {
            "id_token": id_token,
            "token_type": "Bearer",
            "expires_in": self.token_lifetime_s,
        }
        if self.gives_refresh_tokens:
            refresh_token = secrets.token_urlsafe(24)
            self._refresh_tokens[refresh_token] = email
            answer["refresh_token"] = refresh_token
        return answer


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@contextlib.contextmanager
def serve_login_provider(person: str | None = None, **options: Any) -> Iterator[LoginProvider]:
    provider = LoginProvider(person=person, **options)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/.well-known/openid-configuration":
                self._json(200, provider.discovery())
            elif url.path == "/jwks":
                self._json(200, {"keys": [provider.key.jwk()]})
            elif url.path == "/authorize":
                self.send_response(302)
                self.send_header("Location", provider.authorize(dict(parse_qsl(url.query))))
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.send_error(404)

        def do_POST(self) -> None:
            if urlsplit(self.path).path != "/token":
                self.send_error(404)
                return
            length = int(self.headers.get("Content-Length") or 0)
            form = dict(parse_qsl(self.rfile.read(length).decode()))
            self._json(*provider.token(form))

        def _json(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    provider.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
