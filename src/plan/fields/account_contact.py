"""AccountContact, a link: its row is the pair (link, the linked contact)."""

from __future__ import annotations

from typing import Any

from clientgraph.plan.build import Build, Counter, Field, Fix, planned
from clientgraph.resolvers.contacts import role_names
from sqlalchemy import ColumnElement

TYPE = "AccountContact"


@planned(TYPE, "description")
def description(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    return row[0].description, None


@planned(TYPE, "linkedAt")
def linked_at(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    return build.json.datetime_text(row[0].linked_at), None


def _roles(value: Any, counter: Counter) -> Any:
    is_commercial, is_operational = value
    names = [role.value for role in role_names(is_commercial, is_operational)]
    counter.nodes += len(names)
    return names


@planned(TYPE, "roles")
def roles(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    """By `resolvers.contacts.role_names`, from the link's two flags."""
    link = row[0]
    flags = [build.json.boolean(link.is_commercial), build.json.boolean(link.is_operational)]
    return build.json.array(flags), _roles


@planned(TYPE, "contact")
def contact(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    return build.object("Contact", field, row[1])
