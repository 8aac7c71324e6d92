"""API.md §6: concurrent transferClients, assignClientOwner and removeClientOwner over the same
accounts never lose or duplicate an owner, never surface a deadlock, and keep accountCount
equal to the number of accounts listing each owner."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from tests.support import Api

ROUNDS = 10
ACCOUNTS = 12
STATE = """
{
  clientOwners(first: 100) { nodes { id name accountCount } }
  accounts(first: 100, filter: {status: []}) {
    nodes {
      id owner { id name }
      history(first: 1) { nodes { action changes { field to } } }
    }
  }
}
"""


async def _round(api: Api, owners: list[str], accounts: list[str], rng: random.Random) -> None:
    """Fire a burst of ownership moves at once; each must end in a payload, never a 500."""
    operations: list[Any] = []
    for _ in range(14):
        source, target = rng.sample(owners, 2)
        kind = rng.choice(["transfer", "transfer_some", "assign", "clear"])
        if kind == "transfer":
            operations.append(
                api.mutate("transferClients", {"fromOwnerId": source, "toOwnerId": target})
            )
        elif kind == "transfer_some":
            operations.append(
                api.mutate(
                    "transferClients",
                    {
                        "fromOwnerId": source,
                        "toOwnerId": target,
                        "accountIds": rng.sample(accounts, 3),
                    },
                )
            )
        elif kind == "assign":
            operations.append(
                api.mutate(
                    "assignClientOwner", {"accountId": rng.choice(accounts), "ownerId": target}
                )
            )
        else:
            operations.append(
                api.mutate(
                    "assignClientOwner", {"accountId": rng.choice(accounts), "ownerId": None}
                )
            )
    removed, heir = rng.sample(owners, 2)
    operations.append(
        api.mutate(
            "removeClientOwner", {"ownerId": removed, "transferClientsTo": heir}, "removedOwnerId"
        )
    )
    results = await asyncio.gather(*operations)
    for payload in results:
        assert all(error["code"] in {"INVALID", "NOT_FOUND"} for error in payload["userErrors"])
    owners.remove(removed)
    owners.append(await api.add_owner(name=f"Owner {rng.random():.12f}"))


async def _assert_consistent(api: Api) -> None:
    state = await api.data(STATE)
    counts = {owner["id"]: owner["accountCount"] for owner in state["clientOwners"]["nodes"]}
    listing: dict[str, int] = dict.fromkeys(counts, 0)
    for account in state["accounts"]["nodes"]:
        owner = account["owner"]
        last_change = account["history"]["nodes"][0]
        assert last_change["action"] == "account.owner_changed"
        recorded = last_change["changes"][0]["to"]
        assert recorded == (owner["name"] if owner else None), account
        if owner is not None:
            assert owner["id"] in counts, "an account lists an owner no longer in the book"
            listing[owner["id"]] += 1
    assert counts == listing


async def test_parallel_ownership_moves_keep_every_account_with_exactly_one_committed_owner(
    api: Api,
) -> None:
    await api.enable_ownership()
    owners = [await api.add_owner(name=f"Owner {index}") for index in range(4)]
    accounts = [
        (await api.create_account(f"Account {index}", ownerId=owners[index % 4]))["id"]
        for index in range(ACCOUNTS)
    ]
    for account in accounts:
        await api.ok("assignClientOwner", {"accountId": account, "ownerId": owners[0]})
    rng = random.Random(20261123)

    for _ in range(ROUNDS):
        await _round(api, owners, accounts, rng)
        await _assert_consistent(api)
