"""Keyset pagination, written once for both read paths: the page size a request asks for,
the cursor comparisons, `hasNextPage`/`hasPreviousPage` and the cursor text. The generic path
runs it here (`paginate`, `batched_page`); the planner (`plan.connection`) builds the same
comparisons into its SQL and finishes its pages with the same `Window`.

The order is a `db.orders.Order` whose keys all go one way and end in a unique key, so it is
total: a cursor is the key of a row, and the next page is the rows strictly after it.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import orjson
from clientgraph.db.one_of import one_of
from clientgraph.db.orders import Order
from clientgraph.db.queries import to_row
from clientgraph.db.relation import Relation
from clientgraph.resolvers.context import Context
from clientgraph.resolvers.errors import BadUserInput
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Row,
    Select,
    TypeDecorator,
    func,
    literal,
    select,
    tuple_,
)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PageRequest:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    edges: list[tuple[str, T]]
    has_next_page: bool
    has_previous_page: bool
    count: Callable[[], Awaitable[int]]

    @property
    def start_cursor(self) -> str | None:
        return self.edges[0][0] if self.edges else None

    @property
    def end_cursor(self) -> str | None:
        return self.edges[-1][0] if self.edges else None


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def cursor_text(values: Sequence[Any]) -> str:
    """The cursor of a row whose key values are given in their JSON form (times in ISO 8601,
    uuids as text), as the planner reads them from its SQL."""
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode()


def encode_cursor(values: Sequence[Any]) -> str:
    return cursor_text([_encode_value(v) for v in values])


def decode_cursor(cursor: str, keys: Sequence[ColumnElement[Any]]) -> list[Any]:
    """The key values of a cursor `encode_cursor` made. Like ids, a cursor is accepted only
    in the exact form it was given out in: any other spelling of the same values (an upper-case
    uuid, another time zone, other JSON spacing or base64 alphabet) is refused."""
    try:
        raw = orjson.loads(base64.b64decode(cursor.encode(), altchars=b"-_", validate=True))
        if not isinstance(raw, list) or len(raw) != len(keys):
            raise ValueError(cursor)
        values = [_python_value(value, key) for value, key in zip(raw, keys, strict=True)]
        if encode_cursor(values) != cursor:
            raise ValueError(cursor)
        return values
    except (ValueError, TypeError, OverflowError, binascii.Error, orjson.JSONDecodeError) as error:
        raise BadUserInput(f"Invalid cursor: {cursor[:100]!r}") from error


def _python_type(sql_type: Any) -> Any:
    if isinstance(sql_type, TypeDecorator):
        sql_type = sql_type.impl_instance
    try:
        return sql_type.python_type
    except NotImplementedError:
        return None


def _int_bound(key: ColumnElement[Any]) -> int:
    """2 to the power of the key's bits less one: what its column can hold."""
    return 2**63 if isinstance(key.type, BigInteger) else 2**31


def _python_value(raw: Any, key: ColumnElement[Any]) -> Any:
    """A cursor part as the key's Python type; anything else is a forged cursor."""
    python_type = _python_type(key.type)
    if python_type is datetime and isinstance(raw, str):
        value = datetime.fromisoformat(raw)
        if value.tzinfo is None:
            raise ValueError(raw)
        return value.astimezone(UTC)
    if python_type is uuid.UUID and isinstance(raw, str):
        return uuid.UUID(raw)
    if python_type is str and type(raw) is str:
        return raw
    if python_type is int and type(raw) is int and -_int_bound(key) <= raw < _int_bound(key):
        return raw
    raise ValueError(raw)


@dataclass(frozen=True, slots=True)
class Window:
    """The rows of an ordered set one page request asks for: `size` of them from the start
    (or after the `after` cursor), or, `backwards`, from the end (or before `before`)."""

    request: PageRequest
    size: int
    backwards: bool

    @property
    def fetch(self) -> int:
        """Rows to read: one more than the page holds, to know whether more follow."""
        return self.size + 1 if self.size else 0

    def scan(self, order: Order) -> Order:
        """The order to read rows in: the page's, or its reverse when reading from the end."""
        return order.reverse() if self.backwards else order

    def cut(self, rows: list[T]) -> tuple[list[T], bool]:
        """The page of `rows` read in `scan` order, in the page's order, and whether rows
        follow beyond it."""
        more = len(rows) > self.size
        page = rows[: self.size]
        if self.backwards:
            page.reverse()
        return page, more

    def page_info(self, more: bool) -> tuple[bool, bool]:
        """(hasNextPage, hasPreviousPage) of the page `cut` found, `more` as it said."""
        if self.backwards:
            return self.request.before is not None, more
        return more, self.request.after is not None


def window(request: PageRequest, default: int, maximum: int) -> Window:
    """The window a request asks for; a bad size is BAD_USER_INPUT."""
    if request.first is not None and request.last is not None:
        raise BadUserInput("Pass either `first` or `last`, not both.")
    size = request.last if request.last is not None else request.first
    if size is None:
        backwards = request.before is not None and request.after is None
        return Window(request, default, backwards)
    if size < 0:
        raise BadUserInput("`first` and `last` must not be negative.")
    if size > maximum:
        raise BadUserInput(f"`first` and `last` may be at most {maximum}; {size} was requested.")
    return Window(request, size, request.last is not None)


def after_cursor(order: Order, bound: ColumnElement[Any]) -> ColumnElement[bool]:
    """The rows strictly after the row whose key values `bound` holds (a row value), in
    `order`."""
    keys = tuple_(*order.keys)
    return keys < bound if order.is_descending() else keys > bound


def before_cursor(order: Order, bound: ColumnElement[Any]) -> ColumnElement[bool]:
    """The rows strictly before the row whose key values `bound` holds, in `order`."""
    return after_cursor(order.reverse(), bound)


def literal_row(values: list[Any], order: Order) -> ColumnElement[Any]:
    """The key values of a row (a cursor's) as a row value to compare `order`'s keys with."""
    return tuple_(*(literal(v, type_=k.type) for v, k in zip(values, order.keys, strict=True)))


async def paginate(
    ctx: Context, query: Select[Any], order: Order, *, request: PageRequest, row_type: type[T]
) -> Page[T]:
    """One page of `query` (filtered, selecting the columns of `row_type`) in `order`."""
    page = window(request, ctx.limits.default, ctx.limits.maximum)
    keys = order.keys
    filtered = query
    if request.after is not None:
        bound = literal_row(decode_cursor(request.after, keys), order)
        filtered = filtered.where(after_cursor(order, bound))
    if request.before is not None:
        bound = literal_row(decode_cursor(request.before, keys), order)
        filtered = filtered.where(before_cursor(order, bound))

    page_query = filtered.add_columns(*keys).order_by(*page.scan(order).clauses()).limit(page.fetch)
    rows, more = page.cut(list(await ctx.rows(page_query)) if page.fetch else [])
    edges = [(encode_cursor(row[-len(keys) :]), to_row(row_type, row)) for row in rows]

    async def count() -> int:
        return int(await ctx.scalar(select(func.count()).select_from(query.subquery())))

    return Page(edges, *page.page_info(more), count)


async def batched_page(
    ctx: Context,
    name: str,
    parent: Any,
    request: PageRequest,
    *,
    query: Select[Any],
    partition: ColumnElement[Any],
    order: Order,
    row_type: type[T],
) -> Page[T]:
    """The page of `query` whose `partition` column equals `parent`, for a connection nested in
    a list: first pages (no cursor) of all parents load in one statement (a row_number window
    per parent), and their totalCounts in another. Pages after a cursor load one by one."""
    page = window(request, ctx.limits.default, ctx.limits.maximum)
    if page.backwards or request.after is not None or request.before is not None:
        return await paginate(
            ctx, query.where(partition == parent), order, request=request, row_type=row_type
        )

    async def load_pages(wanted: list[tuple[Any, int]]) -> list[tuple[list[Any], bool]]:
        pages: dict[tuple[Any, int], tuple[list[Any], bool]] = {}
        for page_size in {size for _, size in wanted}:
            parents = [key for key, size in wanted if size == page_size]
            found = await _first_pages(ctx, query, partition, order, page_size, parents)
            for key in parents:
                rows = found.get(key, [])
                edges = [
                    (encode_cursor(cursor), to_row(row_type, row))
                    for row, cursor in rows[:page_size]
                ]
                pages[(key, page_size)] = (edges, len(rows) > page_size)
        return [pages[key] for key in wanted]

    async def load_counts(parents: list[Any]) -> list[int]:
        counted = (
            query.with_only_columns(partition, func.count(), maintain_column_froms=True)
            .where(one_of(partition, parents))
            .group_by(partition)
        )
        counts = {row[0]: int(row[1]) for row in await ctx.rows(counted)}
        return [counts.get(key, 0) for key in parents]

    pages = ctx.loader(f"{name}.first_pages", load_pages)
    counts = ctx.loader(f"{name}.counts", load_counts)
    edges, has_next = await pages.load((parent, page.size))

    async def count() -> int:
        return int(await counts.load(parent))

    return Page(edges, has_next, False, count)


async def related_page(
    ctx: Context,
    relation: Relation,
    parent: Any,
    request: PageRequest,
    *,
    narrow: Callable[[Any], ColumnElement[bool]] | None = None,
    batched: bool = True,
) -> Page[Any]:
    """A page of a declared relation's rows for one parent (`clientgraph.resolvers.read_model`;
    the planner pages the same declaration in `plan.connection.related_keyset`), further
    filtered by `narrow(entity)`. `batched` for a connection nested in a list (see
    `batched_page`)."""
    related = relation.rows_alone(ctx.viewer, ctx.lists)
    row_type = relation.shape.row_type
    assert row_type is not None, f"{relation.name} is paged as whole rows"
    statement = related.statement
    if narrow is not None:
        statement = statement.where(narrow(related.entity))
    query = statement.add_columns(*relation.shape.columns(related.entity))
    if not batched:
        query = query.where(related.key == parent)
        return await paginate(ctx, query, related.order, request=request, row_type=row_type)
    return await batched_page(
        ctx,
        relation.name,
        parent,
        request,
        query=query,
        partition=related.key,
        order=related.order,
        row_type=row_type,
    )


async def _first_pages(
    ctx: Context,
    query: Select[Any],
    partition: ColumnElement[Any],
    order: Order,
    size: int,
    parents: list[Any],
) -> dict[Any, list[tuple[Row[Any], list[Any]]]]:
    """Up to size + 1 rows per parent, in `order`: (row, its cursor values)."""
    if size == 0:
        return {}
    rank = func.row_number().over(partition_by=partition, order_by=order.clauses())
    width = len(query.selected_columns)
    ranked = (
        query.where(one_of(partition, parents))
        .add_columns(
            partition.label("cg_parent"),
            *(key.label(f"cg_key{index}") for index, key in enumerate(order.keys)),
            rank.label("cg_rank"),
        )
        .subquery()
    )
    rows = await ctx.rows(
        select(ranked)
        .where(ranked.c.cg_rank <= size + 1)
        .order_by(ranked.c.cg_parent, ranked.c.cg_rank)
    )
    grouped: dict[Any, list[tuple[Row[Any], list[Any]]]] = {}
    for row in rows:
        grouped.setdefault(row[width], []).append((row, list(row[width + 1 : -1])))
    return grouped
