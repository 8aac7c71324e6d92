"""OpenTelemetry traces, exported over OTLP/HTTP when `CLIENTGRAPH_OTEL_ENDPOINT` (or the
standard `OTEL_EXPORTER_OTLP_ENDPOINT`) names a collector; off otherwise, and then nothing
is built per request. Needs the `otel` extra (`pip install 'clientgraph[otel]'`).

Spans: each HTTP request (a server span, continuing the caller's `traceparent`), its GraphQL
operation, each SQL statement sent inside a traced request or delivery (the text with its
placeholders, never the values), and each delivery of the outbox relay.

One tracer per process: every worker of `clientgraph serve` builds its own when it builds its
app; the spans are batched and sent in the background, and the last ones flushed when the app
stops.
"""

from __future__ import annotations

import contextlib
import logging
import weakref
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span, Tracer

logger = logging.getLogger("clientgraph.tracing")

TRACES_PATH = "/v1/traces"
SPANS_KEY = "clientgraph_spans"
"""Where a connection keeps the spans of its statements in flight (`Connection.info`)."""
FLUSH_TIMEOUT_MS = 5000


class Tracing:
    """The process's tracer, or None while traces are off."""

    def __init__(self) -> None:
        self.tracer: Tracer | None = None
        self.provider: TracerProvider | None = None
        self.endpoint: str | None = None

    def use(self, provider: TracerProvider | None) -> None:
        """Trace through `provider` (None: stop tracing)."""
        self.provider = provider
        self.tracer = None if provider is None else provider.get_tracer("clientgraph")

    def flush(self) -> None:
        if self.provider is not None:
            self.provider.force_flush(FLUSH_TIMEOUT_MS)


TRACING = Tracing()
_watched: weakref.WeakSet[object] = weakref.WeakSet()


def traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL of a collector's base address, as the OTLP exporters'
    `OTEL_EXPORTER_OTLP_ENDPOINT` is read: `/v1/traces` is added unless it is there."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith(TRACES_PATH) else endpoint + TRACES_PATH


def start(endpoint: str | None, service_name: str) -> None:
    """Export this process's spans to `endpoint` (once per process; a later call with the
    same endpoint keeps the running exporter)."""
    if endpoint is None or endpoint == TRACING.endpoint:
        return
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as error:
        raise RuntimeError(
            "CLIENTGRAPH_OTEL_ENDPOINT is set but OpenTelemetry is not installed: "
            "pip install 'clientgraph[otel]'"
        ) from error
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces_url(endpoint))))
    if TRACING.provider is not None:
        TRACING.provider.shutdown()
    TRACING.use(provider)
    TRACING.endpoint = endpoint
    logger.info("traces go to %s as %s", traces_url(endpoint), service_name)


@contextlib.contextmanager
def server_span(
    name: str, headers: Mapping[str, str], attributes: dict[str, Any]
) -> Iterator[Span | None]:
    """The span of one HTTP request, the current span while it runs; a child of the caller's
    `traceparent` when it sends one. None while traces are off."""
    tracer = TRACING.tracer
    if tracer is None:
        yield None
        return
    from opentelemetry.propagate import extract
    from opentelemetry.trace import SpanKind

    with tracer.start_as_current_span(
        name, context=extract(headers), kind=SpanKind.SERVER, attributes=attributes
    ) as span:
        yield span


@contextlib.contextmanager
def span(name: str, attributes: dict[str, Any] | None = None) -> Iterator[Span | None]:
    """A span of work inside the current one (or a root span), current while it runs; None
    while traces are off."""
    tracer = TRACING.tracer
    if tracer is None:
        yield None
        return
    with tracer.start_as_current_span(name, attributes=attributes) as current:
        yield current


def failed(span: Span | None, description: str) -> None:
    if span is not None:
        from opentelemetry.trace import Status, StatusCode

        span.set_status(Status(StatusCode.ERROR, description))


def watch_engine(engine: AsyncEngine) -> None:
    """A span per statement `engine` sends while a traced request or delivery runs. Once per
    engine, however many apps share it."""
    sync_engine = engine.sync_engine
    if sync_engine in _watched:
        return
    _watched.add(sync_engine)
    system = sync_engine.dialect.name

    @event.listens_for(sync_engine, "before_cursor_execute")
    def statement_started(connection: Any, _cursor: Any, statement: str, *_: object) -> None:
        tracer = TRACING.tracer
        if tracer is None:
            return
        from opentelemetry import trace
        from opentelemetry.trace import SpanKind

        if not trace.get_current_span().is_recording():
            return
        verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "SQL"
        started = tracer.start_span(
            f"{verb} {system}",
            kind=SpanKind.CLIENT,
            attributes={"db.system.name": system, "db.query.text": statement},
        )
        connection.info.setdefault(SPANS_KEY, []).append(started)

    @event.listens_for(sync_engine, "after_cursor_execute")
    def statement_ended(connection: Any, *_: object) -> None:
        spans = connection.info.get(SPANS_KEY)
        if spans:
            spans.pop().end()

    @event.listens_for(sync_engine, "handle_error")
    def statement_failed(context: Any) -> None:
        if context.connection is not None:
            statement_failed_on(context.connection, context.original_exception)


def statement_failed_on(connection: Any, error: BaseException) -> None:
    """End the span of the statement `connection` was running, which raised `error`; called
    before the connection is invalidated, while its `info` can still be read."""
    spans = connection.info.get(SPANS_KEY)
    if spans:
        ended = spans.pop()
        failed(ended, type(error).__name__)
        ended.end()
