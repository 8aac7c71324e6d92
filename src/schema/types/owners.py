"""The address book of client owners."""

from __future__ import annotations

import strawberry
from clientgraph.db.rows import ClientOwnerRow
from clientgraph.resolvers.read_model import LIVE_USERS, OWNED_ACCOUNTS
from clientgraph.schema.related import related, related_pages
from clientgraph.schema.types.accounts import Account
from clientgraph.schema.types.base import TYPES, Info
from strawberry import relay


@strawberry.type(description="An entry of the address book: a user, or a person by name only.")
class ClientOwner(relay.Node):
    id: relay.NodeID[str]
    name: str
    row: strawberry.Private[ClientOwnerRow]

    @classmethod
    def from_row(cls, row: ClientOwnerRow) -> ClientOwner:
        return cls(id=str(row.id), name=row.name, row=row)

    user = related(
        LIVE_USERS,
        "User",
        via="user_id",
        description="The user behind this entry; null for an owner by name only.",
        module=TYPES,
    )

    @strawberry.field(description="How many accounts you can see that this owner owns.")
    async def account_count(self, info: Info) -> int:
        return await info.context.loaders.count_of(OWNED_ACCOUNTS).load(self.row.id)

    accounts = related_pages(
        OWNED_ACCOUNTS, Account, description="The accounts this owner owns (any status), by name."
    )
