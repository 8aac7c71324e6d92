"""Handlers for fields that copy a column, in the form the generic path gives it."""

from __future__ import annotations

from typing import Any

from clientgraph.plan.build import Build, Field, Fix, Handler
from sqlalchemy import ColumnElement


def column(name: str) -> Handler:
    """Text, numbers and enums (stored as their names) as they are."""

    def handler(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
        return getattr(row, name), None

    return handler


def boolean(name: str) -> Handler:
    def handler(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
        return build.json.boolean(getattr(row, name)), None

    return handler


def timestamp(name: str) -> Handler:
    def handler(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
        return build.json.datetime_text(getattr(row, name)), None

    return handler


def global_id(type_name: str) -> Handler:
    def handler(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
        return build.json.global_id(type_name, row.id), None

    return handler
