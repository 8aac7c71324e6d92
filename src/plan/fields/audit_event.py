"""AuditEvent and FieldChange."""

from __future__ import annotations

from typing import Any

from clientgraph.db.orders import Order
from clientgraph.plan.build import Build, Field, Fix, list_fix, planned
from clientgraph.plan.errors import Decline, Unplanned
from clientgraph.plan.fields import scalars
from clientgraph.plan.sqljson import quoted
from clientgraph.resolvers.audit_feed import SUBJECT_TYPES
from sqlalchemy import ColumnElement, Integer, case, cast, func, literal_column, select

TYPE = "AuditEvent"

planned(TYPE, "id")(scalars.global_id(TYPE))
planned(TYPE, "action")(scalars.column("action"))
planned(TYPE, "occurredAt")(scalars.timestamp("occurred_at"))
planned(TYPE, "subjectType")(scalars.column("subject_type"))


@planned(TYPE, "subjectId")
def subject_id(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    """The subject's global id, its type from `resolvers.audit_feed.SUBJECT_TYPES`."""
    ids = [
        (row.subject_type == subject_type, build.json.global_id(type_name, row.subject_id))
        for subject_type, type_name in SUBJECT_TYPES.items()
    ]
    return case(*ids, else_=None), None


@planned(TYPE, "changes")
def changes(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    """The stored list of {field, from, to}, cut at `lists.audit_changes`."""
    json = build.json
    if json.postgresql:
        elements = (
            func.json_array_elements(row.changes)
            .table_valued("value", with_ordinality="ordinal")
            .render_derived()
        )
        position = cast(elements.c.ordinal, Integer) - 1

        def part(name: str) -> ColumnElement[Any]:
            return elements.c.value.op("->>")(literal_column(f"'{name}'"))

    else:
        elements = func.json_each(row.changes).table_valued("key", "value")
        position = cast(elements.c.key, Integer)

        def part(name: str) -> ColumnElement[Any]:
            return func.json_extract(elements.c.value, literal_column(f"'$.{name}'"))

    pairs = []
    for change in build.subfields("FieldChange", field):
        if change.name == "__typename":
            pairs.append((change.key, quoted("FieldChange")))
        elif change.name in ("field", "from", "to"):
            pairs.append((change.key, part(change.name)))
        else:
            raise Unplanned(Decline.NO_PLAN, f"FieldChange.{change.name}")
    statement = select(json.object(pairs).label("j")).select_from(elements)
    array = build.array(statement, row, Order.of(position), build.lists.audit_changes)
    return array, list_fix(None)
