"""Keyset pagination over a SQLAlchemy Select, shared by every connection.

The order key is a list of expressions ending in the primary key, all sorted one way, so it
is total: a cursor is the key of a row, and the next page is the rows strictly after it.
Nullable values are sorted through a (is-null flag, coalesced value) pair so that no key part
is ever NULL and row-value comparison works the same on SQLite and PostgreSQL.
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
from clientgraph.db.queries import to_row
from clientgraph.resolvers.context import Context
from clientgraph.resolvers.errors import BadUserInput
from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    TypeDecorator,
    case,
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


def nulls_last_key(expression: ColumnElement[Any], blank: Any) -> list[ColumnElement[Any]]:
    """Key parts for a nullable value: NULLs after every value ascending, before descending."""
    return [case((expression.is_(None), 1), else_=0), func.coalesce(expression, blank)]


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


def encode_cursor(values: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([_encode_value(v) for v in values])).decode()


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
    if python_type is int and type(raw) is int and -(2**31) <= raw < 2**31:
        return raw
    raise ValueError(raw)


def _page_size(request: PageRequest, limits_default: int, limits_maximum: int) -> tuple[int, bool]:
    """(size, backwards) for a request; bad sizes are BAD_USER_INPUT."""
    if request.first is not None and request.last is not None:
        raise BadUserInput("Pass either `first` or `last`, not both.")
    size = request.last if request.last is not None else request.first
    if size is None:
        return limits_default, request.before is not None and request.after is None
    if size < 0:
        raise BadUserInput("`first` and `last` must not be negative.")
    if size > limits_maximum:
        raise BadUserInput(
            f"`first` and `last` may be at most {limits_maximum}; {size} was requested."
        )
    return size, request.last is not None


async def paginate(
    ctx: Context,
    query: Select[Any],
    keys: Sequence[ColumnElement[Any]],
    *,
    descending: bool,
    request: PageRequest,
    row_type: type[T],
) -> Page[T]:
    """One page of `query` (filtered, selecting the columns of `row_type`) in `keys` order."""
    size, backwards = _page_size(request, ctx.limits.default, ctx.limits.maximum)
    key_tuple = tuple_(*keys)

    def after(values: list[Any]) -> ColumnElement[bool]:
        bound = tuple_(*(literal(v, type_=k.type) for v, k in zip(values, keys, strict=True)))
        return key_tuple < bound if descending else key_tuple > bound

    def before(values: list[Any]) -> ColumnElement[bool]:
        bound = tuple_(*(literal(v, type_=k.type) for v, k in zip(values, keys, strict=True)))
        return key_tuple > bound if descending else key_tuple < bound

    filtered = query
    if request.after is not None:
        filtered = filtered.where(after(decode_cursor(request.after, keys)))
    if request.before is not None:
        filtered = filtered.where(before(decode_cursor(request.before, keys)))

    forward_desc = descending != backwards
    ordering = [key.desc() if forward_desc else key.asc() for key in keys]
    page_query = filtered.add_columns(*keys).order_by(*ordering).limit(size + 1)
    rows = list(await ctx.rows(page_query)) if size > 0 else []
    has_more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()

    key_count = len(keys)
    edges = [(encode_cursor(row[-key_count:]), to_row(row_type, row)) for row in rows]

    async def count() -> int:
        return int(await ctx.scalar(select(func.count()).select_from(query.subquery())))

    if backwards:
        return Page(edges, request.before is not None, has_more, count)
    return Page(edges, has_more, request.after is not None, count)


async def batched_page(
    ctx: Context,
    name: str,
    parent: Any,
    request: PageRequest,
    *,
    query: Select[Any],
    partition: ColumnElement[Any],
    keys: Sequence[ColumnElement[Any]],
    descending: bool,
    row_type: type[T],
) -> Page[T]:
    """The page of `query` whose `partition` column equals `parent`, for a connection nested in
    a list: first pages (no cursor) of all parents load in one statement (a row_number window
    per parent), and their totalCounts in another. Pages after a cursor load one by one."""
    size, backwards = _page_size(request, ctx.limits.default, ctx.limits.maximum)
    if backwards or request.after is not None or request.before is not None:
        return await paginate(
            ctx,
            query.where(partition == parent),
            keys,
            descending=descending,
            request=request,
            row_type=row_type,
        )

    async def load_pages(wanted: list[tuple[Any, int]]) -> list[tuple[list[Any], bool]]:
        pages: dict[tuple[Any, int], tuple[list[Any], bool]] = {}
        for page_size in {size for _, size in wanted}:
            parents = [key for key, size in wanted if size == page_size]
            found = await _first_pages(ctx, query, partition, keys, descending, page_size, parents)
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
    edges, has_next = await pages.load((parent, size))

    async def count() -> int:
        return int(await counts.load(parent))

    return Page(edges, has_next, False, count)


async def _first_pages(
    ctx: Context,
    query: Select[Any],
    partition: ColumnElement[Any],
    keys: Sequence[ColumnElement[Any]],
    descending: bool,
    size: int,
    parents: list[Any],
) -> dict[Any, list[tuple[Row[Any], list[Any]]]]:
    """Up to size + 1 rows per parent, in key order: (row, its cursor values)."""
    if size == 0:
        return {}
    ordering = [key.desc() if descending else key.asc() for key in keys]
    rank = func.row_number().over(partition_by=partition, order_by=ordering)
    width = len(query.selected_columns)
    ranked = (
        query.where(one_of(partition, parents))
        .add_columns(
            partition.label("cg_parent"),
            *(key.label(f"cg_key{index}") for index, key in enumerate(keys)),
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
