"""Every log line written while a request is handled names that request's id (the client's
`X-Request-Id`, or the one the answer carries), so a support question quoting the id finds
its lines; lines written outside any request say "-"."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from clientgraph.app import create_app
from clientgraph.logs import server_log_config

from tests.support import Api, settings_for

TYPENAME = "{ __typename }"
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"
"""The rate-limit store being down makes every request log an error that does not itself
name the request."""


def app_logging_during_requests(api: Api) -> httpx.AsyncClient:
    settings = settings_for(api.db.url, redis_url=UNREACHABLE_REDIS)
    transport = httpx.ASGITransport(app=create_app(settings, api.db))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def store_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "rate limit store unreachable" in r.getMessage()]


async def test_a_line_logged_during_a_request_carries_the_clients_request_id(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="clientgraph.rate_limits")
    async with app_logging_during_requests(api) as http:
        response = await http.post(
            "/graphql",
            json={"query": TYPENAME},
            headers={"Authorization": f"Bearer {api.token}", "X-Request-Id": "support-42"},
        )
    assert response.status_code == 200
    logged = store_errors(caplog)
    assert logged
    assert {record.request_id for record in logged} == {"support-42"}  # type: ignore[attr-defined]


async def test_a_line_logged_during_a_request_carries_the_id_the_answer_gave(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="clientgraph.rate_limits")
    async with app_logging_during_requests(api) as http:
        response = await http.post(
            "/graphql", json={"query": TYPENAME}, headers={"Authorization": f"Bearer {api.token}"}
        )
    given = response.headers["X-Request-Id"]
    assert {record.request_id for record in store_errors(caplog)} == {given}  # type: ignore[attr-defined]


async def test_concurrent_requests_each_log_their_own_id(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="clientgraph.rate_limits")
    ids = [f"concurrent-{n}" for n in range(8)]
    async with app_logging_during_requests(api) as http:
        await asyncio.gather(
            *(
                http.post(
                    "/graphql",
                    json={"query": TYPENAME},
                    headers={"Authorization": f"Bearer {api.token}", "X-Request-Id": request_id},
                )
                for request_id in ids
            )
        )
    logged = store_errors(caplog)
    assert {record.request_id for record in logged} == set(ids)  # type: ignore[attr-defined]


async def test_a_line_logged_outside_any_request_says_so(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    async with app_logging_during_requests(api):
        pass
    caplog.set_level(logging.INFO, logger="clientgraph")
    logging.getLogger("clientgraph").info("between requests")
    [record] = [r for r in caplog.records if r.getMessage() == "between requests"]
    assert record.request_id == "-"  # type: ignore[attr-defined]


def test_the_servers_log_lines_show_the_request_id() -> None:
    config = server_log_config()
    formatter = logging.Formatter(config["formatters"]["clientgraph"]["format"])
    record = logging.LogRecord("clientgraph", logging.WARNING, __file__, 1, "slow", None, None)
    record.request_id = "support-42"
    assert "[support-42] slow" in formatter.format(record)
    assert config["loggers"]["clientgraph"]["handlers"] == ["clientgraph"]
    assert config["handlers"]["clientgraph"]["filters"] == ["request_id"]
