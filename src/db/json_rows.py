"""Rows of a correlated subquery as one JSON value: a list of lists, in a given order.

A statement that reads many parent rows and, for each, the child rows it holds (an account's
tags, its contacts) can do it in one statement without joining the children in: the children
are a scalar subquery per parent, looked up by the parent's key. PostgreSQL runs such a
subquery once per parent row through an index, a plan it cannot trade for a scan of the
whole firm on a mistaken belief that the firm is small (statistics not yet gathered after a
bulk import, or a firm larger than the average the statistics describe); a join or an
`= ANY(ids)` filter it can, and then every batch of an export reads the firm again.

`json_rows(query, order)` is that subquery: `json_agg(json_build_array(…) ORDER BY …)` (as text) on
PostgreSQL, `json_group_array(json_array(…))` over the subquery in that order on SQLite (whose
aggregates take no ORDER BY before 3.44; an aggregate over an ordered subquery is not
flattened, so it sees the rows in order). The value is the JSON text (parsing is left to the
caller, who may have a faster parser than the driver's); no rows give SQL NULL. Booleans come
back as JSON booleans on PostgreSQL and as 0/1 on SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, Select, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseList
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import Text


class JsonRows(ColumnElement[Any]):
    __visit_name__ = "json_rows"
    inherit_cache = True
    _traverse_internals = [
        ("values", InternalTraversal.dp_clauseelement),
        ("order", InternalTraversal.dp_clauseelement),
    ]
    type = Text()

    def __init__(
        self, values: Sequence[ColumnElement[Any]], order: Sequence[ColumnElement[Any]]
    ) -> None:
        self.values = ClauseList(*values)
        self.order = ClauseList(*order)


@compiles(JsonRows, "postgresql")
def _json_rows_postgresql(element: JsonRows, compiler: SQLCompiler, **kw: Any) -> str:
    values, order = compiler.process(element.values, **kw), compiler.process(element.order, **kw)
    return f"CAST(json_agg(json_build_array({values}) ORDER BY {order}) AS TEXT)"


@compiles(JsonRows)
def _json_rows_sqlite(element: JsonRows, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_group_array(json_array({compiler.process(element.values, **kw)}))"


def json_rows(query: Select[Any], order: Sequence[ColumnElement[Any]]) -> ScalarSelect[Any]:
    """The rows `query` selects, in `order` (ascending), as one JSON list of lists; `query`
    names the outer statement's tables it is correlated to with `correlate`."""
    width = len(query.selected_columns)
    rows = (
        query.with_only_columns(
            *(column.label(f"v{index}") for index, column in enumerate(query.selected_columns)),
            *(key.label(f"k{index}") for index, key in enumerate(order)),
        )
        .order_by(*order)
        .subquery()
    )
    columns = list(rows.c)
    return select(JsonRows(columns[:width], columns[width:])).select_from(rows).scalar_subquery()
