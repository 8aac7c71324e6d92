"""AccountContact, a link: its row is the pair (link, the linked contact)."""

from __future__ import annotations

from typing import Any

from clientgraph.plan.build import Build, Field, Fix, list_fix, planned
from clientgraph.resolvers.contacts import ROLE_FLAGS
from sqlalchemy import ColumnElement

TYPE = "AccountContact"


@planned(TYPE, "description")
def description(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    return row[0].description, None


@planned(TYPE, "linkedAt")
def linked_at(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    return build.json.datetime_text(row[0].linked_at), None


@planned(TYPE, "roles")
def roles(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    link = row[0]
    flags = [(role.value, getattr(link, column)) for role, column in ROLE_FLAGS]
    return build.json.flags(flags), list_fix(None)


@planned(TYPE, "contact")
def contact(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    return build.object("Contact", field, row[1])
