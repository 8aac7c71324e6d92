"""New rows of one table written in as few statements as the database allows, for writes of
thousands of rows (the register import) whose rows nothing reads back.

On PostgreSQL: `INSERT INTO t (…) SELECT * FROM unnest($1::uuid[], $2::text[], …)`, one
array per column. The text depends only on the table and its columns, so it is prepared once
per connection, whatever the row count; an executemany (which asyncpg runs as one statement per
row) or a multi-row VALUES (whose text, thousands of placeholders long, SQLAlchemy compiles
again for every size) cost the server and the database per row. Each value goes through its
column type's bind processing, as in any other statement (a JSON column's value is sent as
its text). Elsewhere (SQLite, in process): an executemany, already cheap there."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
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


@dataclass(frozen=True, slots=True)
class _Column:
    key: str
    """The mapped attribute's name."""
    name: str
    default: Any
    """The Python-side default (a ColumnDefault), or None."""


@cache
def _columns(model: type[Any]) -> tuple[_Column, ...]:
    return tuple(
        _Column(attribute.key, attribute.columns[0].name, attribute.columns[0].default)
        for attribute in inspect(model).column_attrs
    )


def _default(column: _Column) -> tuple[bool, Any]:
    """Whether `column` has a Python-side default, and a value of it."""
    default = column.default
    if default is not None and default.is_scalar:
        return True, default.arg
    if default is not None and default.is_callable:
        return True, default.arg(None)
    return False, None


def row_values(instance: Any) -> dict[str, Any]:
    """The column values of a new ORM `instance`, its Python-side defaults filled in for the
    columns it leaves unset, as a flush would."""
    given = instance.__dict__
    values: dict[str, Any] = {}
    for column in _columns(type(instance)):
        if column.key in given:
            values[column.name] = given[column.key]
        else:
            has_default, value = _default(column)
            if has_default:
                values[column.name] = value
    return values


async def insert_rows(
    session: AsyncSession, model: type[Any], rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert `rows` of `model` (by column name) in as few statements as the database allows;
    rows that leave different columns unset (to the database's defaults) go in separate
    statements."""
    shapes: dict[tuple[str, ...], list[Mapping[str, Any]]] = {}
    for row in rows:
        shapes.setdefault(tuple(row), []).append(row)
    table = model.__table__
    dialect = session.get_bind().dialect
    for names, shaped in shapes.items():
        if dialect.name != "postgresql":
            await session.execute(insert(table), [dict(row) for row in shaped])
            continue
        arrays = ", ".join(f"CAST(:{name} AS {_array_type(table.c[name])})" for name in names)
        statement = text(
            f"INSERT INTO {table.name} ({', '.join(names)}) SELECT * FROM unnest({arrays})"
        )
        parameters = {}
        for name in names:
            process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            column = [row[name] for row in shaped]
            parameters[name] = [process(value) for value in column] if process else column
        await session.execute(statement, parameters)
