"""CustomFieldDefinition: the fields of `schema.types.CustomFieldDefinition`."""

from __future__ import annotations

from typing import Any

from clientgraph.plan.build import Build, Counter, Field, Fix, planned
from clientgraph.plan.fields import scalars
from sqlalchemy import ColumnElement

TYPE = "CustomFieldDefinition"

for _name in ("entity", "key", "label", "type"):
    planned(TYPE, _name)(scalars.column(_name))


@planned(TYPE, "options")
def options(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    limit = build.lists.select_options

    def cut(value: Any, counter: Counter) -> Any:
        kept = list(value or ())[:limit]
        counter.nodes += len(kept)
        return kept

    return build.json.raw_json(row.options), cut
