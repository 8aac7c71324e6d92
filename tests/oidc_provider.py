"""An OIDC identity provider for tests: a real HTTP server on 127.0.0.1 (in a thread) serving
a discovery document and a JWKS of RSA and EC keys made here, counting every fetch, and
signing tokens with those keys. A slow one sends its documents a byte at a time."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import http.server
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

AUDIENCE = "clientgraph-tests"


@dataclass
class SigningKey:
    kid: str
    algorithm: str
    private: Any

    @classmethod
    def new(cls, algorithm: str) -> SigningKey:
        if algorithm == "RS256":
            private: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            private = ec.generate_private_key(ec.SECP256R1())
        return cls(kid=uuid.uuid4().hex, algorithm=algorithm, private=private)

    def jwk(self) -> dict[str, Any]:
        to_jwk = RSAAlgorithm.to_jwk if self.algorithm == "RS256" else ECAlgorithm.to_jwk
        return {
            **to_jwk(self.private.public_key(), as_dict=True),
            "kid": self.kid,
            "use": "sig",
            "alg": self.algorithm,
        }


@dataclass
class Provider:
    """What the server publishes, and how often each document was fetched."""

    issuer: str = ""
    keys: list[SigningKey] = field(default_factory=list)
    hits: dict[str, int] = field(default_factory=lambda: {"discovery": 0, "jwks": 0})
    up: bool = True
    seconds_per_byte: float = 0.0
    """Above 0, every document's headers go out at once and its body one byte each this
    often."""
    closed: threading.Event = field(default_factory=threading.Event)

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/jwks"

    def claims(self, email: str, /, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": uuid.uuid4().hex,
            "email": email,
            "email_verified": True,
            "iat": now,
            "nbf": now,
            "exp": now + 300,
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def token(
        self, key: SigningKey, email: str, /, *, kid: str | None = None, **claims: Any
    ) -> str:
        return jwt.encode(
            self.claims(email, **claims),
            key.private,
            algorithm=key.algorithm,
            headers={"kid": kid or key.kid},
        )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    head = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    return head + "." + _b64(signature)


def hs256_token(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    """A token MACed with `secret` (PyJWT rightly refuses to use a public key as a secret)."""
    head = unsigned_token(header, claims).rsplit(".", 1)[0]
    return head + "." + _b64(hmac.new(secret, head.encode(), hashlib.sha256).digest())


@contextlib.contextmanager
def serve_provider(*keys: SigningKey) -> Iterator[Provider]:
    provider = Provider(keys=list(keys))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if not provider.up:
                self.send_error(503)
                return
            if self.path == "/.well-known/openid-configuration":
                provider.hits["discovery"] += 1
                body: dict[str, Any] = {"issuer": provider.issuer, "jwks_uri": provider.jwks_url}
            elif self.path == "/jwks":
                provider.hits["jwks"] += 1
                body = {"keys": [key.jwk() for key in provider.keys]}
            else:
                self.send_error(404)
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if provider.seconds_per_byte > 0:
                self._trickle(data)
            else:
                self.wfile.write(data)

        def _trickle(self, data: bytes) -> None:
            for index in range(len(data)):
                if provider.closed.wait(provider.seconds_per_byte):
                    return
                try:
                    self.wfile.write(data[index : index + 1])
                    self.wfile.flush()
                except OSError:
                    return

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    provider.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        provider.closed.set()
        server.shutdown()
        server.server_close()
