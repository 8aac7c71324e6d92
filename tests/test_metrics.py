"""Prometheus `/metrics` (issue 17, point 6): closed unless a setting opens it; requests
counted by route, operation and outcome, timed, their statements and read paths counted; the
counts of every worker of `clientgraph serve --workers 2` added up."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from clientgraph.app import create_app
from clientgraph.db import models
from clientgraph.db.engine import Database
from clientgraph.metrics import MAX_OPERATION_NAME_LENGTH, OperationNames, exposition
from clientgraph.outbox.emails import EMAIL_KINDS
from clientgraph.outbox.queue import QUEUED
from clientgraph.plan.build import HANDLERS
from clientgraph.plan.errors import Stage
from clientgraph.settings import Settings
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from tests.server_process import CLIENTGRAPH, free_port, server_environment
from tests.support import SECRET, Api, owner_url, served_with, settings_for
from tests.test_outbox_relay import Clock, Inbox, invite, make_relay, smtp_server
from tests.test_plan_crashes import broken
from tests.test_serve import clientgraph_serve

TOKEN = "a-metrics-token-for-tests"
NAMED = "query AccountNames { accounts(first: 5) { nodes { name } } }"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def count(text: str, name: str, **labels: str) -> float:
    wanted = tuple(sorted(labels.items()))
    return samples(text).get((name, wanted), 0.0)


@pytest.fixture
async def open_metrics(api: Api) -> Iterator[Api]:
    settings = settings_for(api.db.url, metrics_allow_ips="127.0.0.1", metrics_token=TOKEN)
    async with served_with(api, settings) as served:
        yield served


async def scrape(api: Api, **headers: str) -> str:
    response = await api.http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_metrics_are_not_found_unless_a_setting_opens_them(api: Api) -> None:
    response = await api.http.get("/metrics")

    assert response.status_code == 404
    assert "clientgraph" not in response.text


async def test_an_address_outside_the_allowed_ones_is_not_shown_the_metrics(api: Api) -> None:
    settings = settings_for(api.db.url, metrics_allow_ips="10.0.0.0/8")
    async with served_with(api, settings) as served:
        response = await served.http.get("/metrics")

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("authorization", "status"),
    [(f"Bearer {TOKEN}", 200), ("Bearer wrong-token-of-some-length", 404), (TOKEN, 404)],
    ids=["right-token", "wrong-token", "no-scheme"],
)
async def test_the_metrics_token_opens_them_from_any_address(
    database: Database, authorization: str, status: int
) -> None:
    app = create_app(settings_for(database.url, metrics_token=TOKEN), database)
    remote = httpx.ASGITransport(app=app, client=("203.0.113.9", 5000))
    async with httpx.AsyncClient(transport=remote, base_url="http://test") as http:
        response = await http.get("/metrics", headers={"Authorization": authorization})

    assert response.status_code == status


async def test_a_graphql_request_is_counted_by_operation_outcome_and_read_path(
    open_metrics: Api,
) -> None:
    before = await scrape(open_metrics)
    response = await open_metrics.http.post(
        "/graphql",
        json={"query": NAMED, "operationName": "AccountNames"},
        headers={"Authorization": f"Bearer {open_metrics.token}"},
    )
    after = await scrape(open_metrics)

    assert response.status_code == 200
    read_path = response.headers["X-Read-Path"]
    ok = {"route": "graphql", "operation": "AccountNames", "outcome": "ok"}
    assert count(after, "clientgraph_requests_total", **ok) == (
        count(before, "clientgraph_requests_total", **ok) + 1
    )
    assert count(after, "clientgraph_graphql_reads_total", path=read_path) == (
        count(before, "clientgraph_graphql_reads_total", path=read_path) + 1
    )
    duration = "clientgraph_request_duration_seconds_count"
    assert count(after, duration, route="graphql") == count(before, duration, route="graphql") + 1


async def test_the_statements_a_request_sends_are_counted(open_metrics: Api) -> None:
    before = await scrape(open_metrics)
    await open_metrics.data(NAMED)
    after = await scrape(open_metrics)

    statements = "clientgraph_statements_per_request_sum"
    sent = count(after, statements, route="graphql") - count(before, statements, route="graphql")
    assert sent >= 1


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(401, "refused"), (415, "refused")],
    ids=["no-token", "wrong-media-type"],
)
async def test_a_refused_request_is_counted_as_refused(
    open_metrics: Api, status: int, outcome: str
) -> None:
    before = await scrape(open_metrics)
    if status == 401:
        response = await open_metrics.http.post("/graphql", json={"query": NAMED})
    else:
        response = await open_metrics.http.post(
            "/graphql",
            content=NAMED,
            headers={
                "Authorization": f"Bearer {open_metrics.token}",
                "Content-Type": "text/plain",
            },
        )
    after = await scrape(open_metrics)

    assert response.status_code == status
    labels = {"route": "graphql", "operation": "-", "outcome": outcome}
    assert count(after, "clientgraph_requests_total", **labels) == (
        count(before, "clientgraph_requests_total", **labels) + 1
    )


@pytest.mark.parametrize(
    "name",
    ["x" * (MAX_OPERATION_NAME_LENGTH + 1), "no spaces", "ünïcode", "1starts_with_digit"],
    ids=["too-long", "spaces", "non-ascii", "digit-first"],
)
def test_an_operation_name_not_of_a_graphql_name_shape_is_counted_as_other(name: str) -> None:
    assert OperationNames().label(name) == "other"


def test_past_its_limit_of_distinct_names_a_process_counts_new_names_as_other() -> None:
    names = OperationNames(limit=3)
    labels = [names.label(f"Operation{index}") for index in range(5)]

    assert labels == ["Operation0", "Operation1", "Operation2", "other", "other"]
    assert names.label("Operation1") == "Operation1"


async def test_a_client_naming_every_request_anew_cannot_grow_the_metrics(
    open_metrics: Api,
) -> None:
    for _ in range(3):
        name = f"Op{uuid.uuid4().hex}"
        await open_metrics.http.post(
            "/graphql",
            json={"query": NAMED.replace("AccountNames", name), "operationName": name},
            headers={"Authorization": f"Bearer {open_metrics.token}"},
        )
    text = await scrape(open_metrics)

    operations = {
        dict(labels)["operation"]
        for name, labels in samples(text)
        if name == "clientgraph_requests_total"
    }
    assert len(operations) <= OperationNames().limit + 2


@pytest.mark.parametrize("value", ["not-an-address", "10.0.0.0/33", "*"])
def test_an_allowed_metrics_address_must_be_an_address_or_network(value: str) -> None:
    with pytest.raises(ValidationError, match="CLIENTGRAPH_METRICS_ALLOW_IPS"):
        Settings(metrics_allow_ips=value)


def test_a_short_metrics_token_is_refused() -> None:
    with pytest.raises(ValidationError, match="metrics_token"):
        Settings(metrics_token="short")


def test_the_workers_of_one_server_report_their_counts_added_up(tmp_path: Path) -> None:
    """Each worker counts its own requests; a scrape that lands on either worker shows all."""
    env = {"CLIENTGRAPH_METRICS_ALLOW_IPS": "127.0.0.1"}
    requests = 20
    with clientgraph_serve(tmp_path, workers=2, env=env) as served:
        for _ in range(requests):
            with httpx.Client(base_url=f"http://127.0.0.1:{served.port}") as fresh_connection:
                assert fresh_connection.get("/healthz").status_code == 200
        scrapes = []
        for _ in range(4):
            with httpx.Client(base_url=f"http://127.0.0.1:{served.port}") as fresh_connection:
                scrapes.append(fresh_connection.get("/metrics").text)

    for text in scrapes:
        healthy = count(text, "clientgraph_requests_total", route="health", operation="-",
                        outcome="ok")  # fmt: skip
        assert healthy >= requests


async def test_the_planners_crashes_are_counted_by_stage(
    open_metrics: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    await open_metrics.create_account("Crash Test Ltd")
    handler = HANDLERS["Account"]["name"]
    monkeypatch.setitem(HANDLERS["Account"], "name", broken(Stage.FINISHING, handler))
    before = await scrape(open_metrics)
    response = await open_metrics.post("{ accounts(first: 5) { nodes { name } } }")
    after = await scrape(open_metrics)

    assert response.headers["X-Read-Path"] == "crashed"
    crashes = "clientgraph_planner_crashes_total"
    assert count(after, crashes, stage="finishing") == (
        count(before, crashes, stage="finishing") + 1
    )


async def test_a_plan_asked_for_again_is_a_cache_hit(open_metrics: Api) -> None:
    query = f"query Names{uuid.uuid4().hex} {{ accounts(first: 3) {{ nodes {{ name }} }} }}"
    lookups = "clientgraph_plan_cache_lookups_total"
    before = await scrape(open_metrics)
    await open_metrics.data(query)
    between = await scrape(open_metrics)
    await open_metrics.data(query)
    after = await scrape(open_metrics)

    assert count(between, lookups, result="miss") == count(before, lookups, result="miss") + 1
    assert count(after, lookups, result="hit") == count(between, lookups, result="hit") + 1


async def test_outbox_deliveries_are_counted_by_kind_and_result(api: Api) -> None:
    received, port = Inbox(), free_port()
    await invite(api)
    clock = Clock()
    relay = make_relay(api.db, port, clock, outbox_backoff_s=1, outbox_backoff_max_s=1)
    deliveries = "clientgraph_outbox_deliveries_total"
    before, _ = exposition()

    await relay.run_once()
    with smtp_server(received, port):
        clock.advance(seconds=5)
        await relay.run_once()
    after, _ = exposition()

    for result in ("retry", "sent"):
        assert count(after.decode(), deliveries, kind="e-mail", result=result) >= (
            count(before.decode(), deliveries, kind="e-mail", result=result) + 1
        ), "at least this relay's attempt (relays of other tests may still be running)"


def backlog(kind: str = "e-mail") -> float:
    text, _ = exposition()
    return count(text.decode(), "clientgraph_outbox_backlog", kind=kind)


async def due_and_not_sent(api: Api, now: datetime) -> int:
    """E-mails of every firm due at `now` and not sent, read as the tables' owner."""
    event = models.OutboxEvent
    engine = create_async_engine(owner_url(api.db))
    try:
        async with engine.connect() as connection:
            found = await connection.scalar(
                select(func.count()).where(
                    event.status == QUEUED,
                    event.kind.in_(EMAIL_KINDS),
                    event.next_attempt_at <= now,
                )
            )
    finally:
        await engine.dispose()
    return int(found or 0)


async def test_the_outbox_backlog_counts_the_rows_due_and_not_sent(api: Api) -> None:
    """Without SMTP nothing leaves the queue: a new row due is one more."""
    clock = Clock()
    relay = make_relay(api.db, None, clock)
    await relay.run_once()
    before = backlog()

    await invite(api)
    clock.now = models.utcnow()
    await relay.run_once()

    assert backlog() == await due_and_not_sent(api, clock.now)
    assert backlog() >= before + 1


async def test_rows_a_relay_tried_and_will_retry_later_leave_the_backlog(api: Api) -> None:
    clock = Clock()
    relay = make_relay(api.db, free_port(), clock, outbox_backoff_s=60, outbox_backoff_max_s=60)
    await relay.run_once()
    await invite(api)
    clock.now = models.utcnow()

    await relay.run_once()
    due_then = backlog()
    await relay.run_once()

    assert due_then >= 1, "at least the new row"
    assert backlog() == await due_and_not_sent(api, clock.now) == 0, "each waits for its retry"


async def test_a_refusal_by_a_rate_limit_is_counted_by_the_limits_name(api: Api) -> None:
    settings = settings_for(
        api.db.url, metrics_allow_ips="127.0.0.1", rate_limit_failed_auth_per_minute=1
    )
    refusals = "clientgraph_rate_limit_refusals_total"
    async with served_with(api, settings) as served:
        before = await scrape(served)
        statuses = [
            (
                await served.http.post(
                    "/graphql", json={"query": NAMED}, headers={"Authorization": "Bearer nonsense"}
                )
            ).status_code
            for _ in range(3)
        ]
        after = await scrape(served)

    assert statuses == [401, 429, 429]
    assert count(after, refusals, limit="failed-auth") == (
        count(before, refusals, limit="failed-auth") + 2
    )


async def test_a_checkout_waiting_for_a_connection_is_counted(api: Api) -> None:
    if api.db.is_sqlite:
        pytest.skip("SQLite keeps SQLAlchemy's own pool, which is not watched")
    waiting = "clientgraph_db_connections_waiting"
    db = Database(api.db.url, pool_size=1, max_overflow=0, pool_timeout=10)
    app = create_app(settings_for(api.db.url, metrics_allow_ips="127.0.0.1"), db)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            before = count(await scrape_with(http), waiting)
            async with db.engine.connect() as held:
                await held.exec_driver_sql("SELECT 1")
                request = asyncio.create_task(
                    http.post(
                        "/graphql",
                        json={"query": NAMED},
                        headers={"Authorization": f"Bearer {api.token}"},
                    )
                )
                during = before
                for _ in range(100):
                    during = count(await scrape_with(http), waiting)
                    if during > before:
                        break
                    await asyncio.sleep(0.05)
            answered = await request
            after = count(await scrape_with(http), waiting)
    finally:
        await db.dispose()

    assert during == before + 1
    assert answered.status_code == 200
    assert after == before


async def scrape_with(http: httpx.AsyncClient) -> str:
    response = await http.get("/metrics")
    assert response.status_code == 200
    return response.text


def test_the_workers_of_one_server_show_every_metric_of_issue_17(tmp_path: Path) -> None:
    """Under `--workers 2` (multiprocess mode): the counts of both workers added up (requests
    by operation and outcome, latency, read paths, statements, plan cache, refusals), the
    pool's gauges, and the backlog as the relays counted it last."""
    env = {
        "CLIENTGRAPH_METRICS_ALLOW_IPS": "127.0.0.1",
        "CLIENTGRAPH_RATE_LIMIT_FAILED_AUTH_PER_MINUTE": "1",
        "CLIENTGRAPH_OUTBOX_RELAY": "true",
        "CLIENTGRAPH_OUTBOX_POLL_INTERVAL_S": "0.2",
    }
    with clientgraph_serve(tmp_path, workers=2, env=env) as served:
        base = f"http://127.0.0.1:{served.port}"
        created = subprocess.run(
            [CLIENTGRAPH, "create-firm", "Metrics ApS", "--admin-email", "m@example.dk"],
            env=server_environment(
                DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}",
                CLIENTGRAPH_SECRET=SECRET,
            ),
            capture_output=True,
            check=True,
            text=True,
        )
        token = json.loads(created.stdout.splitlines()[0])["token"]
        invited = invite_over_http(base, token)
        read = httpx.post(
            f"{base}/graphql",
            json={"query": NAMED, "operationName": "AccountNames"},
            headers={"Authorization": f"Bearer {token}"},
        )
        statuses = []
        for _ in range(8):
            with httpx.Client(base_url=base) as fresh_connection:
                statuses.append(
                    fresh_connection.post(
                        "/graphql",
                        json={"query": NAMED},
                        headers={"Authorization": "Bearer nonsense"},
                    ).status_code
                )
        shown = 0.0
        for _ in range(50):
            with httpx.Client(base_url=base) as fresh_connection:
                text = fresh_connection.get("/metrics").text
            shown = count(text, "clientgraph_outbox_backlog", kind="e-mail")
            if shown == 1:
                break
            time.sleep(0.2)

    assert invited
    assert shown == 1
    assert 429 in statuses
    refused = count(text, "clientgraph_rate_limit_refusals_total", limit="failed-auth")
    assert refused == statuses.count(429)
    assert read.status_code == 200
    graphql = {"route": "graphql"}
    ok = {**graphql, "operation": "AccountNames", "outcome": "ok"}
    assert count(text, "clientgraph_requests_total", **ok) == 1
    assert count(text, "clientgraph_request_duration_seconds_count", **graphql) >= 3
    assert count(text, "clientgraph_statements_per_request_count", **graphql) >= 3
    assert count(text, "clientgraph_graphql_reads_total", path="generic") >= 2, "the mutations"
    assert count(text, "clientgraph_graphql_reads_total", path="planned") == 1
    assert count(text, "clientgraph_plan_cache_lookups_total", result="miss") == 1
    families = {name for name, _ in samples(text)}
    assert "clientgraph_db_connections_in_use" in families


def invite_over_http(base: str, token: str) -> bool:
    """A contact invited to the portal, which queues one e-mail."""
    headers = {"Authorization": f"Bearer {token}"}
    contact = httpx.post(
        f"{base}/graphql",
        json={
            "query": 'mutation { createContact(input: {firstName: "Mette", lastName: "Hansen",'
            ' email: "mette@example.dk"}) { contact { id } } }'
        },
        headers=headers,
    ).json()["data"]["createContact"]["contact"]["id"]
    invited = httpx.post(
        f"{base}/graphql",
        json={
            "query": "mutation($id: ID!) { inviteContact(input: {contactId: $id}) "
            "{ userErrors { code } } }",
            "variables": {"id": contact},
        },
        headers=headers,
    ).json()
    return invited["data"]["inviteContact"]["userErrors"] == []
