"""`/metrics` for Prometheus, and the middleware that counts every request into it.

`/metrics` answers 404, as if it did not exist, unless the caller's address is in
`CLIENTGRAPH_METRICS_ALLOW_IPS` or it sends `CLIENTGRAPH_METRICS_TOKEN` as a Bearer token:
what the service counts (operation names, load, pool use) is not for the public.
"""

from __future__ import annotations

import hmac
import ipaddress
import time

from clientgraph import metrics
from clientgraph.plan.planner import READ_PATH_HEADER
from clientgraph.settings import Settings
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

OPERATION_STATE = "graphql_operation"
"""Where /graphql leaves the request's operation name (`scope["state"]`) for the count."""

ROUTES = (
    ("/graphql", "graphql"),
    ("/graphiql/", "graphiql"),
    ("/auth/", "auth"),
    ("/portal", "portal"),
    ("/metrics", "metrics"),
    ("/healthz", "health"),
    ("/readyz", "health"),
)


def route_of(path: str) -> str:
    for prefix, route in ROUTES:
        if path == prefix or path.startswith(prefix):
            return route
    return "other"


def outcome_of(status: int) -> str:
    if status == 429:
        return "rate_limited"
    if status == 503:
        return "unavailable"
    if status >= 500:
        return "failed"
    if status >= 400:
        return "refused"
    return "ok"


class RequestMetrics:
    """Pure ASGI middleware: counts each HTTP request by route, operation and outcome, times
    it, counts its SQL statements, and the reads by the path that answered them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.operations = metrics.OperationNames()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        read_path: str | None = None
        statements = metrics.StatementCount()
        token = metrics.current_statements.set(statements)

        async def counting_send(message: Message) -> None:
            nonlocal status, read_path
            if message["type"] == "http.response.start":
                status = message["status"]
                read_path = Headers(raw=message.get("headers", [])).get(READ_PATH_HEADER)
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            metrics.current_statements.reset(token)
            route = route_of(scope["path"])
            operation = self.operations.label(scope.get("state", {}).get(OPERATION_STATE))
            metrics.REQUESTS.labels(route, operation, outcome_of(status)).inc()
            metrics.LATENCY.labels(route).observe(time.perf_counter() - started)
            metrics.STATEMENTS.labels(route).observe(statements.sent)
            if route == "graphql" and read_path is not None:
                metrics.READS.labels(read_path).inc()


class MetricsRoute:
    """`GET /metrics`, for the addresses and the token the settings name."""

    def __init__(self, settings: Settings) -> None:
        self.networks = [
            ipaddress.ip_network(entry, strict=False) for entry in settings.metrics_allow_ip_list()
        ]
        self.token = settings.metrics_token

    def routes(self) -> list[Route]:
        return [Route("/metrics", self.metrics, methods=["GET"])]

    def allowed(self, request: Request) -> bool:
        if self.token is not None:
            offered = request.headers.get("authorization", "")
            scheme, _, credential = offered.partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(
                credential.strip().encode(), self.token.encode()
            ):
                return True
        if request.client is None or not self.networks:
            return False
        try:
            address = ipaddress.ip_address(request.client.host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    async def metrics(self, request: Request) -> Response:
        if not self.allowed(request):
            return PlainTextResponse("Not Found", status_code=404)
        body, content_type = metrics.exposition()
        return Response(body, headers={"Content-Type": content_type})
