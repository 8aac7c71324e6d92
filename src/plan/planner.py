"""The planned read path's entry: a request payload in, a finished response or None out.
None hands the request to Strawberry's executor, which answers it as it always has: every
operation that would give any error, every field without a plan, and every request of a
portal principal (whose one field, `portal`, PortalScope guards) goes there.

Declining (`Unplanned`) is one thing, crashing another (see `clientgraph.plan.errors`): an
unexpected exception is logged at ERROR with the document's digest and counted, and fails the
request when the planner is strict. What the database does to the planned statement and to the
generic path's alike (a timeout, a lost connection, SQLite's parser depth) is neither."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from clientgraph import metrics
from clientgraph.auth.viewer import Viewer
from clientgraph.caches import BoundedLru
from clientgraph.db.driver_statement import DriverStatement
from clientgraph.db.engine import DatabaseUnavailable, connection_lost
from clientgraph.list_limits import ListLimits
from clientgraph.plan import fields as _fields  # noqa: F401  (registers the field handlers)
from clientgraph.plan.build import Binder, Build, Counter, Fix
from clientgraph.plan.compiled import CompiledStatements
from clientgraph.plan.document import Documents, Prepared
from clientgraph.plan.errors import CRASHES, PlannerCrash, Stage, Unplanned
from clientgraph.plan.sqljson import register_sqlite_functions
from clientgraph.resolvers.context import Context, Cost, PageLimits
from clientgraph.resolvers.errors import RequestTimeout
from clientgraph.schema.cost import cost_extension, requested_nodes
from clientgraph.schema.extensions import QueryLimits, error_code, longest_variable_list
from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    ListTypeNode,
    NamedTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    TypeNode,
    get_variable_values,
)
from graphql.execution.values import VariableValues
from sqlalchemy import Select, Text, cast, select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

logger = logging.getLogger("clientgraph.plan")

READ_PATH_HEADER = "X-Read-Path"
CRASHED_READ_PATH = "crashed"
"""`X-Read-Path` of a request a strict planner failed (`PlannerCrash`)."""
SQLITE_FUNCTIONS = "clientgraph.plan.functions"


@dataclass(frozen=True, slots=True)
class Plan:
    """One operation for one shape of caller and of variables: its statement (ids and bound
    arguments as parameters), the binders that give those, and the Python finish."""

    statement: Select[Any]
    driver: DriverStatement | None
    """The statement's SQL for the dialect it was planned for, when that SQL is fixed."""
    fix: Fix | None
    binders: tuple[Binder, ...]
    requested_nodes: int
    """The node count of the variables it was built for (`schema.cost`): the same for every
    request it serves, unless a bound variable sizes a list."""


UNPLANNED = object()
"""A cached "the generic path answers this"."""


DOCUMENTS_CACHED = 1000
PLANS_CACHED = 128
PLAN_BYTES_PER_FIELD = 32 * 1024
"""A plan's SQL expression objects per response key it builds: 20 to 25 KiB measured for the
dashboard and the account page (560 to 870 KiB each), up to 49 KiB for nested lists, 1 KiB
for scalars side by side (`bench/cache_sizes.py`). A plan's estimate adds the document's
length, for the literal values it binds, and its key's structural variables."""


AHEAD_FILL = 0.5
"""The share of the plan caches plans made ahead may fill: the rest is the requests'."""


@dataclass(frozen=True, slots=True)
class CacheBounds:
    """Per worker: the prepared documents' and the plans' byte budgets."""

    document_bytes: int
    plan_bytes: int


class Planner:
    def __init__(
        self,
        schema: GraphQLSchema,
        limits: QueryLimits,
        bounds: CacheBounds,
        *,
        strict: bool = False,
    ) -> None:
        self.schema = schema
        self.limits = limits
        self.strict = strict
        self.documents = Documents(schema, limits, DOCUMENTS_CACHED, bounds.document_bytes)
        self.plans: BoundedLru[PlanKey, Plan | object] = BoundedLru(PLANS_CACHED, bounds.plan_bytes)
        self.compiled = CompiledStatements(PLANS_CACHED, bounds.plan_bytes)

    def _plan(
        self,
        prepared: Prepared,
        operation: OperationDefinitionNode,
        variables: VariableValues,
        caller: Caller,
        requested: int,
        request_id: str | None,
        dialect: Dialect,
    ) -> tuple[Plan | object, int]:
        """The plan, or UNPLANNED; and its estimated bytes."""
        build = Build(
            self.schema,
            prepared.fragments,
            variables,
            caller.viewer,
            caller.lists,
            caller.pages,
            caller.dialect,
        )
        try:
            root = self.schema.query_type
            assert root is not None
            fields = build.fields(root, [operation.selection_set])
            value, fix = build.object_of("Query", fields, None)
        except Unplanned as decline:
            logger.debug("not planned: %s", decline)
            return UNPLANNED, 0
        except Exception:
            self._crashed(Stage.PLANNING, prepared, request_id)
            return UNPLANNED, 0
        statement = select(cast(value, Text))
        driver = DriverStatement.of(statement, dialect)
        plan = Plan(statement, driver, fix, tuple(build.binders), requested)
        size = PLAN_BYTES_PER_FIELD * build.fields_built + (0 if driver is None else driver.size)
        return plan, size

    def room_ahead(self) -> bool:
        """Whether plans made ahead (`prepare`) may still be added: they stop at `AHEAD_FILL`
        of the plan caches, so that they do not evict one another."""
        return max(self.plans.fill, self.compiled.cache.fill) < AHEAD_FILL

    def prepare(self, text: str, caller: Caller, dialects: Sequence[Dialect]) -> int:
        """Plan ahead each query operation of the document `text` for requests of `caller`'s
        shape, its SQL compiled as executing it would: what the first such request then finds
        cached. `dialects` are those of the engines reads go to (the primary's first, a
        replica's of the same dialect); a plan whose SQL is fixed (`DriverStatement`) is
        compiled once for them all, any other for each. Nothing is read. Returns how many
        plans it made.

        The variables are taken as a request that sends none of its optional ones would give
        them: a variable the plan binds as an SQL parameter (`Prepared.bindable`: ids,
        cursors) with a placeholder when its type requires one (the plan serves every value),
        else absent; any other variable shapes the SQL by its value, so it takes its default
        (null without one), and an operation with a required one of those is skipped, as is
        one past the node limit. A request whose structural variables differ is planned when
        it comes."""
        prepared = self.documents.get(text)
        if prepared is None or prepared.longest_literal_list > caller.lists.input_list:
            return 0
        made = 0
        for operation in prepared.operations:
            variables = _assumed_variables(operation, prepared.bindable)
            if operation.operation != OperationType.QUERY or variables is None:
                continue
            definitions = operation.variable_definitions or ()
            coerced = get_variable_values(self.schema, definitions, variables)
            if isinstance(coerced, list):
                continue
            key = _plan_key(prepared, operation, caller, coerced)
            if key in self.plans:
                continue
            name = operation.name.value if operation.name is not None else None
            requested = requested_nodes(
                self.schema, prepared.document, name, variables, caller.pages, caller.lists
            )
            if requested > self.limits.max_nodes:
                continue
            plan, size = self._plan(
                prepared, operation, coerced, caller, requested, None, dialects[0]
            )
            self.plans.put(key, plan, size + len(text) + _key_bytes(key))
            if isinstance(plan, Plan) and plan.driver is None:
                given = caller.viewer.sql_parameters()
                for dialect in dialects:
                    self.compiled.compile_ahead(plan.statement, dialect, given)
                made += 1
        return made

    async def answer(self, payload: dict[str, Any] | None, context: Context) -> Response | None:
        """The response to a query the plan covers, or None for Strawberry to answer."""
        if payload is None or context.viewer.is_portal:
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
        if max(prepared.longest_literal_list, longest_variable_list(variables)[1]) > maximum:
            return None
        caller = Caller(context.viewer, context.lists, context.limits, context.db.dialect)
        key = _plan_key(prepared, operation, caller, coerced)
        plan = self.plans.get(key)
        (metrics.PLAN_CACHE_MISS if plan is None else metrics.PLAN_CACHE_HIT).inc()
        if isinstance(plan, Plan) and not prepared.sized_by_variables:
            requested = plan.requested_nodes
        else:
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
        context.cost = Cost(requested_nodes=requested)
        if plan is None:
            plan, size = self._plan(
                prepared,
                operation,
                coerced,
                caller,
                requested,
                context.request_id,
                context.session.bind.dialect,
            )
            self.plans.put(key, plan, size + len(query) + _key_bytes(key))
        if plan is UNPLANNED:
            return None
        assert isinstance(plan, Plan)
        parameters = context.viewer.sql_parameters()
        try:
            for binder in plan.binders:
                parameters.update(binder(coerced))
        except Unplanned as decline:
            logger.debug("not planned: %s", decline)
            return None
        except Exception:
            self._crashed(Stage.BINDING, prepared, context.request_id)
            return None
        unavailable = context.unavailable
        try:
            text = await _read(context, plan, parameters, self.compiled)
        except RequestTimeout as timeout:
            logger.warning("the planned statement ran past the database's time limit")
            return _timed_out(context, operation, timeout)
        except Exception as error:
            context.unavailable = unavailable
            await context.end_transaction()
            if too_deep_for(error):
                self.plans.put(key, UNPLANNED, _key_bytes(key))
                logger.info("too deeply nested for SQLite's parser; the generic path answers")
            elif database_condition(error):
                logger.warning(
                    "the planned statement met the database's trouble; the generic path answers",
                    exc_info=True,
                )
            else:
                self._crashed(Stage.READING, prepared, context.request_id)
            return None
        counter = Counter()
        try:
            data = orjson.loads(text)
            if plan.fix is not None:
                data = plan.fix(data, counter)
        except Exception:
            self._crashed(Stage.FINISHING, prepared, context.request_id)
            return None
        context.cost = Cost(requested_nodes=requested, actual_nodes=counter.nodes)
        body = {"data": data, "extensions": {"cost": cost_extension(context.cost)}}
        return Response(
            orjson.dumps(body),
            media_type="application/json",
            headers={READ_PATH_HEADER: "planned"},
        )

    def _crashed(self, stage: Stage, prepared: Prepared, request_id: str | None) -> None:
        """A planner defect met while handling the current exception: logged and counted;
        raised as `PlannerCrash` when strict, else the generic path answers."""
        CRASHES.record(stage)
        digest = prepared.digest.hex()
        logger.error(
            "request %s: the planner crashed while %s document %s%s",
            request_id or "-",
            stage.value,
            digest,
            "" if self.strict else "; the generic path answers",
            exc_info=True,
        )
        if self.strict:
            raise PlannerCrash(stage, digest)


def _timed_out(
    context: Context, operation: OperationDefinitionNode, timeout: RequestTimeout
) -> Response:
    """TIMEOUT at the operation's first root field, as the generic path reports a statement
    past the database's time limit (every root field is non-null or nulls `data` the same
    way). The transaction is rolled back already. Running the operation again on the generic
    path would spend what is left of the request's deadline on the same data, and a
    cancellation there could leave fields half-answered."""
    error = GraphQLError(str(timeout), original_error=timeout)
    first = next(
        (node for node in operation.selection_set.selections if isinstance(node, FieldNode)),
        None,
    )
    reported: dict[str, Any] = {"message": error.message}
    if first is not None:
        reported["path"] = [first.alias.value if first.alias else first.name.value]
    reported["extensions"] = {"code": error_code(error)}
    body = {
        "data": None,
        "errors": [reported],
        "extensions": {"cost": cost_extension(context.cost)},
    }
    return Response(
        orjson.dumps(body), media_type="application/json", headers={READ_PATH_HEADER: "planned"}
    )


def too_deep_for(error: Exception) -> bool:
    """SQLite (before 3.46) parses with a fixed stack: about five levels of nested lists in
    one statement. Deeper operations stay on the generic path there."""
    return "parser stack overflow" in str(error)


def database_condition(error: Exception) -> bool:
    """Whether `error` is the database's doing, which the generic path meets and answers the
    same way (503, or a read retried on a fresh connection), not a planner defect."""
    return isinstance(error, DatabaseUnavailable | PoolTimeout) or connection_lost(error)


PlanKey = tuple[bytes, str | None, tuple[Any, ...], str, tuple[tuple[str, Any], ...]]
"""The document's digest, the operation's name, the caller's shape, the dialect and the
structural variables."""


@dataclass(frozen=True, slots=True)
class Caller:
    """Whom a plan is built for: the caller (of whom only the shape counts, `Viewer.shape`),
    the request's limits and the database's dialect."""

    viewer: Viewer
    lists: ListLimits
    pages: PageLimits
    dialect: str


def _plan_key(
    prepared: Prepared,
    operation: OperationDefinitionNode,
    caller: Caller,
    variables: VariableValues,
) -> PlanKey:
    """The operation by its own name (None when anonymous), however the request named it
    (a document of one operation runs with or without `operationName`)."""
    return (
        prepared.digest,
        operation.name.value if operation.name is not None else None,
        caller.viewer.shape,
        caller.dialect,
        _structural_variables(operation, prepared.bindable, variables),
    )


def _key_bytes(key: PlanKey) -> int:
    """The key's own size: a structural variable's value is kept in it, as JSON."""
    return sum(len(shaped) for _, shaped in key[4] if isinstance(shaped, bytes))


def _assumed_variables(
    operation: OperationDefinitionNode, bindable: frozenset[str]
) -> dict[str, Any] | None:
    """The variables `Planner.prepare` plans an operation for; None if one that shapes the
    SQL is required (its value cannot be guessed)."""
    assumed: dict[str, Any] = {}
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        required = isinstance(definition.type, NonNullTypeNode) and definition.default_value is None
        if not required:
            continue
        if name not in bindable:
            return None
        placeholder = _placeholder(definition.type)
        if placeholder is None:
            return None
        assumed[name] = placeholder
    return assumed


def _placeholder(type_: TypeNode) -> Any:
    """A value of a bindable variable's type (an id, a cursor, a list of ids), or None."""
    if isinstance(type_, NonNullTypeNode):
        return _placeholder(type_.type)
    if isinstance(type_, ListTypeNode):
        return []
    if isinstance(type_, NamedTypeNode) and type_.name.value in PLACEHOLDERS:
        return PLACEHOLDERS[type_.name.value]
    return None


PLACEHOLDERS = {"ID": "", "String": ""}
"""A value of each type a bindable position takes."""


def _structural_variables(
    operation: OperationDefinitionNode, bindable: frozenset[str], variables: VariableValues
) -> tuple[tuple[str, Any], ...]:
    """The variables that shape the SQL, as coerced (defaults applied): a bindable one by
    whether it has a value, any other by its value."""
    shaped: list[tuple[str, Any]] = []
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        value = variables.coerced.get(name)
        if name in bindable:
            shaped.append((name, value is None))
        else:
            shaped.append((name, orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=repr)))
    return tuple(shaped)


async def _read(
    context: Context, plan: Plan, parameters: dict[str, Any], compiled: CompiledStatements
) -> str:
    async def run(session: AsyncSession) -> str:
        connection = await session.connection()
        if context.db.dialect == "sqlite":
            raw = await connection.get_raw_connection()
            if not raw.info.get(SQLITE_FUNCTIONS):
                await register_sqlite_functions(raw.driver_connection)
                raw.info[SQLITE_FUNCTIONS] = True
        if plan.driver is not None:
            return await plan.driver.scalar(connection, parameters)  # type: ignore[no-any-return]
        options = {"compiled_cache": compiled}
        return (
            await connection.execute(plan.statement, parameters, execution_options=options)
        ).scalar_one()

    return await context.read(run)
