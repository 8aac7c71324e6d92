"""`/metrics` for Prometheus, and the middleware that counts every request into it.

`/metrics` answers 404, as if it did not exist, unless the caller's address is in
`CLIENTGRAPH_METRICS_ALLOW_IPS` or it sends `CLIENTGRAPH_METRICS_TOKEN` as a Bearer token:
what the service counts (operation names, load, pool use) is not for the public.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from clientgraph import metrics, tracing
from clientgraph.plan.planner import READ_PATH_HEADER
from clientgraph.settings import Settings
from clientgraph.web.request_log import FACTS_STATE, Answered, log_request
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from opentelemetry.trace import Span

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


ROUTE_TEMPLATES = {route: prefix for prefix, route in reversed(ROUTES)}
"""A route's path for a span's `http.route` (the first prefix that names it)."""


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
    it to its last byte sent, counts its SQL statements (those sent after the answer too: a
    read's ROLLBACK, web/after_response.py) and the reads by the path that answered them;
    then writes its log line (web/request_log.py)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.operations = metrics.OperationNames()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        last_byte_at: float | None = None
        status = 500
        read_path: str | None = None
        statements = metrics.StatementCount()
        token = metrics.current_statements.set(statements)
        route = route_of(scope["path"])

        async def counting_send(message: Message) -> None:
            nonlocal status, read_path, last_byte_at
            if message["type"] == "http.response.start":
                status = message["status"]
                read_path = Headers(raw=message.get("headers", [])).get(READ_PATH_HEADER)
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                last_byte_at = time.perf_counter()

        with traced_request(scope, route) as span:
            try:
                await self.app(scope, receive, counting_send)
            finally:
                metrics.current_statements.reset(token)
                duration_s = (last_byte_at or time.perf_counter()) - started
                requested = scope.get("state", {}).get(OPERATION_STATE)
                outcome = outcome_of(status)
                metrics.REQUESTS.labels(route, self.operations.label(requested), outcome).inc()
                metrics.LATENCY.labels(route).observe(duration_s)
                metrics.STATEMENTS.labels(route).observe(statements.sent)
                if route == "graphql" and read_path is not None:
                    metrics.READS.labels(read_path).inc()
                answered = Answered(
                    method=scope["method"],
                    route=route,
                    status=status,
                    outcome=outcome,
                    duration_s=duration_s,
                    statements=statements.sent,
                    read_path=read_path,
                )
                log_request(scope, requested, answered)
                if span is not None:
                    trace_answer(span, scope, answered)


@contextlib.contextmanager
def traced_request(scope: Scope, route: str) -> Iterator[Span | None]:
    """The request's server span while traces are on (clientgraph.tracing)."""
    if tracing.TRACING.tracer is None:
        yield None
        return
    template = ROUTE_TEMPLATES.get(route, scope["path"])
    attributes = {
        "http.request.method": scope["method"],
        "url.path": scope["path"],
        "url.scheme": scope.get("scheme", "http"),
        "http.route": template,
        "clientgraph.route": route,
    }
    headers = {key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]}
    with tracing.server_span(f"{scope['method']} {template}", headers, attributes) as span:
        yield span


def trace_answer(span: Span, scope: Scope, answered: Answered) -> None:
    state = scope.get("state", {})
    facts = state.get(FACTS_STATE)
    attributes: dict[str, Any] = {
        "http.response.status_code": answered.status,
        "clientgraph.outcome": answered.outcome,
        "clientgraph.statements": answered.statements,
        "clientgraph.request_id": state.get("request_id", "-"),
    }
    if answered.read_path is not None:
        attributes["clientgraph.read_path"] = answered.read_path
    if facts is not None and facts.firm_id is not None:
        attributes["clientgraph.firm_id"] = str(facts.firm_id)
        attributes["clientgraph.principal"] = facts.principal or ""
        attributes["clientgraph.principal_id"] = str(facts.principal_id)
    span.set_attributes(attributes)
    if answered.status >= 500:
        tracing.failed(span, f"HTTP {answered.status}")


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
