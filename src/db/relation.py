"""A relation declared once, for both read paths.

A `Relation` says where the rows of a field come from: `rows(viewer, lists)` gives a `Related`,
the statement (FROM, joins, WHERE with the caller's visibility) without columns, the column
that holds the parent's id, the order and the limit, over fresh aliases each time
(`rows_alone`: over the same ones each time, for a statement of its own). The
DataLoaders (`clientgraph.db.loaders.relation_loader`) run it for a batch of parent ids
(`for_keys`); the planner (`clientgraph.plan.build.Build.related`) embeds it as a subquery
correlated to the parent row (`for_parent`). The `Shape` says how a selected row becomes the
object the GraphQL type is built from (the loaders), or the entity whose columns the planner's
handlers read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from clientgraph.db.one_of import one_of_parameter
from clientgraph.db.orders import Order
from clientgraph.db.queries import row_columns, select_rows
from clientgraph.list_limits import ListLimits
from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import aliased


@dataclass(frozen=True, slots=True)
class Related:
    """The rows of a relation for one caller: `statement` has FROM, joins and WHERE but no
    columns; `entity` is what the rows come from (a mapped alias, or a tuple of them), `key`
    the column holding the parent's id, `order` ends in a unique key, and `limit` (when set)
    bounds each parent's list. With `cut_in_sql` the loaders cut each parent's list in SQL
    (a window rank), for lists whose uncut length is unbounded."""

    statement: Select[Any]
    entity: Any
    key: ColumnElement[Any]
    order: Order
    limit: int | None = None
    cut_in_sql: bool = False

    def for_parent(self, parent_key: ColumnElement[Any]) -> Select[Any]:
        """The rows of one parent, whose id is `parent_key` (a column of an enclosing query)."""
        return self.statement.where(self.key == parent_key)

    def for_keys(self, name: str) -> Select[Any]:
        """The rows of a batch of parents, whose ids parameter `name` gives at execution."""
        return self.statement.where(one_of_parameter(self.key, name))


@dataclass(frozen=True, slots=True)
class Listing:
    """A top-level list's rows for one caller and one filter, declared once for both read
    paths: the rows of `entity` (the mapped model) that meet every one of `criteria`, in
    `order` (which ends in a unique key). The generic path pages `rows(row type)`
    (`resolvers.pagination.paginate`); the planner pages `statement()` in SQL
    (`plan.connection.Keyset`)."""

    entity: Any
    criteria: tuple[ColumnElement[bool], ...]
    order: Order
    limit: int | None = None
    """For a list that is not a connection: the most rows it shows, the first in `order`."""

    def rows(self, row_type: type) -> Select[Any]:
        """The rows, selecting the columns of `row_type` (a `db.rows` class)."""
        return select_rows(row_type).where(*self.criteria)

    def first(self, row_type: type) -> Select[Any]:
        """A list that is not a connection: its rows in order, at most `limit`."""
        return self.rows(row_type).order_by(*self.order.clauses()).limit(self.limit)

    def statement(self) -> Select[Any]:
        """The rows, without columns: FROM the entity and WHERE the criteria."""
        return select().select_from(self.entity).where(*self.criteria)


@dataclass(frozen=True, slots=True)
class Shape:
    """How the rows of a relation are selected and made into values.

    `columns(entity)` lists the selected columns; `make(values)` builds the loaded value from
    them. A `scalar` shape is one column whose value is the field's value itself (a tag, an
    e-mail); otherwise the planner builds the object from `entity` by the target type's
    handlers."""

    columns: Callable[[Any], Sequence[ColumnElement[Any]]]
    make: Callable[[Sequence[Any]], Any]
    scalar: bool = False
    row_type: type | None = None
    """The `db.rows` class `make` builds, for shapes of one whole row (`row_shape`)."""


def row_shape(row_type: type) -> Shape:
    """Rows of one mapped entity, as the `clientgraph.db.rows` dataclass named by its columns
    (and its derived fields, `db.derived`)."""

    def columns(entity: Any) -> list[ColumnElement[Any]]:
        return row_columns(row_type, entity)

    def make(values: Sequence[Any]) -> Any:
        return row_type(*values)

    return Shape(columns, make, row_type=row_type)


def column_shape(column: Callable[[Any], ColumnElement[Any]]) -> Shape:
    """One column of the entity, its value as it is."""

    def make(values: Sequence[Any]) -> Any:
        return values[0]

    return Shape(lambda entity: [column(entity)], make, scalar=True)


Alias = Callable[[Any], Any]
"""Where a relation's statement gets the aliases of its models: `sqlalchemy.orm.aliased` makes
fresh ones, `KeptAliases` the same ones each time."""


class KeptAliases:
    """The aliases of one relation's statement, made the first time it is built and the same
    ones every time after (the n-th alias of a model asked for in one build is always the same
    object). For statements that stand alone, as the loaders': a fresh alias's columns are
    adapted anew by SQLAlchemy on first use (a profiler put a mutation's payload read there).
    Not for the planner, which may embed a relation inside itself."""

    def __init__(self) -> None:
        self.made: dict[tuple[Any, int], Any] = {}
        self.asked: Counter[Any] = Counter()

    def build(self, relation: Relation, viewer: Any, lists: ListLimits) -> Related:
        self.asked.clear()
        return relation.build(viewer, lists, self)

    def __call__(self, model: Any) -> Any:
        key = (model, self.asked[model])
        self.asked[model] += 1
        alias = self.made.get(key)
        if alias is None:
            alias = self.made[key] = aliased(model)
        return alias


@dataclass(frozen=True, slots=True)
class Relation:
    """A declared relation: its name (for logs and the loaders' cache), how its rows are found
    for a caller (`build`, called with the caller, the list limits and where to get the
    aliases of its models), their shape, and whether a parent has at most one (`unique`) or a
    list."""

    name: str
    build: Callable[[Any, ListLimits, Alias], Related]
    shape: Shape
    unique: bool = False
    kept: KeptAliases = field(default_factory=KeptAliases)

    def rows(self, viewer: Any, lists: ListLimits) -> Related:
        """The rows over fresh aliases, to embed anywhere (the planner)."""
        return self.build(viewer, lists, aliased)

    def rows_alone(self, viewer: Any, lists: ListLimits) -> Related:
        """The rows over this relation's kept aliases, for a statement of their own (the
        loaders, a page of a connection on the generic path)."""
        return self.kept.build(self, viewer, lists)

    def __hash__(self) -> int:
        return hash(self.name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Relation) and other.name == self.name
