"""Which browser origins may use the sign-in routes that act on the refresh-token cookie
(`/auth/*`): the service's own, and those named in `CLIENTGRAPH_CORS_ORIGINS` (`*` is not a
name: it never reaches `/auth/*`, as in web/cors.py). A request whose `Origin` is present and
none of these is refused with 403 before its body, its cookies or the database are touched.
A request without `Origin` (curl, a server) is not a browser's cross-site request and passes.
Origins are compared exactly as browsers serialize them (`CLIENTGRAPH_CORS_ORIGINS` holds only
such; see settings.py), so no look-alike passes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection

from clientgraph import links
from clientgraph.web.cors import ANY_ORIGIN
from clientgraph.web.errors import HttpError
from starlette.requests import Request
from starlette.responses import Response

Handler = Callable[[Request], Awaitable[Response]]


def own_origin(request: Request) -> str:
    """The origin this request was addressed to (its scheme and Host), as a browser
    serializes it."""
    url = request.url
    return links.origin(url.scheme, url.hostname or "", url.port)


class OriginCheck:
    def __init__(self, named: Collection[str]) -> None:
        self.named = frozenset(named) - {ANY_ORIGIN}

    def allows(self, request: Request) -> bool:
        sent = request.headers.getlist("origin")
        if not sent:
            return True
        if len(sent) > 1:
            return False
        return sent[0] in self.named or sent[0] == own_origin(request)

    def guarding(self, handler: Handler) -> Handler:
        """`handler`, behind this check."""

        async def endpoint(request: Request) -> Response:
            if not self.allows(request):
                raise HttpError(
                    403,
                    "Requests to /auth/* are not allowed from this page's origin: use the"
                    " service's own pages, or have the operator list the origin in"
                    " CLIENTGRAPH_CORS_ORIGINS.",
                    extensions={"reason": "ORIGIN_NOT_ALLOWED"},
                )
            return await handler(request)

        return endpoint
