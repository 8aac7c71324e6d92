"""New rows of one table written in as few statements as the database allows, for writes of
thousands of rows (the register import) whose rows nothing reads back.

On PostgreSQL: `INSERT INTO t (…) SELECT * FROM unnest($1::uuid[], $2::text[], …)`, one
array per column. The text depends only on the table and its columns, so it is prepared once
per connection, whatever the row count; an executemany (which asyncpg runs as one statement per
row) or a multi-row VALUES (whose text, thousands of placeholders long, SQLAlchemy compiles
again for every size) cost the server and the database per row. Each value goes through its
column type's bind processing, as in any other statement (a JSON column's value is sent as
its text). Elsewhere (SQLite, in
process): an executemany, already cheap there."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Integer,
    String,
    Text,
    TypeDecorator,
    Uuid,
    insert,
    inspect,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.schema import Column
from sqlalchemy.types import TypeEngine

ARRAY_TYPES: tuple[tuple[type[TypeEngine[Any]], str], ...] = (
    (Uuid, "uuid[]"),
    (BigInteger, "bigint[]"),
    (Integer, "integer[]"),
    (Boolean, "boolean[]"),
    (JSON, "json[]"),
    (DateTime, "timestamptz[]"),
    (String, "text[]"),
    (Text, "text[]"),
)
"""The array each kind of column is sent as (BigInteger before Integer, its base class)."""


def _array_type(column: Column[Any]) -> str:
    column_type = column.type
    if isinstance(column_type, TypeDecorator):
        column_type = column_type.impl_instance
    for kind, name in ARRAY_TYPES:
        if isinstance(column_type, kind):
            return name
    raise TypeError(f"{column.table.name}.{column.name}: no array type for {column.type!r}")


def row_values(instance: Any) -> dict[str, Any]:
    """The column values of a new ORM `instance`, its Python-side defaults filled in for the
    columns it leaves unset, as a flush would."""
    mapper = inspect(type(instance))
    given = inspect(instance).dict
    values: dict[str, Any] = {}
    for attribute in mapper.column_attrs:
        column = attribute.columns[0]
        if attribute.key in given:
            values[column.name] = given[attribute.key]
        elif column.default is not None and column.default.is_scalar:
            values[column.name] = column.default.arg  # type: ignore[attr-defined]
        elif column.default is not None and column.default.is_callable:
            values[column.name] = column.default.arg(None)  # type: ignore[attr-defined]
    return values


async def insert_new(session: AsyncSession, model: type[Any], instances: Sequence[Any]) -> None:
    """Insert `instances` (new, of `model`, never added to `session`) in as few statements as
    the database allows; rows that leave different columns unset go in separate statements."""
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for instance in instances:
        values = row_values(instance)
        shapes.setdefault(tuple(values), []).append(values)
    table = model.__table__
    postgresql = session.get_bind().dialect.name == "postgresql"
    for names, rows in shapes.items():
        if not postgresql:
            await session.execute(insert(table), rows)
            continue
        dialect = session.get_bind().dialect
        arrays = ", ".join(f"CAST(:{name} AS {_array_type(table.c[name])})" for name in names)
        statement = text(
            f"INSERT INTO {table.name} ({', '.join(names)}) SELECT * FROM unnest({arrays})"
        )
        parameters = {}
        for name in names:
            process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            column = [row[name] for row in rows]
            parameters[name] = [process(value) for value in column] if process else column
        await session.execute(statement, parameters)
