"""Which client a request comes from: the peer of its connection, or, only when that peer is
named in `CLIENTGRAPH_FORWARDED_ALLOW_IPS` (a reverse proxy of yours), the client its
`X-Forwarded-For` names. Every rate limit and lockout counts by this address, so a header that
anyone can write must not choose it.

The rule lives in the app rather than in the server, so that `clientgraph serve` (which
switches uvicorn's own proxy handling off in every worker) and uvicorn running the factory
(`uvicorn clientgraph.app:create_app --factory`) behave alike. uvicorn's handling is on by
default and trusts 127.0.0.1 (or its `FORWARDED_ALLOW_IPS`, `--forwarded-allow-ips`): it
rewrites the client before the app sees the request, and the peer is lost. A request whose
client was so taken from its `X-Forwarded-For` is counted as one unknown client (as if the
header were ignored, all such requests are one) unless every peer is trusted here (`*`).
"""

from __future__ import annotations

import logging
import os

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

logger = logging.getLogger("clientgraph.forwarded")

TRUST_EVERY_PEER = "*"


def _forwarded_entries(scope: Scope) -> list[str]:
    values = Headers(scope=scope).getlist("x-forwarded-for")
    return [entry.strip() for value in values for entry in value.split(",") if entry.strip()]


def _taken_from_header(client: tuple[str, int], entries: list[str]) -> bool:
    """Whether `client` is what a proxy-headers layer makes of one of `entries`: a bare host
    gives port 0, which no connection's peer has, and `host:port` or `[host]:port` its port."""
    host, port = client
    spellings = {f"{host}:{port}", f"[{host}]:{port}"} if port else {host}
    return any(entry in spellings for entry in entries)


class ForwardedClients:
    """Sets `scope["client"]` by the rule above, before any other middleware sees it."""

    def __init__(self, app: ASGIApp, trusted: list[str]) -> None:
        self.app = app
        self.trust_every_peer = trusted == [TRUST_EVERY_PEER]
        self.resolve: ASGIApp = (
            ProxyHeadersMiddleware(app, trusted_hosts=trusted) if trusted else app  # type: ignore[arg-type]
        )
        self.warned = False
        if os.environ.get("FORWARDED_ALLOW_IPS") and not trusted:
            logger.warning(
                "FORWARDED_ALLOW_IPS is set, but clientgraph takes X-Forwarded-For only from"
                " the addresses in CLIENTGRAPH_FORWARDED_ALLOW_IPS, which is empty"
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not self.trust_every_peer:
            client = scope.get("client")
            entries = _forwarded_entries(scope) if client else []
            if entries and client and _taken_from_header(tuple(client), entries):
                self._warn_once()
                scope = {**scope, "client": None}
        await self.resolve(scope, receive, send)

    def _warn_once(self) -> None:
        if not self.warned:
            self.warned = True
            logger.warning(
                "the server took a request's client address from X-Forwarded-For (uvicorn's"
                " proxy headers are on): such requests are counted as one unknown client. Run"
                " uvicorn with --no-proxy-headers and name your proxies in"
                " CLIENTGRAPH_FORWARDED_ALLOW_IPS (clientgraph serve does the former itself)"
            )
