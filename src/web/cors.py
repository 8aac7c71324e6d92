"""Browser apps on other origins (CORS), for the origins in `CLIENTGRAPH_CORS_ORIGINS`.

A preflight (`OPTIONS` with `Access-Control-Request-Method`) from an allowed origin is
answered here, before any route: `/graphql` itself takes only GET and POST. Answers to an
allowed origin name it in `Access-Control-Allow-Origin` and expose `X-Request-Id`, the
rate-limit headers and `Idempotent-Replayed`. Requests from any other origin get no CORS
header at all, so the browser keeps their answers from the page.

Only `/auth/*` allows credentials (its refresh-token cookie), and only for origins listed by
name: `*` lets any origin call the API with a bearer token, which a browser never sends on
its own, but never with credentials.

Pure ASGI and outside `RequestIds`, so every answer carries these headers, the masked 500
included; the preflight answer goes through `RequestIds` too, for its `X-Request-Id`.
"""

from __future__ import annotations

from collections.abc import Collection

from clientgraph.web.request_id import RequestIds
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALLOWED_METHODS = ("GET", "POST", "OPTIONS")
ALLOWED_HEADERS = ("Authorization", "Content-Type", "X-Request-Id", "Idempotency-Key")
EXPOSED_HEADERS = (
    "X-Request-Id",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "Retry-After",
    "Idempotent-Replayed",
)
MAX_AGE_S = 600
ANY_ORIGIN = "*"
CREDENTIALS_PATH = "/auth/"


class Cors:
    def __init__(self, app: ASGIApp, origins: Collection[str]) -> None:
        self.app = app
        self.named = frozenset(origins) - {ANY_ORIGIN}
        self.any_origin = ANY_ORIGIN in origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        granted = self._granted(headers.get("origin"), scope["path"])
        if granted and scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await RequestIds(_preflight_answer(granted))(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                response_headers.add_vary_header("Origin")
                response_headers.update(granted)
                if granted:
                    response_headers["Access-Control-Expose-Headers"] = ", ".join(EXPOSED_HEADERS)
            await send(message)

        await self.app(scope, receive, send_with_cors)

    def _granted(self, origin: str | None, path: str) -> dict[str, str]:
        """The `Access-Control-Allow-*` headers `origin` gets on `path`; none if not allowed."""
        if origin is None:
            return {}
        if origin in self.named:
            allowed = {"Access-Control-Allow-Origin": origin}
            if path.startswith(CREDENTIALS_PATH):
                allowed["Access-Control-Allow-Credentials"] = "true"
            return allowed
        if self.any_origin and not path.startswith(CREDENTIALS_PATH):
            return {"Access-Control-Allow-Origin": ANY_ORIGIN}
        return {}


def _preflight_answer(granted: dict[str, str]) -> Response:
    return Response(
        status_code=200,
        headers={
            **granted,
            "Access-Control-Allow-Methods": ", ".join(ALLOWED_METHODS),
            "Access-Control-Allow-Headers": ", ".join(ALLOWED_HEADERS),
            "Access-Control-Max-Age": str(MAX_AGE_S),
            "Vary": "Origin",
        },
    )
