"""What an offboarding would move, from a dry run of `transferClients` or `deleteUser`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import strawberry
from clientgraph.resolvers.context import Context
from clientgraph.resolvers.read_model import ACCOUNTS, OWNERS
from clientgraph.schema.types import Account, ClientOwner, load_optional


@strawberry.type(description="How many accounts one new owner would receive.")
class NewOwnerCount:
    owner: ClientOwner | None = strawberry.field(description="null: the accounts become unowned.")
    count: int


@strawberry.type(description="What a dry run found would move; nothing was written.")
class ClientMovePreview:
    account_count: int = strawberry.field(description="How many accounts would change owner.")
    accounts: list[Account] = strawberry.field(
        description="Those accounts as they are now (the first 250), by id."
    )
    by_new_owner: list[NewOwnerCount] = strawberry.field(
        description="The accounts each new owner would receive; [] when none would move."
    )


async def move_preview(
    ctx: Context, moved: Sequence[uuid.UUID], target_id: uuid.UUID | None
) -> ClientMovePreview:
    """The preview of moving `moved` to `target_id` (None: unowned), read after the rollback."""
    rows = await ctx.loaders.of(ACCOUNTS).load_many(list(moved[: ctx.lists.input_list]))
    owner = await load_optional(ctx.loaders.of(OWNERS), target_id, ClientOwner.from_row)
    counts = [NewOwnerCount(owner=owner, count=len(moved))] if moved else []
    return ClientMovePreview(
        account_count=len(moved),
        accounts=[Account.from_row(row) for row in rows if row is not None],
        by_new_owner=counts,
    )
