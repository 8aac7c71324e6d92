"""`node(id:)` and `nodes(ids:)`: any object by its global id, reachable as
`resolvers.nodes.NODE_KINDS` says. The id's type is a parameter: the statement holds one
guarded lookup per type the caller could reach, and only the one whose type matches returns a
row."""

from __future__ import annotations

from typing import Any

import orjson
from clientgraph.ids import decode_any_id
from clientgraph.plan.build import Build, Counter, Field, Fix, list_fix, planned
from clientgraph.plan.errors import Decline, Unplanned
from clientgraph.resolvers.nodes import NODE_KINDS, reachable_types
from sqlalchemy import (
    ColumnElement,
    String,
    Uuid,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import aliased


def _decoded(value: Any) -> tuple[str | None, Any]:
    decoded = decode_any_id(str(value)) if value is not None else None
    if decoded is None or decoded[0] not in NODE_KINDS:
        return None, None
    return decoded


def _typed(fixes: dict[str, Fix | None]) -> Fix:
    """The object from its [type, object] pair, finished as its type needs."""

    def fix(value: Any, counter: Counter) -> Any:
        if value is None:
            return None
        type_name, found = value
        child = fixes.get(type_name)
        return child(found, counter) if child is not None else found

    return fix


def node_value(
    build: Build, field: Field, type_param: Any, key_param: Any, parent: Any
) -> tuple[ColumnElement[Any], Fix]:
    lookups = []
    fixes: dict[str, Fix | None] = {}
    for type_name in reachable_types(build.viewer):
        kind = NODE_KINDS[type_name]
        row = aliased(kind.entity) if kind.aliasable else kind.entity
        value, fix = build.object(type_name, field, row)
        pair = build.json.array([build.json.quoted(type_name), value])
        criteria = kind.reachable(build.viewer, row)
        statement = select(pair).where(type_param == type_name, row.id == key_param, *criteria)
        lookups.append(build.one(statement, parent))
        fixes[type_name] = fix
    return func.coalesce(*lookups), _typed(fixes)


@planned("Query", "node")
def node(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    type_param, key_param = build.parameter(String), build.parameter(Uuid)

    def convert(value: Any) -> dict[str, Any]:
        type_name, key = _decoded(value)
        return {type_param.key: type_name, key_param.key: key}

    build.bind(field, "id", convert)
    return node_value(build, field, type_param, key_param, None)


@planned("Query", "nodes")
def nodes(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    """The ids' objects in the order asked, null where unknown. The ids are one parameter
    (two arrays on PostgreSQL, a JSON array on SQLite), so one statement serves any number."""
    maximum = build.pages.maximum
    json = build.json
    if json.postgresql:
        types = build.parameter(postgresql.ARRAY(String))
        keys = build.parameter(postgresql.ARRAY(Uuid))
        asked = (
            func.unnest(types, keys)
            .table_valued("type_name", "key", with_ordinality="position")
            .render_derived()
        )
        type_column, key_column, position = asked.c.type_name, asked.c.key, asked.c.position

        def convert(ids: Any) -> dict[str, Any]:
            decoded = _all_decoded(ids, maximum)
            return {
                types.key: [type_name for type_name, _ in decoded],
                keys.key: [key for _, key in decoded],
            }

    else:
        pairs = build.parameter(String)
        asked = func.json_each(pairs).table_valued("key", "value")
        type_column = func.json_extract(asked.c.value, literal_column("'$[0]'"))
        key_column = func.json_extract(asked.c.value, literal_column("'$[1]'"))
        position = asked.c.key

        def convert(ids: Any) -> dict[str, Any]:
            decoded = _all_decoded(ids, maximum)
            found = [[name, key.hex if key else None] for name, key in decoded]
            return {pairs.key: orjson.dumps(found).decode()}

    build.bind(field, "ids", convert)
    value, fix = node_value(build, field, type_column, key_column, asked)
    if json.postgresql:
        aggregated = func.json_agg(aggregate_order_by(value, position))
        array = select(func.coalesce(aggregated, json.empty_array())).scalar_subquery()
    else:
        array = func.json(
            select(func.json_group_array(func.json(value))).select_from(asked).scalar_subquery()
        )
    return array, list_fix(fix)


def _all_decoded(ids: Any, maximum: int) -> list[tuple[str | None, Any]]:
    if ids is None or len(ids) > maximum:
        raise Unplanned(Decline.REFUSED_INPUT, "too many ids")
    return [_decoded(value) for value in ids]
