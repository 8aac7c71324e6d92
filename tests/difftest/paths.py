"""Two apps over one database, one with the planned read path and one without, and the
comparison of their answers."""

from __future__ import annotations

import asyncio
import contextlib
import difflib
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from clientgraph.app import create_app
from clientgraph.db.engine import Database
from clientgraph.settings import Settings

from tests.difftest.world import World
from tests.support import settings_for

READ_PATH_HEADER = "x-read-path"
VERDICTS = {
    "planned": "planned",
    "generic": "declined by the planner, answered by the generic path",
    "crashed": "the planner CRASHED (a defect, not a decline)",
}
"""What the planned app's `X-Read-Path` says about the planner (a strict one, as in every
test: a crash fails the request rather than falling back)."""
ATTEMPTS = 3
LOAD_CODES = ("TIMEOUT", "SERVICE_UNAVAILABLE")
"""What a loaded machine answers (the request's deadline, or a database too busy to look up
the caller), whatever the read path: such a request is asked again."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    read_path: str | None


@dataclass(frozen=True)
class Mismatch:
    caller: str
    query: str
    variables: dict[str, Any]
    planned: Answer
    generic: Answer

    def report(self) -> str:
        planned = _pretty(self.planned)
        generic = _pretty(self.generic)
        diff = "\n".join(
            difflib.unified_diff(
                generic.splitlines(), planned.splitlines(), "generic", "planned", lineterm="", n=2
            )
        )
        verdict = VERDICTS.get(self.planned.read_path or "", repr(self.planned.read_path))
        failed = [
            name
            for name, answer in (("planned", self.planned), ("generic", self.generic))
            if failed_inside(answer)
        ]
        inside = f"; INTERNAL_SERVER_ERROR from {' and '.join(failed)}" if failed else ""
        return (
            f"--- caller {self.caller}: {verdict}{inside}\n"
            f"{self.query}\nvariables: {orjson.dumps(self.variables).decode()}\n{diff}"
        )


def _pretty(answer: Answer) -> str:
    return (
        f"HTTP {answer.status}\n" + orjson.dumps(answer.body, option=orjson.OPT_INDENT_2).decode()
    )


@dataclass(frozen=True)
class Exchange:
    query: str
    variables: dict[str, Any]
    mismatch: Mismatch | None
    planned: Answer
    generic: Answer

    @property
    def clean(self) -> bool:
        """Whether the generic path answered without an error: a document the planner is
        expected to plan."""
        return isinstance(self.generic.body, dict) and "errors" not in self.generic.body


@dataclass
class Paths:
    """Sends each request to both apps; counts the read path the planned app reports."""

    planned: httpx.AsyncClient
    generic: httpx.AsyncClient
    read_paths: Counter[str] = field(default_factory=Counter)

    async def _answer(
        self, client: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str
    ) -> Answer:
        response = await client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
        return Answer(
            response.status_code,
            orjson.loads(response.content),
            response.headers.get(READ_PATH_HEADER),
        )

    async def compare(
        self, caller: str, token: str, query: str, variables: dict[str, Any] | None = None
    ) -> tuple[Mismatch | None, str | None]:
        """(None if both apps answer alike — status, and the body with its keys in order —
        else the mismatch; the planned app's read path); see `exchange`."""
        exchange = await self.exchange(caller, token, query, variables)
        return exchange.mismatch, exchange.planned.read_path

    async def exchange(
        self, caller: str, token: str, query: str, variables: dict[str, Any] | None = None
    ) -> Exchange:
        """Both apps' answers, and the mismatch if they differ. Both apps are asked at once. A
        request stopped by the machine's load (`LOAD_CODES`) is asked again: that says
        nothing about the read path.

        No pair is excused: errors are alike only when both bodies are, and an
        INTERNAL_SERVER_ERROR (a masked defect, or a crash of the strict planner) is never
        alike, even from both paths at once."""
        variables = variables or {}
        for _ in range(ATTEMPTS):
            planned, generic = await asyncio.gather(
                self._answer(self.planned, query, variables, token),
                self._answer(self.generic, query, variables, token),
            )
            if not (_overloaded(planned) or _overloaded(generic)):
                break
        self.read_paths[planned.read_path or "none"] += 1
        alike = planned.status == generic.status and _exact(planned.body) == _exact(generic.body)
        if alike and not (failed_inside(planned) or failed_inside(generic)):
            return Exchange(query, variables, None, planned, generic)
        return Exchange(
            query, variables, Mismatch(caller, query, variables, planned, generic), planned, generic
        )

    async def compare_callers(
        self, tokens: dict[str, str], query: str, variables: dict[str, Any] | None = None
    ) -> list[Mismatch]:
        """The mismatches of one request sent as each caller, all at once."""
        found = await asyncio.gather(
            *(self.compare(caller, token, query, variables) for caller, token in tokens.items())
        )
        return [mismatch for mismatch, _ in found if mismatch is not None]


def failed_inside(answer: Answer) -> bool:
    """Whether the answer holds an INTERNAL_SERVER_ERROR: a defect of either path."""
    errors = answer.body.get("errors") if isinstance(answer.body, dict) else None
    return any(
        (error.get("extensions") or {}).get("code") == "INTERNAL_SERVER_ERROR"
        for error in errors or []
    )


def _overloaded(answer: Answer) -> bool:
    errors = answer.body.get("errors") if isinstance(answer.body, dict) else None
    return any((error.get("extensions") or {}).get("code") in LOAD_CODES for error in errors or [])


def _exact(body: Any) -> bytes:
    """The body as canonical bytes that keep its keys' order: GraphQL answers fields in the
    order they were asked."""
    return orjson.dumps(body)


@contextlib.asynccontextmanager
async def both_paths(
    db: Database, planned: Settings | None = None, generic: Settings | None = None
) -> AsyncIterator[Paths]:
    """Clients of the app with the planned read path and of the app without (by default;
    other settings let a test check the comparison itself)."""
    planned_app = create_app(planned or settings_for(db.url, planned_reads=True), db)
    generic_app = create_app(generic or settings_for(db.url, planned_reads=False), db)
    async with (
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=planned_app), base_url="http://planned"
        ) as planned_client,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=generic_app), base_url="http://generic"
        ) as generic_client,
    ):
        yield Paths(planned_client, generic_client)


def summary(mismatches: list[Mismatch], shown: int = 5) -> str:
    head = "\n\n".join(m.report() for m in mismatches[:shown])
    more = f"\n\n… and {len(mismatches) - shown} more" if len(mismatches) > shown else ""
    count = len(mismatches)
    return f"{count} answers differ between the planned and the generic path:\n\n{head}{more}"


CURSOR_QUERIES = {
    "owner": """query($account: ID!, $contact: ID!) {
      byName: accounts(first: 100, filter: {status: []}) { edges { cursor } }
      byNumber: accounts(first: 100, filter: {status: []},
                         orderBy: {field: CUSTOMER_NUMBER, direction: DESC}) { edges { cursor } }
      byOwner: accounts(first: 100, orderBy: {field: OWNER_NAME}) { edges { cursor } }
      contacts(first: 100) { edges { cursor } }
      users(first: 100) { edges { cursor } }
      clientOwners(first: 100) { edges { cursor } }
      emailDeliveries(first: 100) { edges { cursor } }
      account(id: $account) { history(first: 100) { edges { cursor } } }
      contact(id: $contact) { history(first: 100) { edges { cursor } } }
    }""",
    "assigned_staff": "{ viewer { notifications(first: 100) { edges { cursor } } } }",
}


async def gather_cursors(paths: Paths, world: World) -> None:
    """Real cursors of every connection, for generated `after`/`before` arguments."""
    variables = {"account": world.ids["account"][1], "contact": world.ids["contact"][0]}
    for caller, query in CURSOR_QUERIES.items():
        answer = await paths._answer(paths.generic, query, variables, world.tokens[caller])
        assert "errors" not in answer.body, answer.body
        for field_name, value in _connections(answer.body["data"]):
            world.cursors.setdefault(field_name, []).extend(
                edge["cursor"] for edge in value["edges"]
            )
    world.cursors["accounts"] = [
        *world.cursors.pop("byName"),
        *world.cursors.pop("byNumber"),
        *world.cursors.pop("byOwner"),
    ]


def _connections(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, value in data.items():
        if isinstance(value, dict):
            found.extend([(name, value)] if "edges" in value else _connections(value))
    return found
