"""The planned read path answers exactly as Strawberry's executor does (issue 8, point 2).

Two apps over the same database, one with `planned_reads` on and one with it off, are sent
the same requests, and their answers must be equal: the status and the whole body (data,
errors with their paths, extensions with the cost), keys in the same order. The requests:
every query operation written in the tests and in README.md, and 1,000 generated from the
schema by hypothesis-graphql (tests/difftest/generated.py), each as the firm's OWNER, as a
STAFF user who holds only the `…ASSIGNED…` rights, and as the OWNER of another firm, on the
rich fixture of tests/difftest/world.py; on SQLite and PostgreSQL (the `database` fixture).

The planned app reports its read path in `X-Read-Path`; the tally per database is written to
`var/difftest/read-paths-<database>.json`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import graphql
import httpx
import orjson
import pytest
from clientgraph.db.engine import Database
from clientgraph.schema.graphql_core import graphql_schema
from clientgraph.schema.schema import build_schema

from bench.operations import ACCOUNT_PAGE, DASHBOARD
from tests.difftest.documents import operations, variable_sets
from tests.difftest.generated import fill, generated_queries
from tests.difftest.paths import Mismatch, Paths, both_paths, gather_cursors, summary
from tests.difftest.world import CALLERS, World, build_world
from tests.support import settings_for

GENERATED = 1000
CHUNKS = 5
TALLY = Path(__file__).resolve().parents[1] / "var" / "difftest"


@pytest.fixture(scope="module")
async def paths(database: Database) -> AsyncIterator[Paths]:
    async with both_paths(database) as both:
        yield both
    TALLY.mkdir(parents=True, exist_ok=True)
    (TALLY / f"read-paths-{database.dialect}.json").write_bytes(
        orjson.dumps(dict(both.read_paths), option=orjson.OPT_INDENT_2)
    )


@pytest.fixture(scope="module")
async def world(database: Database, paths: Paths) -> World:
    built = await build_world(database)
    await gather_cursors(paths, built)
    return built


async def _compare_all(
    paths: Paths, world: World, requests: list[tuple[str, dict[str, object]]]
) -> list[Mismatch]:
    tokens = {caller: world.tokens[caller] for caller in CALLERS}
    mismatches = []
    for query, variables in requests:
        mismatches.extend(await paths.compare_callers(tokens, query, variables))
    return mismatches


async def test_a_difference_between_the_apps_is_reported_with_query_caller_and_diff(
    database: Database, world: World
) -> None:
    """The comparison itself can fail: two apps that page differently disagree."""
    query = "{ accounts { pageInfo { hasNextPage } nodes { name } } }"
    async with both_paths(
        database,
        planned=settings_for(database.url, planned_reads=False, default_page_size=2),
        generic=settings_for(database.url, planned_reads=False),
    ) as differing:
        mismatch, read_path = await differing.compare("owner", world.tokens["owner"], query)
        alike, _ = await differing.compare(
            "owner", world.tokens["owner"], "{ viewer { user { name } } }"
        )
    assert mismatch is not None
    assert alike is None
    assert read_path == "generic"
    report = mismatch.report()
    assert "caller owner" in report
    assert query in report
    changed = [line.replace(" ", "") for line in report.splitlines() if line[:1] in "+-"]
    assert '-"hasNextPage":false' in changed
    assert '+"hasNextPage":true' in changed


INTERNAL = {
    "data": None,
    "errors": [
        {"message": "Internal server error.", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
    ],
}
CRASHED = {"errors": INTERNAL["errors"]}
REFUSED = {
    "data": None,
    "errors": [{"message": "Not a cursor.", "extensions": {"code": "BAD_USER_INPUT"}}],
}
OTHERWISE_REFUSED = {
    "data": None,
    "errors": [{"message": "Too long.", "extensions": {"code": "BAD_USER_INPUT"}}],
}
DATA = {"data": {"viewer": {"permissions": []}}}


def canned(status: int, body: dict[str, Any], read_path: str) -> httpx.AsyncClient:
    """A client of an app that gives every request this answer."""
    answer = httpx.Response(status, json=body, headers={"X-Read-Path": read_path})
    return httpx.AsyncClient(
        transport=httpx.MockTransport(lambda _: answer), base_url="http://canned"
    )


@pytest.mark.parametrize(
    ("planned", "generic", "alike"),
    [
        ((200, DATA, "planned"), (200, DATA, "generic"), True),
        ((200, REFUSED, "generic"), (200, REFUSED, "generic"), True),
        ((200, REFUSED, "planned"), (200, OTHERWISE_REFUSED, "generic"), False),
        ((200, DATA, "generic"), (200, INTERNAL, "generic"), False),
        ((200, INTERNAL, "generic"), (200, INTERNAL, "generic"), False),
        ((500, CRASHED, "crashed"), (200, DATA, "generic"), False),
    ],
    ids=[
        "same-data",
        "same-error",
        "other-error",
        "generic-fails-inside",
        "both-fail-inside",
        "planner-crash",
    ],
)
async def test_no_pair_is_excused_errors_alike_only_when_equal_and_a_failure_inside_never(
    planned: tuple[int, dict[str, Any], str],
    generic: tuple[int, dict[str, Any], str],
    alike: bool,
) -> None:
    async with canned(*planned) as planned_client, canned(*generic) as generic_client:
        paths = Paths(planned_client, generic_client)
        mismatch, read_path = await paths.compare("owner", "token", "{ viewer { permissions } }")
    assert (mismatch is None) is alike
    assert read_path == planned[2]


@pytest.mark.parametrize(
    ("planned", "verdict"),
    [
        ((500, CRASHED, "crashed"), "the planner CRASHED"),
        ((200, INTERNAL, "generic"), "declined by the planner"),
    ],
)
async def test_a_mismatch_tells_a_planner_crash_from_a_decline(
    planned: tuple[int, dict[str, Any], str], verdict: str
) -> None:
    async with canned(*planned) as planned_client, canned(200, DATA, "generic") as generic_client:
        paths = Paths(planned_client, generic_client)
        mismatch, _ = await paths.compare("owner", "token", "{ viewer { permissions } }")
    assert mismatch is not None
    first = mismatch.report().splitlines()[0]
    assert verdict in first
    assert "INTERNAL_SERVER_ERROR from planned" in first
    assert paths.read_paths == {planned[2]: 1}


def test_documents_are_collected_from_the_tests_and_the_readme() -> None:
    found = operations()
    sources = {operation.source.split(":")[0] for operation in found}
    assert "README.md" in sources
    assert len([s for s in sources if s.startswith("tests/")]) >= 20
    assert any(operation.document.startswith("query Dashboard") for operation in found)
    assert not any(operation.document.startswith("mutation") for operation in found)


def test_generated_documents_are_valid_distinct_and_reproducible() -> None:
    documents = generated_queries(GENERATED)
    assert len(set(documents)) == GENERATED
    schema = graphql_schema(build_schema())
    invalid = [
        document
        for document in documents
        if graphql.validate(schema, graphql.parse(document.replace("@@", "")))
    ]
    assert invalid == []
    assert generated_queries.__wrapped__(50) == documents[:50]


@pytest.mark.parametrize("caller", CALLERS)
async def test_documents_of_the_tests_and_readme_answer_alike(
    paths: Paths, world: World, caller: str
) -> None:
    requests = [
        (document, variables)
        for operation in operations()
        for document in [fill(operation.document, world)]
        for variables in variable_sets(document, world)
    ]
    tokens = {caller: world.tokens[caller]}
    mismatches = []
    for query, variables in requests:
        mismatches.extend(await paths.compare_callers(tokens, query, variables))
    assert not mismatches, summary(mismatches)


@pytest.mark.parametrize("chunk", range(CHUNKS))
async def test_generated_queries_answer_alike(paths: Paths, world: World, chunk: int) -> None:
    documents = generated_queries(GENERATED)
    size = len(documents) // CHUNKS
    mine = documents[chunk * size : (chunk + 1) * size]
    mismatches = await _compare_all(paths, world, [(fill(d, world), {}) for d in mine])
    assert not mismatches, summary(mismatches)


@pytest.mark.parametrize("caller", CALLERS)
async def test_dashboard_and_account_page_take_the_planned_path(
    paths: Paths, world: World, caller: str
) -> None:
    requests = [(DASHBOARD, {})] + [
        (ACCOUNT_PAGE, {"id": world.ids[kind][index]})
        for kind in ("assigned_account", "unassigned_account")
        for index in (0, 1)
    ]
    read_paths = []
    mismatches = []
    for query, variables in requests:
        found, read_path = await paths.compare(caller, world.tokens[caller], query, variables)
        mismatches.extend([found] if found is not None else [])
        read_paths.append(read_path)
    assert not mismatches, summary(mismatches)
    assert read_paths == ["planned"] * len(requests)
