"""The planner fails closed (issue 15, point 3): a crash — any exception while a plan is built,
bound, read or finished — is logged at ERROR with the document's digest and counted, and fails
the request when the planner is strict (as in every test); a decline, or the database's own
trouble, is neither."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any

import pytest
from clientgraph.db.engine import DatabaseUnavailable
from clientgraph.plan.build import HANDLERS, Build, Field, Fix
from clientgraph.plan.errors import CRASHES, Decline, Stage
from clientgraph.plan.planner import database_condition
from sqlalchemy import ColumnElement, func, literal_column
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from tests.support import Api, served_with, settings_for

QUERY = "{ accounts(first: 5) { nodes { name } } }"
DIGEST = hashlib.sha256(QUERY.encode()).hexdigest()
Handler = Callable[[Build, Any, Field], tuple[ColumnElement[Any], Fix | None]]


def _failing(error: str) -> Any:
    raise RuntimeError(error)


def broken(stage: Stage, handler: Handler) -> Handler:
    """`Account.name`'s handler with a defect at `stage`."""

    def planning(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
        raise RuntimeError("a defect in building the plan")

    def binding(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
        build.binders.append(lambda variables: _failing("a defect in binding"))
        return handler(build, row, field)

    def reading(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
        return literal_column("no_such_column"), None

    def finishing(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
        value, _ = handler(build, row, field)
        return value, lambda data, counter: _failing("a defect in finishing")

    return {
        Stage.PLANNING: planning,
        Stage.BINDING: binding,
        Stage.READING: reading,
        Stage.FINISHING: finishing,
    }[stage]


@pytest.fixture
async def account(api: Api) -> None:
    await api.create_account("Crash Test Ltd")


@pytest.mark.parametrize("stage", list(Stage))
async def test_a_strict_planners_crash_fails_the_request_logged_with_the_digest_and_counted(
    api: Api,
    account: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    stage: Stage,
) -> None:
    monkeypatch.setitem(HANDLERS["Account"], "name", broken(stage, HANDLERS["Account"]["name"]))
    before = CRASHES.count(stage)
    with caplog.at_level(logging.ERROR, logger="clientgraph.plan"):
        response = await api.post(QUERY)
    assert response.status_code == 500
    assert response.headers["X-Read-Path"] == "crashed"
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "Traceback" not in response.text and "defect" not in response.text
    assert CRASHES.count(stage) == before + 1
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert DIGEST in record.getMessage()
    assert f"crashed while {stage.value}" in record.getMessage()


@pytest.mark.parametrize("stage", list(Stage))
async def test_in_production_a_crash_is_answered_by_the_generic_path_logged_and_counted(
    api: Api,
    account: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    stage: Stage,
) -> None:
    monkeypatch.setitem(HANDLERS["Account"], "name", broken(stage, HANDLERS["Account"]["name"]))
    before = CRASHES.count(stage)
    production = settings_for(api.db.url, planner_strict=False)
    async with served_with(api, production) as lenient:
        with caplog.at_level(logging.DEBUG, logger="clientgraph.plan"):
            response = await lenient.post(QUERY)
    assert response.status_code == 200
    assert response.headers["X-Read-Path"] == "generic"
    assert response.json()["data"] == {"accounts": {"nodes": [{"name": "Crash Test Ltd"}]}}
    assert CRASHES.count(stage) == before + 1
    crashes = [r for r in caplog.records if "crashed" in r.getMessage()]
    assert [r.levelno for r in crashes] == [logging.ERROR]
    assert DIGEST in crashes[0].getMessage()
    assert crashes[0].exc_info is not None


async def test_a_plan_that_crashed_being_built_is_not_built_again_by_that_process(
    api: Api, account: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        HANDLERS["Account"], "name", broken(Stage.PLANNING, HANDLERS["Account"]["name"])
    )
    before = CRASHES.count()
    async with served_with(api, settings_for(api.db.url, planner_strict=False)) as lenient:
        answers = [await lenient.post(QUERY) for _ in range(3)]
    assert [a.headers["X-Read-Path"] for a in answers] == ["generic"] * 3
    assert CRASHES.count() == before + 1


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("{ __schema { queryType { name } } }", Decline.INTROSPECTION),
        (
            "{ accounts { nodes { " + " ".join(f"n{i}: name" for i in range(60)) + " } } }",
            Decline.TOO_WIDE,
        ),
        ('{ accounts(after: "bm90IGEgY3Vyc29y") { nodes { name } } }', Decline.REFUSED_INPUT),
    ],
    ids=["introspection", "too-wide", "refused-input"],
)
async def test_a_declined_operation_is_no_crash_and_says_why(
    api: Api, account: None, caplog: pytest.LogCaptureFixture, query: str, reason: Decline
) -> None:
    before = CRASHES.count()
    with caplog.at_level(logging.DEBUG, logger="clientgraph.plan"):
        response = await api.post(query)
    assert response.status_code == 200
    assert response.headers["X-Read-Path"] == "generic"
    assert CRASHES.count() == before
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    [message] = [r.getMessage() for r in caplog.records if r.name == "clientgraph.plan"]
    assert message.startswith(f"not planned: {reason.value}")


async def test_a_planned_read_whose_connection_keeps_dying_is_no_crash(
    api: Api, account: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database's trouble is answered as the generic path answers it (here: its own read,
    on a connection of its own), whatever the planner was doing."""
    if api.db.dialect != "postgresql":
        pytest.skip("SQLite has no connection to lose")

    def terminating(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
        return func.pg_terminate_backend(func.pg_backend_pid()), None

    monkeypatch.setitem(HANDLERS["Account"], "name", terminating)
    before = CRASHES.count()
    response = await api.post(QUERY)
    assert response.headers["X-Read-Path"] == "generic"
    assert response.json()["data"] == {"accounts": {"nodes": [{"name": "Crash Test Ltd"}]}}
    assert CRASHES.count() == before


class _Lost(OSError):
    pass


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (DatabaseUnavailable("The database is not reachable."), True),
        (PoolTimeout("no connection free"), True),
        (OperationalError("SELECT 1", {}, _Lost("connection reset")), True),
        (OperationalError("SELECT no_such_column", {}, Exception("no such column")), False),
        (RuntimeError("a planner defect"), False),
    ],
    ids=["unavailable", "pool-timeout", "connection-lost", "bad-sql", "defect"],
)
def test_the_databases_trouble_is_told_apart_from_a_planner_defect(
    error: Exception, expected: bool
) -> None:
    assert database_condition(error) is expected
