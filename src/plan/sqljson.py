"""JSON built in SQL, for PostgreSQL and SQLite alike: objects, ordered arrays, and the text
forms the generic path gives (global ids, DateTime's isoformat, uuids as text).

PostgreSQL has `json_build_object`/`json_agg`; SQLite has `json_object`/`json_group_array`
(its aggregate keeps the order of an ordered subquery) and a global-id function registered on
each connection (`register_sqlite_functions`)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from clientgraph.plan.errors import Decline, Unplanned
from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    Text,
    case,
    cast,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import JSON as PG_JSON
from sqlalchemy.dialects.postgresql import aggregate_order_by

MAX_OBJECT_KEYS = 50
"""PostgreSQL calls take at most 100 arguments: 50 keys and their values."""


def _sqlite_global_id(type_name: str | None, hex_uuid: str | None) -> str | None:
    if type_name is None or hex_uuid is None:
        return None
    return base64.b64encode(f"{type_name}:{uuid.UUID(hex_uuid)}".encode()).decode()


def _sqlite_uuid(hex_uuid: str | None) -> str | None:
    return None if hex_uuid is None else str(uuid.UUID(hex_uuid))


def _sqlite_datetime(stored: str | None) -> str | None:
    """What `UTCDateTime` reads back, as `isoformat()` gives it."""
    if stored is None:
        return None
    return datetime.fromisoformat(stored).replace(tzinfo=UTC).isoformat()


SQLITE_FUNCTIONS = {
    "cg_global_id": (2, _sqlite_global_id),
    "cg_uuid": (1, _sqlite_uuid),
    "cg_datetime": (1, _sqlite_datetime),
}


async def register_sqlite_functions(aiosqlite_connection: Any) -> None:
    """The functions the planned SQL calls on SQLite, on one aiosqlite connection: Python's
    own formatting, and shallower SQL (SQLite's parser has a fixed stack)."""
    for name, (arguments, function) in SQLITE_FUNCTIONS.items():
        await aiosqlite_connection.create_function(name, arguments, function, deterministic=True)


def quoted(name: str) -> ColumnElement[Any]:
    """A key as an SQL string literal; GraphQL names hold only [_A-Za-z0-9]."""
    assert name.replace("_", "").isalnum(), name
    return literal_column(f"'{name}'", String)


class Json:
    """The JSON constructors of one dialect."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.postgresql = dialect == "postgresql"

    def quoted(self, name: str) -> ColumnElement[Any]:
        return quoted(name)

    def object(self, pairs: Sequence[tuple[str, ColumnElement[Any]]]) -> ColumnElement[Any]:
        if len(pairs) > MAX_OBJECT_KEYS:
            raise Unplanned(Decline.TOO_WIDE, f"an object of {len(pairs)} keys")
        args: list[Any] = []
        for key, value in pairs:
            args.extend((quoted(key), value))
        if self.postgresql:
            return func.json_build_object(*args, type_=PG_JSON)
        return func.json_object(*args, type_=Text)

    def array(self, values: Sequence[ColumnElement[Any]]) -> ColumnElement[Any]:
        if self.postgresql:
            return func.json_build_array(*values, type_=PG_JSON)
        return func.json_array(*values, type_=Text)

    def empty_array(self) -> ColumnElement[Any]:
        return self.array(())

    def embed(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        """A JSON value from a subquery, as a JSON value of the enclosing object or array."""
        if self.postgresql:
            return value
        return func.json(value, type_=Text)

    def aggregate(
        self,
        subquery: Any,
        column: str,
        order: Sequence[ColumnElement[Any]],
        *,
        json_items: bool = True,
    ) -> ColumnElement[Any]:
        """One JSON array of `subquery.c[column]` in `order` (of the subquery's columns, by
        which it is itself ordered), [] when it has no rows, as a value to embed."""
        item = subquery.c[column]
        if self.postgresql:
            aggregated = func.json_agg(aggregate_order_by(item, *order) if order else item)
            statement = select(func.coalesce(aggregated, self.empty_array()))
            return statement.scalar_subquery()
        element = func.json(item) if json_items else item
        statement = select(func.coalesce(func.json_group_array(element), self.empty_array()))
        return func.json(statement.scalar_subquery(), type_=Text)

    def boolean(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        if self.postgresql:
            return value
        return case(
            (value.is_(None), None),
            (cast(value, Integer) != 0, func.json("true")),
            else_=func.json("false"),
        )

    def raw_json(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        """A column that stores JSON (a list of permissions, an event's changes)."""
        if self.postgresql:
            return value
        return func.json(value)

    def uuid_text(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        """str(uuid): SQLite stores 32 hex digits."""
        if self.postgresql:
            return cast(value, Text)
        return func.cg_uuid(value, type_=Text)

    def global_id(self, type_name: str, value: ColumnElement[Any]) -> ColumnElement[Any]:
        """`clientgraph.ids.encode_id` in SQL: base64 of "Type:uuid". PostgreSQL breaks base64
        lines after 76 characters (57 bytes); every type name here is short of that."""
        assert len(type_name) + 37 <= 57, type_name
        if self.postgresql:
            text_ = literal_column(f"'{type_name}:'", Text).op("||")(cast(value, Text))
            return func.encode(
                func.convert_to(text_, literal_column("'UTF8'")), literal_column("'base64'")
            )
        return func.cg_global_id(quoted(type_name), value, type_=Text)

    def datetime_text(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        """`datetime.isoformat()` of the UTC value the generic path reads: microseconds only
        when not 0, and always `+00:00`."""
        if self.postgresql:
            utc = value.op("AT TIME ZONE")(literal_column("'UTC'"))
            seconds = func.to_char(utc, literal_column("'YYYY-MM-DD\"T\"HH24:MI:SS'"))
            micro = func.to_char(utc, literal_column("'US'"))
            fraction = case((micro == "000000", ""), else_=literal_column("'.'").op("||")(micro))
            return case(
                (value.is_(None), None),
                else_=seconds.op("||")(fraction).op("||")(literal_column("'+00:00'")),
            )
        return func.cg_datetime(value, type_=Text)
