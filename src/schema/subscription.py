"""Live updates over `graphql-transport-ws` on /graphql (see web/live.py)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from clientgraph.ids import encode_id
from clientgraph.resolvers import live
from clientgraph.schema.inputs import AccountFilterInput, account_filter
from clientgraph.schema.types import Account, Info, Notification


@strawberry.type(description="An account you can see changed, or was deleted.")
class AccountChange:
    account_id: strawberry.ID
    action: str = strawberry.field(
        description="What happened, as in history: account.created, account.updated, "
        "account.owner_changed, account.team_member_added, account.deactivated, "
        "account.deleted, …"
    )
    deleted: bool
    account: Account | None = strawberry.field(
        description="The account as it is now, read with your rights; null once deleted."
    )

    @classmethod
    def of(cls, change: live.AccountChange) -> AccountChange:
        return cls(
            account_id=strawberry.ID(encode_id("Account", change.account_id)),
            action=change.action,
            deleted=change.row is None,
            account=None if change.row is None else Account.from_row(change.row),
        )


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Each change of an account you can see that matches `filter` (any status "
        "unless `filter.status` names some), checked with your rights as they are when the "
        "change is delivered."
    )
    async def account_changed(
        self, info: Info, filter: AccountFilterInput | None = None
    ) -> AsyncGenerator[AccountChange, None]:
        async for change in live.account_changes(info.context, account_filter(filter)):
            yield AccountChange.of(change)

    @strawberry.subscription(description="Each new notification of yours.")
    async def notification_added(self, info: Info) -> AsyncGenerator[Notification, None]:
        async for row in live.notifications_added(info.context):
            yield Notification.from_row(row)
