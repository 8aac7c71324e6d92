"""Messages to users."""

from __future__ import annotations

from datetime import datetime

import strawberry
from clientgraph.db.rows import NotificationRow
from clientgraph.resolvers import notifications
from clientgraph.resolvers.read_model import ACCOUNTS
from clientgraph.schema.related import related
from clientgraph.schema.types.base import TYPES, Info, load_optional
from strawberry import relay


@strawberry.type(description="A message to a user, e.g. that they were assigned to an account.")
class Notification(relay.Node):
    id: relay.NodeID[str]
    kind: str = strawberry.field(description="account.assigned or account.unassigned.")
    created_at: datetime
    read_at: datetime | None
    row: strawberry.Private[NotificationRow]

    @classmethod
    def from_row(cls, row: NotificationRow) -> Notification:
        return cls(
            id=str(row.id),
            kind=row.kind,
            created_at=row.created_at,
            read_at=row.read_at,
            row=row,
        )

    @strawberry.field(description="Names the account only if you may see it.")
    async def message(self, info: Info) -> str:
        account = await load_optional(
            info.context.loaders.of(ACCOUNTS), self.row.account_id, lambda row: row
        )
        return notifications.shown(
            self.row.kind, self.row.message, account.name if account else None
        )

    account = related(
        ACCOUNTS,
        "Account",
        via="account_id",
        description="The account it is about, if it still exists for you.",
        module=TYPES,
    )
