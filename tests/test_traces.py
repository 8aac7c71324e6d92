"""OpenTelemetry traces (issue 17, point 6): off unless a collector is named; then a server
span per HTTP request, a span for its GraphQL operation, one per SQL statement (without its
values) and one per outbox delivery.

Most scenarios run the app in this process with the SDK's in-memory exporter; the last one
runs a real `clientgraph serve --workers 2` exporting over OTLP/HTTP to a receiver here that
decodes the protobuf as a collector does."""

from __future__ import annotations

import contextlib
import gzip
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from clientgraph import tracing
from clientgraph.plan.build import HANDLERS
from clientgraph.plan.errors import Stage
from clientgraph.settings import Settings
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from tests.server_process import free_port
from tests.support import Api, owner_url
from tests.test_outbox_relay import Clock, Inbox, invite, make_relay, smtp_server
from tests.test_plan_crashes import broken
from tests.test_serve import clientgraph_serve

SEARCH = "query Find($s: String) { accounts(first: 5, filter: {search: $s}) { nodes { name } } }"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.TRACING.use(provider)
    try:
        yield exporter
    finally:
        tracing.TRACING.use(None)


def named(finished: tuple[ReadableSpan, ...], prefix: str) -> list[ReadableSpan]:
    return [span for span in finished if span.name.startswith(prefix)]


def in_trace(finished: tuple[ReadableSpan, ...], trace_id: int) -> tuple[ReadableSpan, ...]:
    return tuple(span for span in finished if span.context.trace_id == trace_id)


async def test_a_graphql_request_is_a_server_span_over_its_operation_and_statements(
    api: Api, spans: InMemorySpanExporter
) -> None:
    marker = f"needle-{uuid.uuid4().hex}"
    response = await api.http.post(
        "/graphql",
        json={"query": SEARCH, "operationName": "Find", "variables": {"s": marker}},
        headers={"Authorization": f"Bearer {api.token}"},
    )

    assert response.status_code == 200, response.text
    assert "errors" not in response.json()
    [server] = named(spans.get_finished_spans(), "POST /graphql")
    finished = in_trace(spans.get_finished_spans(), server.context.trace_id)
    assert server.kind == SpanKind.SERVER
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/graphql"
    assert server.attributes["http.response.status_code"] == 200
    assert server.attributes["clientgraph.request_id"] == response.headers["X-Request-Id"]
    assert server.attributes["clientgraph.firm_id"] == str(api.firm_id)
    [operation] = named(finished, "graphql.operation")
    assert operation.parent is not None and operation.parent.span_id == server.context.span_id
    assert operation.attributes is not None
    assert operation.attributes["graphql.operation.name"] == "Find"
    assert operation.attributes["clientgraph.read_path"] == response.headers["X-Read-Path"]
    assert operation.attributes["clientgraph.cost"] >= 1
    statements = [span for span in finished if span.kind == SpanKind.CLIENT]
    assert statements, "at least the data statement"
    texts = [str((span.attributes or {})["db.query.text"]) for span in statements]
    assert any("accounts" in text for text in texts)
    assert not any(marker in text for text in texts)
    operation_span = operation.context.span_id
    assert any(s.parent is not None and s.parent.span_id == operation_span for s in statements)


async def test_the_callers_traceparent_is_continued(api: Api, spans: InMemorySpanExporter) -> None:
    await api.http.post(
        "/graphql",
        json={"query": "{ viewer { user { name } } }"},
        headers={
            "Authorization": f"Bearer {api.token}",
            "traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01",
        },
    )

    [server] = named(spans.get_finished_spans(), "POST /graphql")
    assert server.context.trace_id == int(TRACE_ID, 16)
    assert server.parent is not None and server.parent.span_id == int(PARENT_ID, 16)


async def test_a_failing_request_ends_its_span_as_an_error(
    api: Api, spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    await api.create_account("Traced Failure Ltd")
    handler = HANDLERS["Account"]["name"]
    monkeypatch.setitem(HANDLERS["Account"], "name", broken(Stage.FINISHING, handler))
    spans.clear()

    response = await api.post("{ accounts(first: 5) { nodes { name } } }")

    assert response.status_code == 500
    [server] = named(spans.get_finished_spans(), "POST /graphql")
    assert server.status.status_code == StatusCode.ERROR
    assert (server.attributes or {})["http.response.status_code"] == 500


async def test_a_refused_request_is_traced_without_a_caller(
    api: Api, spans: InMemorySpanExporter
) -> None:
    response = await api.http.post("/graphql", json={"query": "{ __typename }"})

    assert response.status_code == 401
    [server] = named(spans.get_finished_spans(), "POST /graphql")
    assert (server.attributes or {})["http.response.status_code"] == 401
    assert "clientgraph.firm_id" not in (server.attributes or {})
    assert server.status.status_code != StatusCode.ERROR


async def test_no_span_is_made_while_traces_are_off(api: Api) -> None:
    exporter = InMemorySpanExporter()
    assert tracing.TRACING.tracer is None

    await api.data("{ viewer { user { name } } }")

    assert exporter.get_finished_spans() == ()


async def test_each_outbox_delivery_is_a_span_with_its_result(
    api: Api, spans: InMemorySpanExporter
) -> None:
    received, port = Inbox(), free_port()
    await invite(api)
    clock = Clock()
    relay = make_relay(api.db, port, clock, outbox_backoff_s=1, outbox_backoff_max_s=1)

    await relay.run_once()
    with smtp_server(received, port):
        clock.advance(seconds=5)
        await relay.run_once()

    mine = [
        span
        for span in named(spans.get_finished_spans(), "outbox deliver")
        if (span.attributes or {}).get("clientgraph.firm_id") == str(api.firm_id)
    ]
    results = [(span.attributes or {})["clientgraph.outbox.result"] for span in mine]
    assert results == ["retry", "sent"]
    assert mine[0].status.status_code == StatusCode.ERROR
    sent = mine[1]
    recorded = [
        span
        for span in in_trace(spans.get_finished_spans(), sent.context.trace_id)
        if span.kind == SpanKind.CLIENT
    ]
    assert any("outbox" in str((span.attributes or {})["db.query.text"]) for span in recorded)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CLIENTGRAPH_OTEL_ENDPOINT", "http://collector:4318"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
    ],
)
def test_the_collector_is_named_by_our_setting_or_the_standard_one(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "clientgraph-eu")

    settings = Settings()

    assert settings.otel_endpoint == value
    assert settings.otel_service_name == "clientgraph-eu"
    assert tracing.traces_url(value) == "http://collector:4318/v1/traces"


def test_traces_are_off_by_default() -> None:
    assert Settings().otel_endpoint is None


class Receiver(BaseHTTPRequestHandler):
    """An OTLP/HTTP collector's traces endpoint: keeps every span it is sent."""

    received: list[tuple[dict[str, Any], Any]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                self.received.extend((resource, span) for span in scope_spans.spans)
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200 if self.path == "/v1/traces" else 404)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_: object) -> None:
        return


@contextlib.contextmanager
def otlp_receiver() -> Iterator[tuple[str, list[tuple[dict[str, Any], Any]]]]:
    received: list[tuple[dict[str, Any], Any]] = []
    handler = type("Receiving", (Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def attributes_of(span: Any) -> dict[str, Any]:
    return {
        attribute.key: getattr(attribute.value, attribute.value.WhichOneof("value"))
        for attribute in span.attributes
    }


def test_a_served_worker_exports_its_spans_over_otlp_http(api: Api, tmp_path: Path) -> None:
    with otlp_receiver() as (endpoint, received):
        env = {
            "DATABASE_URL": owner_url(api.db),
            "CLIENTGRAPH_OTEL_ENDPOINT": endpoint,
            "OTEL_SERVICE_NAME": "clientgraph-under-test",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        }
        with clientgraph_serve(tmp_path, workers=2, env=env) as served:
            response = httpx.post(
                f"http://127.0.0.1:{served.port}/graphql",
                json={"query": SEARCH, "operationName": "Find", "variables": {"s": "x"}},
                headers={
                    "Authorization": f"Bearer {api.token}",
                    "traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01",
                },
            )
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                mine = [s for r, s in received if s.trace_id.hex() == TRACE_ID]
                if any(span.name == "POST /graphql" for span in mine):
                    break
                time.sleep(0.2)

    assert response.status_code == 200
    mine = [(resource, span) for resource, span in received if span.trace_id.hex() == TRACE_ID]
    names = {span.name for _, span in mine}
    assert {"POST /graphql", "graphql.operation"} <= names
    assert {resource["service.name"] for resource, _ in mine} == {"clientgraph-under-test"}
    [server] = [span for _, span in mine if span.name == "POST /graphql"]
    assert attributes_of(server)["http.response.status_code"] == 200
    assert any("db.query.text" in attributes_of(span) for _, span in mine)
