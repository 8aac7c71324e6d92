"""The planned read path's entry: a request payload in, a finished response or None out.
None hands the request to Strawberry's executor, which answers it as it always has: every
operation that would give any error, and every field without a plan, goes there."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from clientgraph.db.engine import Database
from clientgraph.plan import fields as _fields  # noqa: F401  (registers the field handlers)
from clientgraph.plan.build import Build, Counter
from clientgraph.plan.document import Documents
from clientgraph.plan.errors import Unplanned
from clientgraph.plan.sqljson import register_sqlite_functions
from clientgraph.resolvers.context import Context, Cost
from clientgraph.schema.cost import cost_extension, requested_nodes
from clientgraph.schema.extensions import QueryLimits, _longest_variable_list
from graphql import GraphQLSchema, OperationType, get_variable_values
from sqlalchemy import Text, cast, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

logger = logging.getLogger("clientgraph.plan")

READ_PATH_HEADER = "X-Read-Path"
SQLITE_FUNCTIONS = "clientgraph.plan.functions"


class Planner:
    def __init__(self, schema: GraphQLSchema, limits: QueryLimits, cache_size: int = 1000) -> None:
        self.schema = schema
        self.limits = limits
        self.documents = Documents(schema, limits, cache_size)

    async def answer(self, payload: dict[str, Any] | None, context: Context) -> Response | None:
        """The response to a query the plan covers, or None for Strawberry to answer."""
        if payload is None:
            return None
        query, variables = payload.get("query"), payload.get("variables")
        operation_name = payload.get("operationName")
        if not isinstance(query, str) or not isinstance(operation_name, str | None):
            return None
        if variables is None:
            variables = {}
        if not isinstance(variables, dict):
            return None
        prepared = self.documents.get(query)
        if prepared is None:
            return None
        operation = prepared.operation(operation_name)
        if operation is None or operation.operation != OperationType.QUERY:
            return None
        coerced = get_variable_values(self.schema, operation.variable_definitions or (), variables)
        if isinstance(coerced, list):
            return None
        maximum = context.lists.input_list
        if max(prepared.longest_literal_list, _longest_variable_list(variables)[1]) > maximum:
            return None
        requested = requested_nodes(
            self.schema,
            prepared.document,
            operation_name,
            variables,
            context.limits,
            context.lists,
        )
        if requested > self.limits.max_nodes:
            return None
        build = Build(
            self.schema,
            prepared.fragments,
            coerced,
            context.viewer,
            context.lists,
            context.limits,
            context.db.dialect,
        )
        try:
            root = self.schema.query_type
            assert root is not None
            fields = build.fields(root, [operation.selection_set])
            value, fix = build.object_of("Query", fields, None)
        except Unplanned as reason:
            logger.debug("not planned: %s", reason)
            return None
        statement = select(cast(value, Text))
        try:
            text = await _read(context, statement)
        except Exception:
            logger.warning("the planned statement failed; the generic path answers", exc_info=True)
            await context.session.rollback()
            return None
        counter = Counter()
        data = orjson.loads(text)
        if fix is not None:
            data = fix(data, counter)
        context.cost = Cost(requested_nodes=requested, actual_nodes=counter.nodes)
        body = {"data": data, "extensions": {"cost": cost_extension(context.cost)}}
        return Response(
            orjson.dumps(body),
            media_type="application/json",
            headers={READ_PATH_HEADER: "planned"},
        )


async def _read(context: Context, statement: Any) -> str:
    async def run(session: AsyncSession) -> str:
        if context.db.dialect == "sqlite":
            connection = await session.connection()
            raw = await connection.get_raw_connection()
            if not raw.info.get(SQLITE_FUNCTIONS):
                await register_sqlite_functions(raw.driver_connection)
                raw.info[SQLITE_FUNCTIONS] = True
        return (await session.execute(statement)).scalar_one()

    return await context._read(run)


__all__ = ["READ_PATH_HEADER", "Database", "Planner"]
