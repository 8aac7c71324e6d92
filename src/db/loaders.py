"""Per-request DataLoaders: one batched `WHERE key IN (...)` statement per declared relation
(`clientgraph.db.relation`), and the few reads that are not relations.

Every loader runs its statement through `run`, which serialises use of the request's one
AsyncSession (DataLoader dispatches each batch as its own task, and a session refuses
concurrent operations).

A relation's batch statement is built once per kind of caller (`auth.viewer`) and
list limits, its caller's ids and its parents' ids given as parameters (`batch_statement`):
building a statement and its cache key anew cost as much CPU as running it (a mutation's
payload read by a script alone against PostgreSQL, a diagnosis, not over HTTP, the machine
otherwise idle: 478 µs of CPU a statement built each time, 258 built once).
"""

from __future__ import annotations

import functools
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from clientgraph.db.queries import to_row
from clientgraph.db.relation import Related, Relation, Shape
from clientgraph.list_limits import ListLimits
from sqlalchemy import Row, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

K = TypeVar("K")
V = TypeVar("V")
RowT = TypeVar("RowT")
Ids = list[uuid.UUID]
KEYS = "cg_keys"
"""The parameter of a batch statement that holds its parents' ids."""
BATCH_STATEMENTS_KEPT = 256
"""Batch statements kept per worker, one per relation, kind of caller, list limits and rows
or counts: about 46 KiB each with its cache key (measured with tracemalloc), 12 MiB at most;
some 40 serve one kind of caller."""


class CallerShape(Protocol):
    """What of a caller decides a statement's SQL (`auth.viewer.ViewerShape`): hashable."""

    portal: bool

    def stand_in(self) -> Any:
        """A caller of this shape whose ids are SQL parameters."""
        ...


class Caller(Protocol):
    """Whom the loaders read for (`auth.viewer.Viewer`), as the relations take it."""

    @property
    def shape(self) -> CallerShape: ...

    def sql_parameters(self) -> Mapping[str, Any]:
        """The values of the shape's stand-in's parameters for this caller."""
        ...


class Runner(Protocol):
    """Runs a statement, with values for its named parameters, and returns its rows."""

    def __call__(
        self, statement: Select[Any], parameters: Mapping[str, Any] | None = None
    ) -> Awaitable[Sequence[Row[Any]]]: ...


def single(
    run: Runner, build: Callable[[Ids], Select[Any]], row_type: type[RowT]
) -> DataLoader[uuid.UUID, RowT | None]:
    """Each key to the row whose `id` it is, or None."""

    async def load(keys: Ids) -> list[RowT | None]:
        found = {row.id: to_row(row_type, row) for row in await run(build(keys))}
        return [found.get(key) for key in keys]

    return DataLoader(load_fn=load)


def relation_statement(related: Related, shape: Shape) -> Select[Any]:
    """The parent key and the shape's columns of every row of the parents whose ids parameter
    KEYS gives, each parent's rows in the relation's order; with `cut_in_sql`, at most `limit`
    of each in SQL (else the loader cuts each list as it groups them)."""
    columns = list(shape.columns(related.entity))
    statement = related.for_keys(KEYS).add_columns(related.key, *columns)
    if not (related.cut_in_sql and related.limit is not None):
        return statement.order_by(*related.order.clauses())
    rank = (
        func.row_number()
        .over(partition_by=related.key, order_by=related.order.clauses())
        .label("rank")
    )
    ranked = statement.add_columns(rank).subquery()
    selected = list(ranked.c)[: 1 + len(columns)]
    return (
        select(*selected).where(ranked.c.rank <= related.limit).order_by(selected[0], ranked.c.rank)
    )


def count_statement(related: Related) -> Select[Any]:
    """The parent key and how many rows (uncut) each parent has of those whose ids parameter
    KEYS gives."""
    return related.for_keys(KEYS).add_columns(related.key, func.count()).group_by(related.key)


def _built(
    relation: Relation, viewer: Any, lists: ListLimits, counts: bool
) -> tuple[Select[Any], int | None]:
    related = relation.rows_alone(viewer, lists)
    statement = count_statement(related) if counts else relation_statement(related, relation.shape)
    return statement, related.limit


@functools.lru_cache(maxsize=BATCH_STATEMENTS_KEPT)
def _shared_statement(
    relation: Relation, shape: CallerShape, lists: ListLimits, counts: bool
) -> tuple[Select[Any], int | None]:
    return _built(relation, shape.stand_in(), lists, counts)


def batch_statement(
    relation: Relation, viewer: Caller, lists: ListLimits, *, counts: bool = False
) -> tuple[Select[Any], Mapping[str, Any], int | None]:
    """`relation`'s batch statement for `viewer` (of its rows, or with `counts` of how many
    each parent has), the values of its caller's parameters (KEYS still to add) and the most
    rows a parent shows. Shared by every caller of the same kind; a portal contact's own."""
    shape = viewer.shape
    if shape.portal:
        statement, limit = _built(relation, viewer, lists, counts)
        return statement, {}, limit
    statement, limit = _shared_statement(relation, shape, lists, counts)
    return statement, viewer.sql_parameters(), limit


async def _batch(
    run: Runner,
    relation: Relation,
    viewer: Caller,
    lists: ListLimits,
    keys: list[Any],
    *,
    counts: bool = False,
) -> tuple[Sequence[Row[Any]], int | None]:
    """The rows of `relation`'s batch statement for `keys` (`batch_statement`), and the most
    rows a parent shows."""
    statement, parameters, limit = batch_statement(relation, viewer, lists, counts=counts)
    return await run(statement, {**parameters, KEYS: list(keys)}), limit


def relation_loader(
    run: Runner, relation: Relation, viewer: Caller, lists: ListLimits
) -> DataLoader[Any, Any]:
    """The loader of one declared relation for one caller: each parent key to its list, or
    (for a unique relation) to its one value or None."""

    async def load(keys: list[Any]) -> list[Any]:
        return await load_relation(run, relation, viewer, lists, keys)

    return DataLoader(load_fn=load)


async def columns_on(
    session: AsyncSession, statement: Select[Any], parameters: Mapping[str, Any] | None = None
) -> Sequence[Row[Any]]:
    """The rows of `statement`, which selects columns (no mapped entity), on the connection of
    `session`'s transaction. Past the session's own execution (its ORM compile state and
    events, its autoflush, which a statement of columns read after the work's flush does not
    need): 165 µs of CPU a statement instead of 240 to 300 (a mutation's payload read by a
    script alone against PostgreSQL, a diagnosis, not over HTTP, the CI's tests beside it)."""
    connection = await session.connection()
    return (await connection.execute(statement, parameters)).all()


def on_session(session: AsyncSession) -> Runner:
    """A runner of statements of columns on `session` as it stands (a write's own
    transaction, after its flush, say): no retry, no new transaction."""

    async def run(
        statement: Select[Any], parameters: Mapping[str, Any] | None = None
    ) -> Sequence[Row[Any]]:
        return await columns_on(session, statement, parameters)

    return run


async def load_relation(
    run: Runner, relation: Relation, viewer: Caller, lists: ListLimits, keys: list[Any]
) -> list[Any]:
    """What `relation_loader` loads for `keys`, read at once through `run` (a mutation's own
    transaction, say)."""
    rows, most = await _batch(run, relation, viewer, lists, keys)
    shape = relation.shape
    limit = 1 if relation.unique else most
    groups: dict[Any, list[Any]] = defaultdict(list)
    for row in rows:
        group = groups[row[0]]
        if limit is None or len(group) < limit:
            group.append(shape.make(row[1:]))
    found = [groups.get(key, []) for key in keys]
    if relation.unique:
        return [values[0] if values else None for values in found]
    return found


def keyed_loader(load: Callable[[list[K]], Awaitable[list[V]]]) -> DataLoader[K, V]:
    """A DataLoader for loads defined outside this module (e.g. batched first pages)."""
    return DataLoader(load_fn=load)


class Loaders:
    """The loaders of one request, scoped to the caller's firm and account visibility: one per
    declared relation (`of`), made on first use, and the few reads that are not relations."""

    def __init__(
        self,
        run: Runner,
        viewer: Caller,
        lists: ListLimits,
    ) -> None:
        self.run = run
        self.viewer = viewer
        self.lists = lists
        self.relations: dict[Relation, DataLoader[Any, Any]] = {}
        self.counts: dict[Relation, DataLoader[Any, int]] = {}

    def count_of(self, relation: Relation) -> DataLoader[Any, int]:
        """The request's loader of how many rows `relation` has for each parent (uncut)."""
        loader = self.counts.get(relation)
        if loader is None:

            async def load(keys: list[Any]) -> list[int]:
                rows, _ = await _batch(
                    self.run, relation, self.viewer, self.lists, keys, counts=True
                )
                found = {row[0]: int(row[1]) for row in rows}
                return [found.get(key, 0) for key in keys]

            loader = DataLoader(load_fn=load)
            self.counts[relation] = loader
        return loader

    def of(self, relation: Relation) -> DataLoader[Any, Any]:
        """The request's loader of `relation`."""
        loader = self.relations.get(relation)
        if loader is None:
            loader = relation_loader(self.run, relation, self.viewer, self.lists)
            self.relations[relation] = loader
        return loader
