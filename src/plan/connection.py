"""Keyset-paginated connections as the generic `Connection` gives them: the page (one more
row than asked, to know whether more follow) is a JSON array built in SQL, each item holding
its node objects and its cursor's key values; `totalCount` is a `count(*)` only when selected.
Cursors, `pageInfo` and the edges/nodes lists are finished in Python, by the same
`resolvers.pagination.Window` the generic path pages with."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from clientgraph.db.models import UTCDateTime
from clientgraph.db.orders import Order
from clientgraph.db.relation import Relation
from clientgraph.plan.build import PAGES, Build, Counter, Field, Fix
from clientgraph.plan.errors import Decline, Unplanned
from clientgraph.plan.sqljson import quoted
from clientgraph.resolvers.errors import BadUserInput
from clientgraph.resolvers.pagination import (
    PageRequest,
    Window,
    after_cursor,
    before_cursor,
    cursor_text,
    decode_cursor,
    window,
)
from clientgraph.schema.related import Read
from sqlalchemy import (
    ColumnElement,
    Select,
    Uuid,
    func,
    literal_column,
    null,
    select,
    tuple_,
)


@dataclass(frozen=True, slots=True)
class Keyset:
    """Rows of one connection: `statement` selects from `row` (filtered, joined, without
    columns of its own), in `order`."""

    statement: Select[Any]
    row: Any
    order: Order
    parent: Any = None


def related_keyset(
    build: Build,
    relation: Relation,
    parent: Any,
    parent_key: ColumnElement[Any],
    narrow: Callable[[Any], ColumnElement[bool]] | None = None,
) -> Keyset:
    """The rows of a declared relation for the row `parent`, whose key is `parent_key`, as
    the generic path pages them (`resolvers.pagination.related_page`)."""
    related = relation.rows(build.viewer, build.lists)
    statement = related.for_parent(parent_key)
    if narrow is not None:
        statement = statement.where(narrow(related.entity))
    return Keyset(statement, related.entity, related.order, parent)


def related_pages(
    build: Build, read: Read, field: Field, parent: Any
) -> tuple[ColumnElement[Any], Fix]:
    """The connection of a paged relation's field (`schema.related.related_pages`)."""
    keyset = related_keyset(build, read.relation, parent, getattr(parent, read.via))
    return connection(build, field, read.type_name, keyset, page_request(field.args))


PAGES.append(related_pages)


def page_request(args: dict[str, Any]) -> PageRequest:
    return PageRequest(
        first=args.get("first"),
        after=args.get("after"),
        last=args.get("last"),
        before=args.get("before"),
    )


def _key_json(build: Build, key: ColumnElement[Any]) -> ColumnElement[Any]:
    if isinstance(key.type, UTCDateTime):
        return build.json.datetime_text(key)
    if isinstance(key.type, Uuid):
        return build.json.uuid_text(key)
    return key


def _bound_cursor(
    build: Build, field: Field, argument: str, keys: Sequence[ColumnElement[Any]]
) -> ColumnElement[Any]:
    """The cursor's key values as SQL parameters, decoded afresh for every request."""
    parameters = [build.parameter(key.type) for key in keys]

    def convert(cursor: Any) -> dict[str, Any]:
        try:
            values = decode_cursor(cursor, keys)
        except BadUserInput as error:
            raise Unplanned(Decline.REFUSED_INPUT, str(error)) from error
        return {p.key: v for p, v in zip(parameters, values, strict=True)}

    build.bind(field, argument, convert)
    return tuple_(*parameters)


def connection(
    build: Build, field: Field, node_type: str, keyset: Keyset, request: PageRequest
) -> tuple[ColumnElement[Any], Fix]:
    """`{"i": [item…], "t": count}` in SQL, finished into the connection's selection by the
    returned fix; an item holds each `nodes`/`edges` selection's object and, when a cursor is
    asked for, its key values ("c"). A page size the generic path refuses is `Unplanned`."""
    try:
        page = window(request, build.pages.default, build.pages.maximum)
    except BadUserInput as error:
        raise Unplanned(Decline.REFUSED_INPUT, str(error)) from error
    connection_type = build.schema.get_type(f"{node_type}Connection")
    if connection_type is None:
        raise Unplanned(Decline.NO_PLAN, f"{node_type}Connection")
    fields = build.subfields(connection_type.name, field)

    order = keyset.order
    keys = order.keys
    statement = keyset.statement
    if request.after is not None:
        statement = statement.where(after_cursor(order, _bound_cursor(build, field, "after", keys)))
    if request.before is not None:
        statement = statement.where(
            before_cursor(order, _bound_cursor(build, field, "before", keys))
        )

    item_pairs: list[tuple[str, ColumnElement[Any]]] = []
    item_fixes: list[tuple[str, str | None, Fix]] = []
    layout: list[tuple[str, str, Any]] = []
    """(response key, field name, what the Python side needs to finish it)."""
    needs_items = False
    needs_cursor = False
    for index, entry in enumerate(fields):
        slot = str(index)
        if entry.name == "nodes":
            needs_items = True
            value, fix = build.object(node_type, entry, keyset.row)
            item_pairs.append((slot, value))
            if fix is not None:
                item_fixes.append((slot, None, fix))
            layout.append((entry.key, "nodes", slot))
        elif entry.name == "edges":
            needs_items = True
            edge_pairs: list[tuple[str, ColumnElement[Any]]] = []
            cursor_keys: list[str] = []
            for edge_field in build.subfields(f"{node_type}Edge", entry):
                if edge_field.name == "node":
                    value, fix = build.object(node_type, edge_field, keyset.row)
                    edge_pairs.append((edge_field.key, value))
                    if fix is not None:
                        item_fixes.append((slot, edge_field.key, fix))
                elif edge_field.name == "cursor":
                    needs_cursor = True
                    cursor_keys.append(edge_field.key)
                    edge_pairs.append((edge_field.key, null()))
                elif edge_field.name == "__typename":
                    edge_pairs.append((edge_field.key, quoted(f"{node_type}Edge")))
                else:
                    raise Unplanned(Decline.NO_PLAN, f"{node_type}Edge.{edge_field.name}")
            item_pairs.append((slot, build.json.object(edge_pairs)))
            layout.append((entry.key, "edges", (slot, tuple(cursor_keys))))
        elif entry.name == "pageInfo":
            needs_items = True
            info_fields = []
            for info in build.subfields("PageInfo", entry):
                if info.name in ("startCursor", "endCursor"):
                    needs_cursor = True
                elif info.name not in ("hasNextPage", "hasPreviousPage", "__typename"):
                    raise Unplanned(Decline.NO_PLAN, f"PageInfo.{info.name}")
                info_fields.append((info.key, info.name))
            layout.append((entry.key, "pageInfo", tuple(info_fields)))
        elif entry.name == "totalCount":
            layout.append((entry.key, "totalCount", None))
        elif entry.name == "__typename":
            layout.append((entry.key, "__typename", connection_type.name))
        else:
            raise Unplanned(Decline.NO_PLAN, f"{connection_type.name}.{entry.name}")
    if needs_cursor:
        item_pairs.append(("c", build.json.array([_key_json(build, key) for key in keys])))

    pairs: list[tuple[str, ColumnElement[Any]]] = []
    if needs_items:
        item = build.json.object(item_pairs).label("j")
        items = statement.with_only_columns(item, maintain_column_froms=True)
        pairs.append(("i", build.array(items, keyset.parent, page.scan(order), page.fetch)))
    if any(name == "totalCount" for _, name, _ in layout):
        rows = keyset.statement.with_only_columns(literal_column("1"), maintain_column_froms=True)
        counted = select(func.count()).select_from(rows.correlate(keyset.parent).subquery())
        pairs.append(("t", counted.correlate(keyset.parent).scalar_subquery()))
    if not pairs:
        pairs.append(("t", literal_column("0")))
    counted_items = any(name in ("nodes", "edges") for _, name, _ in layout)
    fix = _page_fix(layout, page, item_fixes, counted=counted_items)
    return build.json.object(pairs), fix


def _page_fix(
    layout: list[tuple[str, str, Any]],
    page: Window,
    item_fixes: list[tuple[str, str | None, Fix]],
    *,
    counted: bool,
) -> Fix:
    def fix(raw: Any, counter: Counter) -> Any:
        items, more = page.cut(raw.get("i", []))
        if counted:
            counter.nodes += len(items)
        for slot, key, child in item_fixes:
            for item in items:
                if key is None:
                    item[slot] = child(item[slot], counter)
                else:
                    edge = item[slot]
                    edge[key] = child(edge[key], counter)
        has_next, has_previous = page.page_info(more)
        result: dict[str, Any] = {}
        for key, name, detail in layout:
            if name == "totalCount":
                result[key] = raw["t"]
            elif name == "__typename":
                result[key] = detail
            elif name == "nodes":
                result[key] = [item[detail] for item in items]
            elif name == "edges":
                slot, cursor_keys = detail
                edges = []
                for item in items:
                    edge = item[slot]
                    if cursor_keys:
                        cursor = cursor_text(item["c"])
                        for cursor_key in cursor_keys:
                            edge[cursor_key] = cursor
                    edges.append(edge)
                result[key] = edges
            else:
                result[key] = _page_info(detail, items, has_next, has_previous)
        return result

    return fix


def _page_info(
    fields: tuple[tuple[str, str], ...], items: list[Any], has_next: bool, has_previous: bool
) -> dict[str, Any]:
    info: dict[str, Any] = {}
    for key, name in fields:
        if name == "hasNextPage":
            info[key] = has_next
        elif name == "hasPreviousPage":
            info[key] = has_previous
        elif name == "startCursor":
            info[key] = cursor_text(items[0]["c"]) if items else None
        elif name == "endCursor":
            info[key] = cursor_text(items[-1]["c"]) if items else None
        else:
            info[key] = "PageInfo"
    return info
