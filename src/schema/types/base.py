"""What every type module shares: the resolvers' `Info`, a nullable reference's loading, and
where a type finds a type of another module (`TYPES`)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TypeVar

import strawberry
from clientgraph.resolvers.context import Context
from strawberry.dataloader import DataLoader

TYPES = "clientgraph.schema.types"
"""The package that names every type of the graph: a `related` field whose type is of another
module names it as `module`, so that the two modules need not import each other."""

Info = strawberry.Info[Context, None]
RowT = TypeVar("RowT")
WrappedT = TypeVar("WrappedT")


async def load_optional(
    loader: DataLoader[uuid.UUID, RowT | None],
    key: uuid.UUID | None,
    wrap: Callable[[RowT], WrappedT],
) -> WrappedT | None:
    """The object a nullable reference points at, if there is one you may see."""
    if key is None:
        return None
    row = await loader.load(key)
    return wrap(row) if row is not None else None
