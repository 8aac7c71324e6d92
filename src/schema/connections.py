"""Relay connections over keyset pages: `edges`, `nodes`, `pageInfo`, `totalCount`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import strawberry
from clientgraph.resolvers.pagination import Page
from strawberry import relay

NodeType = TypeVar("NodeType")


@strawberry.type(name="Connection", description="A page of a list, with its cursors and size.")
class Connection(relay.Connection[NodeType], Generic[NodeType]):
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many items the whole list holds, across all pages.")
    async def total_count(self) -> int:
        return await self.count()

    @strawberry.field(description="The items of this page, without their cursors.")
    def nodes(self) -> list[NodeType]:
        return [edge.node for edge in self.edges]

    @classmethod
    def of(cls, page: Page[Any], wrap: Callable[[Any], NodeType]) -> Connection[NodeType]:
        return cls(
            page_info=relay.PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=page.start_cursor,
                end_cursor=page.end_cursor,
            ),
            edges=[relay.Edge(cursor=cursor, node=wrap(row)) for cursor, row in page.edges],
            count=page.count,
        )
