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


async def test_concurrent_users_with_one_email_leave_one_user_and_call_the_rest_taken(
    api: Api,
) -> None:
    attempts = [
        api.mutate("createUser", {"name": f"Twin {i}", "email": "twin@example.com"}, "user { id }")
        for i in range(6)
    ]

    payloads = await asyncio.gather(*attempts)

    codes = sorted(error["code"] for payload in payloads for error in payload["userErrors"])
    assert codes == ["TAKEN"] * 5
    users = await api.data('{ users(search: "twin@") { totalCount } }')
    assert users["users"]["totalCount"] == 1


async def test_concurrent_additions_of_one_user_to_the_address_book_keep_one_entry(
    api: Api,
) -> None:
    await api.enable_ownership()
    user_id, _ = await api.staff(name="Popular Person")

    payloads = await asyncio.gather(
        *(api.mutate("addClientOwner", {"userId": user_id}, "clientOwner { id }") for _ in range(6))
    )

    codes = sorted(error["code"] for payload in payloads for error in payload["userErrors"])
    assert codes == ["ALREADY_IN_ADDRESS_BOOK"] * 5
    book = await api.data("{ clientOwners { totalCount } }")
    assert book["clientOwners"]["totalCount"] == 1


async def test_concurrent_links_of_one_contact_to_one_account_make_one_link(api: Api) -> None:
    account = await api.create_account("Acme")
    contact = (
        await api.ok("createContact", {"firstName": "Ann", "lastName": "Berg"}, "contact { id }")
    )["contact"]
    link = {"accountId": account["id"], "contactId": contact["id"]}

    payloads = await asyncio.gather(
        *(api.mutate("linkContact", link, "accountContact { roles }") for _ in range(6))
    )

    codes = sorted(error["code"] for payload in payloads for error in payload["userErrors"])
    assert codes == ["ALREADY_LINKED"] * 5
    data = await api.data(
        "query($id: ID!) { account(id: $id) { contacts { contact { id } } } }",
        {"id": account["id"]},
    )
    assert data["account"]["contacts"] == [{"contact": {"id": contact["id"]}}]
