"""The caller: who they are, their firm and their rights."""

from __future__ import annotations

import strawberry
from clientgraph.resolvers.pagination import PageRequest, related_page
from clientgraph.resolvers.read_model import NOTIFICATIONS, unread
from clientgraph.schema.connections import Connection
from clientgraph.schema.enums import Permission
from clientgraph.schema.types.api_keys import ApiKey
from clientgraph.schema.types.base import Info
from clientgraph.schema.types.firms import Firm
from clientgraph.schema.types.notifications import Notification
from clientgraph.schema.types.users import User


@strawberry.type(description="The calling user, their firm and their rights.")
class Viewer:
    user: User = strawberry.field(description="You; for an API key, the user who made it.")
    firm: Firm
    permissions: list[Permission]
    api_key: ApiKey | None = strawberry.field(
        description="The API key you are calling with; null for a user's token."
    )

    @strawberry.field(description="Your notifications, newest first.")
    async def notifications(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        unread_only: bool | None = None,
    ) -> Connection[Notification]:
        viewer = info.context.viewer
        page = await related_page(
            info.context,
            NOTIFICATIONS,
            viewer.user_id,
            PageRequest(first=first, after=after, last=last, before=before),
            narrow=unread if unread_only else None,
            batched=False,
        )
        return Connection.of(page, Notification.from_row)
