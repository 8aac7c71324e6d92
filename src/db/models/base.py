"""What every model shares: the declarative base with its naming convention and column
types, ids and timestamps, and the tenant-safe foreign key.

Every table carries `firm_id`, and it is the first column of every unique index and of every
foreign key that crosses tables, so tenants stay apart and tables can be distributed by firm.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKeyConstraint, MetaData, Text, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back timezone-aware.

    SQLite keeps no time zone, so values are normalised to naive UTC on the way in and
    given back their UTC zone on the way out; PostgreSQL stores `timestamptz`.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def folded() -> Text:
    """A casefolded copy of text people search and sort by. Unbounded, since folding can make
    text longer (ß → ss). On PostgreSQL it compares by code point (collation "C"), as SQLite
    does, so both order it the same whatever the locale."""
    return Text().with_variant(Text(collation="C"), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


def firm_fk(columns: list[str], table: str, *, ondelete: str | None = None) -> ForeignKeyConstraint:
    """A tenant-safe foreign key: (firm_id, <id>) references (firm_id, id) of `table`."""
    return ForeignKeyConstraint(
        ["firm_id", *columns], [f"{table}.firm_id", f"{table}.id"], ondelete=ondelete
    )
