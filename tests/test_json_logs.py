"""Structured logs (issue 17, point 6): with `CLIENTGRAPH_LOG_FORMAT=json` every line is one
JSON object, and each HTTP request writes one line on `clientgraph.requests` saying who
asked, what, how it ended and what it cost, a failed request's included; no token, password
or statement parameter reaches any line."""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from clientgraph.ids import decode_id
from clientgraph.logs import REQUEST_LOGGER, json_formatter
from clientgraph.plan.build import HANDLERS
from clientgraph.plan.errors import Stage
from clientgraph.settings import Settings
from pydantic import ValidationError

from tests.support import Api, owner_url
from tests.test_plan_crashes import broken
from tests.test_serve import clientgraph_serve
from tests.test_sign_in import PASSWORD, give_password, login

NAMED = "query AccountNames { accounts(first: 5) { nodes { name } } }"
FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "timestamp": str,
    "level": str,
    "logger": str,
    "request_id": str,
    "message": str,
    "firm_id": (str, type(None)),
    "principal": (str, type(None)),
    "principal_id": (str, type(None)),
    "operation": (str, type(None)),
    "method": str,
    "route": str,
    "status": int,
    "outcome": str,
    "duration_ms": float,
    "statements": int,
    "cost": (int, type(None)),
    "read_path": (str, type(None)),
}


def as_json(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """Every record captured, as the JSON formatter writes it."""
    formatter = json_formatter()
    return [json.loads(formatter.format(record)) for record in caplog.records]


def request_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line["logger"] == REQUEST_LOGGER]


def assert_typed(line: dict[str, Any]) -> None:
    assert set(FIELD_TYPES) <= set(line), set(FIELD_TYPES) - set(line)
    for name, kind in FIELD_TYPES.items():
        assert isinstance(line[name], kind), (name, line[name])


@pytest.fixture
def captured(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every logger at INFO, SQLAlchemy's statement log included."""
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    return caplog


async def test_a_graphql_request_writes_one_line_with_every_field_typed(
    api: Api, captured: pytest.LogCaptureFixture
) -> None:
    response = await api.http.post(
        "/graphql",
        json={"query": NAMED, "operationName": "AccountNames"},
        headers={"Authorization": f"Bearer {api.token}", "X-Request-Id": "json-log-1"},
    )

    assert response.status_code == 200
    [line] = request_lines(as_json(captured))
    assert_typed(line)
    assert line["request_id"] == "json-log-1"
    assert line["firm_id"] == str(api.firm_id)
    assert (line["principal"], line["principal_id"]) == ("user", str(api.user_id))
    assert line["operation"] == "AccountNames"
    assert (line["method"], line["route"], line["status"], line["outcome"]) == (
        "POST",
        "graphql",
        200,
        "ok",
    )
    assert line["statements"] >= 1
    assert line["cost"] >= 1
    assert line["read_path"] == response.headers["X-Read-Path"]
    assert line["duration_ms"] > 0


async def test_a_refused_request_still_writes_its_line_without_a_caller(
    api: Api, captured: pytest.LogCaptureFixture
) -> None:
    response = await api.http.post("/graphql", json={"query": NAMED})

    assert response.status_code == 401
    [line] = request_lines(as_json(captured))
    assert_typed(line)
    assert (line["status"], line["outcome"]) == (401, "refused")
    assert (line["firm_id"], line["principal"], line["principal_id"]) == (None, None, None)
    assert line["cost"] is None


async def test_a_failing_request_still_writes_its_line(
    api: Api, captured: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    await api.create_account("Failing Request Ltd")
    handler = HANDLERS["Account"]["name"]
    monkeypatch.setitem(HANDLERS["Account"], "name", broken(Stage.FINISHING, handler))
    captured.clear()

    response = await api.post("{ accounts(first: 5) { nodes { name } } }")

    assert response.status_code == 500
    [line] = request_lines(as_json(captured))
    assert_typed(line)
    assert (line["status"], line["outcome"], line["read_path"]) == (500, "failed", "crashed")
    assert line["request_id"] == response.headers["X-Request-Id"]
    assert line["firm_id"] == str(api.firm_id)


async def test_an_api_key_request_names_the_key_and_never_its_secret(
    api: Api, captured: pytest.LogCaptureFixture
) -> None:
    payload = await api.ok(
        "createApiKey",
        {"name": "Log feed", "permissions": ["VIEW_ALL_ACCOUNTS"]},
        "apiKey { id } key",
    )
    secret = payload["key"]
    captured.clear()

    await api.data(NAMED, token=secret)

    lines = as_json(captured)
    [line] = request_lines(lines)
    assert line["principal"] == "api_key"
    assert line["principal_id"] == str(decode_id(payload["apiKey"]["id"], "ApiKey"))
    text = json.dumps(lines)
    assert secret not in text
    assert secret.removeprefix("cgk_").partition("_")[2] not in text


async def test_a_password_sign_in_logs_neither_the_password_nor_the_tokens(
    api: Api, captured: pytest.LogCaptureFixture
) -> None:
    email = await give_password(api.db, api.firm_id, api.user_id, PASSWORD)
    captured.clear()

    signed_in = await login(api.http, email, PASSWORD)
    wrong = await login(api.http, email, PASSWORD + " not")
    viewer = await api.data("{ viewer { user { id } } }", token=signed_in.json()["accessToken"])

    assert signed_in.status_code == 200 and wrong.status_code == 401
    assert viewer["viewer"]["user"]["id"]
    lines = as_json(captured)
    assert [(line["route"], line["status"]) for line in request_lines(lines)] == [
        ("auth", 200),
        ("auth", 401),
        ("graphql", 200),
    ]
    text = json.dumps(lines)
    for secret in (PASSWORD, signed_in.json()["accessToken"], signed_in.json()["refreshToken"]):
        assert secret not in text


async def test_statement_parameters_never_reach_a_log_line(
    api: Api, captured: pytest.LogCaptureFixture
) -> None:
    """SQLAlchemy logs its statements at INFO; their values stay hidden, in its errors too."""
    marker = f"parameter-{uuid.uuid4().hex}"
    await api.create_account(marker)

    text = json.dumps(as_json(captured))
    assert "INSERT INTO accounts" in text, "the statement log was captured"
    assert marker not in text


def test_the_log_format_is_text_or_json() -> None:
    assert Settings().log_format == "text"
    with pytest.raises(ValidationError, match="log_format"):
        Settings(log_format="yaml")


def test_a_served_worker_writes_every_line_as_json(api: Api, tmp_path: Path) -> None:
    """`clientgraph serve` applies the format in its workers: uvicorn's lines, the service's
    and the request lines alike."""
    env = {"DATABASE_URL": owner_url(api.db), "CLIENTGRAPH_LOG_FORMAT": "json"}
    with (
        clientgraph_serve(tmp_path, workers=2, env=env) as served,
        httpx.Client(base_url=f"http://127.0.0.1:{served.port}") as http,
    ):
        answered = http.post(
            "/graphql",
            json={"query": NAMED, "operationName": "AccountNames"},
            headers={"Authorization": f"Bearer {api.token}"},
        )
        refused = http.post("/graphql", json={"query": NAMED})
    log = served.log.read_text()

    assert (answered.status_code, refused.status_code) == (200, 401)
    lines = [json.loads(text) for text in log.splitlines() if text.strip()]
    assert any(line["logger"] == "uvicorn.error" for line in lines)
    requests = {line["request_id"]: line for line in request_lines(lines)}
    mine = requests[answered.headers["X-Request-Id"]]
    assert_typed(mine)
    assert (mine["operation"], mine["firm_id"]) == ("AccountNames", str(api.firm_id))
    assert requests[refused.headers["X-Request-Id"]]["status"] == 401
    assert api.token not in log
