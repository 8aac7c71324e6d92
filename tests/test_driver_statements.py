"""A planned read whose SQL is fixed sends the SQL compiled when it was planned through the
DBAPI cursor (db/driver_statement.py); one whose SQL expands a list at each execution (an
`in_()` of values) is executed by SQLAlchemy, which renders that list. Both answer as the
generic path does (tests/test_planned_reads.py); here, which way each went, read from the
engine's statement log."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from clientgraph.plan.planner import READ_PATH_HEADER

from tests.support import Api

ENGINE_LOG = "sqlalchemy.engine.Engine"
"""Logs each statement, then where its compiled form came from: "[compiled when planned]"
for a driver statement, "[generated in …]" or "[cached since …]" for SQLAlchemy's own."""

ACCOUNT = """query($id: ID!) { account(id: $id) { name status tags owner { name } } }"""
ACCOUNTS_OF_TWO_STATUSES = """{ accounts(filter: {status: [ACTIVE, INACTIVE]})
  { totalCount nodes { name } } }"""
AUDIT_EVENTS_OF_TWO_ACTIONS = """{ auditEvents(first: 5, filter: {actions: ["created", "updated"]})
  { nodes { action } } }"""


def origin_of_planned_statement(caplog: pytest.LogCaptureFixture) -> str:
    """What the engine log says of the planned statement: the line after its SQL."""
    logged = [record.getMessage() for record in caplog.records if record.name == ENGINE_LOG]
    [planned] = [at for at, message in enumerate(logged) if message.startswith("SELECT CAST")]
    return logged[planned + 1]


async def planned_read(
    api: Api, caplog: pytest.LogCaptureFixture, query: str, variables: dict[str, str]
) -> str:
    caplog.set_level(logging.INFO, ENGINE_LOG)
    response = await api.post(query, variables)
    assert response.status_code == 200, response.text
    assert "errors" not in response.json()
    assert response.headers[READ_PATH_HEADER] == "planned"
    return origin_of_planned_statement(caplog)


@pytest.mark.parametrize(
    ("query", "variables_of"),
    [
        (ACCOUNT, lambda account: {"id": account["id"]}),
        (ACCOUNTS_OF_TWO_STATUSES, lambda account: {}),
    ],
    ids=["an account by its id", "accounts of two statuses, bound as one array"],
)
async def test_a_planned_read_whose_sql_is_fixed_sends_it_as_compiled_when_planned(
    api: Api,
    caplog: pytest.LogCaptureFixture,
    query: str,
    variables_of: Callable[[dict[str, Any]], dict[str, str]],
) -> None:
    account = await api.create_account("Driver Statement ApS")

    origin = await planned_read(api, caplog, query, variables_of(account))

    assert origin.startswith("[compiled when planned]")


async def test_audit_events_filtered_by_a_list_of_actions_are_read_through_sqlalchemy(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    await api.create_account("Audited ApS")

    origin = await planned_read(api, caplog, AUDIT_EVENTS_OF_TWO_ACTIONS, {})

    assert origin.startswith(("[generated in", "[cached since"))
