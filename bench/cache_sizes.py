"""What the caches' entries weigh against what the caches estimate (`clientgraph.caches`).

    .venv/bin/python -m bench.cache_sizes

For documents of several kinds (a page, a megabyte string literal, a megabyte of comments,
5,000 tokens): the bytes of the parsed document with locations (the generic path's cache) and
without (the planned path's), each measured by walking the objects it alone holds, beside the
estimate. For plans: the bytes a plan allocates (tracemalloc), and those of its compiled
SQL, beside the estimates. The
estimates should be at or above what is measured, but for nested lists (about half)."""

from __future__ import annotations

import gc
import sys
import tracemalloc
import types
import uuid
from typing import Any

from clientgraph.auth.viewer import Viewer
from clientgraph.list_limits import ListLimits
from clientgraph.plan.build import Build
from clientgraph.plan.compiled import BYTES_PER_SQL_CHARACTER
from clientgraph.plan.document import BYTES_PER_NODE, Documents, NodeCount, Prepared
from clientgraph.plan.planner import PLAN_BYTES_PER_FIELD, Plan
from clientgraph.resolvers.context import PageLimits
from clientgraph.resolvers.enums import UserRole
from clientgraph.schema.document_cache import located_document_bytes
from clientgraph.schema.extensions import QueryLimits
from clientgraph.schema.schema import build_schema
from graphql import GraphQLSchema, get_variable_values, parse, visit
from graphql.execution.values import VariableValues
from sqlalchemy import Text, cast, select
from sqlalchemy.dialects import postgresql

from bench.operations import ACCOUNT_PAGE, DASHBOARD

MEGABYTE = "x" * 900_000
DOCUMENTS = {
    "dashboard": DASHBOARD,
    "account page": ACCOUNT_PAGE,
    "0.9 MB string": (
        f'mutation {{ createContact(input: {{firstName: "{MEGABYTE}", lastName: "L"}}) '
        "{ userErrors { code } } }"
    ),
    "0.9 MB comment": f"#{MEGABYTE}\n{{ viewer {{ user {{ name }} }} }}",
    "5,000 tokens": "{ " + "__typename " * 4990 + "}",
}
PLANNED = {
    "dashboard": DASHBOARD,
    "account page": ACCOUNT_PAGE,
    "viewer": "{ viewer { user { name } } }",
    "40 scalars": "{ accounts(first: 10) { nodes { "
    + " ".join(f"a{n}: name" for n in range(40))
    + " } } }",
    "nested lists": "{ accounts(first: 10) { nodes { contacts { contact { accounts "
    "{ account { name tags owner { name } } } } } } } }",
}
KIB = 1024


def held_bytes(root: object) -> int:
    """The bytes of every object reachable from `root`, types, modules and functions aside."""
    seen: set[int] = set()
    pending = [root]
    total = 0
    while pending:
        current = pending.pop()
        if id(current) in seen or isinstance(current, type | types.ModuleType | types.FunctionType):
            continue
        seen.add(id(current))
        total += sys.getsizeof(current)
        pending.extend(gc.get_referents(current))
    return total


def documents() -> None:
    print(f"{'document':16} {'chars':>8} | {'generic':>9} {'estimate':>9} |", end="")
    print(f" {'planned':>9} {'estimate':>9}")
    for name, text in DOCUMENTS.items():
        located = parse(text, max_tokens=5000)
        bare = parse(text, no_location=True, max_tokens=5000)
        nodes = NodeCount()
        visit(bare, nodes)
        print(
            f"{name:16} {len(text):8} | {held_bytes(located) // KIB:7} Ki "
            f"{located_document_bytes(located) // KIB:7} Ki | {held_bytes(bare) // KIB:7} Ki "
            f"{(len(text) + BYTES_PER_NODE * nodes.count) // KIB:7} Ki"
        )


def built_plan(
    schema: GraphQLSchema, prepared: Prepared, coerced: VariableValues, viewer: Viewer
) -> tuple[Plan, int, int]:
    """A plan as the planner builds it; the bytes it allocated, and its fields."""
    operation = prepared.operation(None)
    assert operation is not None and schema.query_type is not None
    gc.collect()
    tracemalloc.start()
    build = Build(
        schema, prepared.fragments, coerced, viewer, ListLimits(), PageLimits(), "postgresql"
    )
    value, fix = build.object_of(
        "Query", build.fields(schema.query_type, [operation.selection_set]), None
    )
    plan = Plan(select(cast(value, Text)), None, fix, tuple(build.binders), 0)
    del value, fix
    gc.collect()
    measured = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return plan, measured, build.fields_built


def compiled_bytes(plan: Plan) -> tuple[int, int]:
    """What the plan's statement compiled for PostgreSQL keeps in a compiled cache (with its
    cache key, the cache's key); and the length of its SQL."""
    gc.collect()
    tracemalloc.start()
    key = plan.statement._generate_cache_key()
    compiled = plan.statement.compile(dialect=postgresql.asyncpg.dialect())
    gc.collect()
    measured = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del key
    return measured, len(compiled.string)


def plans() -> None:
    """Each plan is built twice and the second measured: the first also fills what
    SQLAlchemy and the handlers set up once."""
    schema = build_schema()._schema
    prepared_documents = Documents(schema, QueryLimits(), 100, 10**9)
    viewer = Viewer(uuid.uuid4(), uuid.uuid4(), "Bench", UserRole.OWNER, frozenset())
    print(f"\n{'plan':16} {'fields':>6} | {'measured':>9} {'estimate':>9}", end="")
    print(f" | {'compiled':>9} {'estimate':>9}")
    for name, text in PLANNED.items():
        prepared = prepared_documents.get(text)
        assert prepared is not None, name
        operation = prepared.operation(None)
        assert operation is not None
        variables: dict[str, Any] = {"id": "QWNjb3VudDox"} if "$id" in text else {}
        coerced = get_variable_values(schema, operation.variable_definitions or (), variables)
        assert not isinstance(coerced, list)
        kept = [built_plan(schema, prepared, coerced, viewer) for _ in range(2)]
        plan, measured, fields = kept[-1]
        estimate = PLAN_BYTES_PER_FIELD * fields + len(text)
        print(f"{name:16} {fields:6} | {measured // KIB:7} Ki {estimate // KIB:7} Ki", end="")
        compiled, characters = compiled_bytes(plan)
        print(f" | {compiled // KIB:7} Ki {BYTES_PER_SQL_CHARACTER * characters // KIB:7} Ki")


if __name__ == "__main__":
    documents()
    plans()
