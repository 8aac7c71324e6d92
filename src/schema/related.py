"""A GraphQL field that is a declared relation (`resolvers.read_model`): one declaration gives
both its resolver, which loads through the request's loader of that relation, and its plan,
which `plan.build.handler_for` derives from the `Read` kept in the field's metadata. A field
may give the relation's rows whole (`related`) or as a connection's pages (`related_pages`)."""

from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass
from typing import Any

import strawberry
from clientgraph.db.relation import Relation
from clientgraph.resolvers.pagination import PageRequest, related_page
from clientgraph.schema.connections import Connection
from strawberry.types.field import StrawberryField

READ = "clientgraph.read"
"""The key of a field's `Read` in its Strawberry metadata."""


@dataclass(frozen=True, slots=True)
class Read:
    """How a field reads its relation: the target type's name, the parent row's attribute
    that holds the key (`via`), whether the field is a list (`many`; a single field of a list
    relation is the list's first item) and whether it is never null (`required`)."""

    relation: Relation
    type_name: str
    via: str
    many: bool
    required: bool
    paged: bool = False
    """A connection of the relation's rows, paged by `first`/`after`/`last`/`before`."""


def read_of(field: StrawberryField | None) -> Read | None:
    """The relation a field was declared with, None for other fields."""
    if field is None:
        return None
    found = field.metadata.get(READ)
    return found if isinstance(found, Read) else None


def _annotation(read: Read) -> str:
    if read.many:
        return f"list[{read.type_name}]"
    return read.type_name if read.required else f"{read.type_name} | None"


def related(
    relation: Relation,
    type_name: str,
    *,
    via: str = "id",
    many: bool | None = None,
    required: bool = False,
    description: str | None = None,
    deprecation_reason: str | None = None,
    module: str | None = None,
) -> Any:
    """A field of a type whose objects keep their row as `row`, reading `relation` for the
    key `row.<via>`. `type_name` names the target type (or `str` for a relation of a column),
    built by its `from_row`, in `module`: by default the calling module; for a type of another
    module, a module that imports it (`schema.types` names every type). The name is looked up
    only when the schema is built and when the field resolves, so two modules' types may refer
    to each other without importing each other."""
    read = Read(relation, type_name, via, not relation.unique if many is None else many, required)
    caller = inspect.currentframe()
    home = module or (caller.f_back.f_globals["__name__"] if caller and caller.f_back else __name__)
    scalar = relation.shape.scalar

    def wrap(value: Any) -> Any:
        if scalar:
            return value
        return getattr(sys.modules[home], type_name).from_row(value)

    async def resolve(root: Any, info: strawberry.Info) -> Any:
        key = getattr(root.row, via)
        if key is None:
            return [] if read.many else None
        loaded = await info.context.loaders.of(relation).load(key)
        if not relation.unique:
            if read.many:
                return [wrap(value) for value in loaded]
            loaded = loaded[0] if loaded else None
        if loaded is None:
            if read.required:
                raise LookupError(f"{type_name} {key} of a {relation.name} relation is gone")
            return [] if read.many else None
        return [wrap(loaded)] if read.many else wrap(loaded)

    resolve.__module__ = home
    # Strawberry reads the GraphQL type from the return annotation, resolved in `home`
    # (where the target type is defined, maybe after this field); `root` and `info` are
    # known to it by name and by type.
    resolve.__annotations__ = {"info": strawberry.Info, "return": _annotation(read)}
    resolve.__name__ = resolve.__qualname__ = f"resolve_{relation.name}"
    return strawberry.field(
        resolver=resolve,
        description=description,
        deprecation_reason=deprecation_reason,
        metadata={READ: read},
    )


def related_pages(relation: Relation, node_type: type[Any], *, description: str) -> Any:
    """A connection field of a type whose objects keep their row as `row`: the rows of
    `relation` for the key `row.id`, each a `node_type` (built by its `from_row`), paged as
    `first`/`after`/`last`/`before` ask. Its resolver pages through the request's loaders
    (`resolvers.pagination.related_page`); its plan is derived from its `Read`, as `related`'s
    is."""
    definition = node_type.__strawberry_definition__
    read = Read(relation, definition.name, "id", many=True, required=True, paged=True)

    async def resolve(
        root: Any,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Any:
        request = PageRequest(first=first, after=after, last=last, before=before)
        page = await related_page(info.context, relation, getattr(root.row, read.via), request)
        return Connection.of(page, node_type.from_row)

    resolve.__annotations__["return"] = Connection[node_type]  # type: ignore[valid-type]
    resolve.__name__ = resolve.__qualname__ = f"resolve_{relation.name}_pages"
    return strawberry.field(resolver=resolve, description=description, metadata={READ: read})
