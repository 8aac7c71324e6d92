"""`dryRun: true` on transferClients and deleteUser: what would move, with the same rights and
userErrors as the real run, and nothing written; the real run then does what the preview said
(issue 16 point 8)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import EVERY_PERMISSION, Api, stored

PREVIEW = (
    "preview { accountCount accounts { id owner { id } } byNewOwner { owner { id name } count } }"
)
TRANSFER = f"transferredCount accounts {{ id }} {PREVIEW}"
DELETE = f"deletedUserId transferredCount unassignedCount teamCount {PREVIEW}"


async def owners_with_accounts(api: Api, count: int) -> tuple[str, str, list[str]]:
    """Two address-book entries, the first owning `count` accounts: (from, to, account ids)."""
    await api.enable_ownership()
    source = await api.add_owner(name="Ada Source")
    target = await api.add_owner(name="Bo Target")
    accounts = [
        (await api.create_account(f"Client {index}", ownerId=source))["id"]
        for index in range(count)
    ]
    return source, target, accounts


async def owner_of(api: Api, account_ids: list[str]) -> dict[str, str | None]:
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Account { id owner { id } } } }"
    nodes = (await api.data(query, {"ids": account_ids}))["nodes"]
    return {node["id"]: node["owner"] and node["owner"]["id"] for node in nodes}


def previewed(payload: dict[str, Any]) -> tuple[int, set[str], list[tuple[str | None, int]]]:
    preview = payload["preview"]
    assert preview["accountCount"] == len(preview["accounts"])
    return (
        preview["accountCount"],
        {account["id"] for account in preview["accounts"]},
        [(item["owner"] and item["owner"]["id"], item["count"]) for item in preview["byNewOwner"]],
    )


async def test_a_dry_transfer_previews_the_accounts_and_writes_nothing(api: Api) -> None:
    source, target, accounts = await owners_with_accounts(api, 3)
    before = await stored(api)

    payload = await api.ok(
        "transferClients", {"fromOwnerId": source, "toOwnerId": target, "dryRun": True}, TRANSFER
    )

    assert previewed(payload) == (3, set(accounts), [(target, 3)])
    assert payload["transferredCount"] == 3
    assert all(account["owner"]["id"] == source for account in payload["preview"]["accounts"])
    assert await stored(api) == before


async def test_the_real_transfer_moves_what_the_dry_run_previewed(api: Api) -> None:
    source, target, accounts = await owners_with_accounts(api, 4)
    chosen = {"fromOwnerId": source, "toOwnerId": target, "accountIds": accounts[1:3]}

    dry = await api.ok("transferClients", {**chosen, "dryRun": True}, TRANSFER)
    real = await api.ok("transferClients", chosen, TRANSFER)

    count, moved, by_owner = previewed(dry)
    assert real["preview"] is None
    assert (real["transferredCount"], {a["id"] for a in real["accounts"]}) == (count, moved)
    assert by_owner == [(target, count)]
    owners = await owner_of(api, accounts)
    assert {account for account, owner in owners.items() if owner == target} == moved


async def test_a_dry_deletion_previews_the_user_s_clients_and_teams_and_writes_nothing(
    api: Api,
) -> None:
    user_id, _ = await api.staff("VIEW_ASSIGNED_ACCOUNTS")
    await api.enable_ownership()
    leaving = await api.add_owner(user_id=user_id)
    heir = await api.add_owner(name="Heir")
    accounts = [(await api.create_account(f"C{i}", ownerId=leaving))["id"] for i in range(2)]
    await api.ok("assignTeamMember", {"accountId": accounts[0], "userId": user_id})
    before = await stored(api)

    payload = await api.ok(
        "deleteUser", {"userId": user_id, "transferClientsTo": heir, "dryRun": True}, DELETE
    )

    assert previewed(payload) == (2, set(accounts), [(heir, 2)])
    assert payload["deletedUserId"] is None
    assert (payload["transferredCount"], payload["unassignedCount"]) == (2, 0)
    assert payload["teamCount"] == 1
    assert await stored(api) == before


async def test_the_real_deletion_does_what_the_dry_run_previewed(api: Api) -> None:
    user_id, _ = await api.staff()
    await api.enable_ownership()
    leaving = await api.add_owner(user_id=user_id)
    accounts = [(await api.create_account(f"C{i}", ownerId=leaving))["id"] for i in range(3)]
    await api.ok("assignTeamMember", {"accountId": accounts[2], "userId": user_id})

    dry = await api.ok("deleteUser", {"userId": user_id, "dryRun": True}, DELETE)
    real = await api.ok("deleteUser", {"userId": user_id}, DELETE)

    count, moved, by_owner = previewed(dry)
    assert by_owner == [(None, 3)]
    assert (real["unassignedCount"], real["teamCount"]) == (count, dry["teamCount"])
    assert real["deletedUserId"] == user_id and real["preview"] is None
    assert set((await owner_of(api, sorted(moved))).values()) == {None}


async def test_a_dry_deletion_of_a_user_without_clients_or_teams_previews_nothing(
    api: Api,
) -> None:
    user_id, _ = await api.staff()

    payload = await api.ok("deleteUser", {"userId": user_id, "dryRun": True}, DELETE)

    assert previewed(payload) == (0, set(), [])
    assert payload["teamCount"] == 0


REFUSALS: dict[str, tuple[str, dict[str, Any]]] = {
    "a transfer to the same owner": ("transferClients", {"fromOwnerId": "@a", "toOwnerId": "@a"}),
    "a transfer of an account the owner does not own": (
        "transferClients",
        {"fromOwnerId": "@b", "toOwnerId": "@a", "accountIds": ["@account"]},
    ),
    "a transfer from an unknown owner": (
        "transferClients",
        {"fromOwnerId": "x", "toOwnerId": "@a"},
    ),
    "deleting yourself": ("deleteUser", {"userId": "@me"}),
    "deleting a user in favour of their own entry": (
        "deleteUser",
        {"userId": "@staff", "transferClientsTo": "@staff_entry"},
    ),
}


@pytest.mark.parametrize("refusal", list(REFUSALS))
async def test_a_dry_run_gives_the_real_run_s_user_errors(api: Api, refusal: str) -> None:
    name, template = REFUSALS[refusal]
    staff, _ = await api.staff()
    await api.enable_ownership()
    ids = {
        "a": await api.add_owner(name="A"),
        "b": await api.add_owner(name="B"),
        "staff": staff,
        "staff_entry": await api.add_owner(user_id=staff),
        "me": (await api.data("{ viewer { user { id } } }"))["viewer"]["user"]["id"],
    }
    ids["account"] = (await api.create_account("Acme", ownerId=ids["a"]))["id"]
    input_ = {
        key: ids[value[1:]] if isinstance(value, str) and value.startswith("@") else value
        for key, value in template.items()
    }
    if "accountIds" in input_:
        input_["accountIds"] = [ids[value[1:]] for value in template["accountIds"]]
    before = await stored(api)

    dry = await api.mutate(name, {**input_, "dryRun": True})
    assert await stored(api) == before
    real = await api.mutate(name, input_)

    assert dry["userErrors"] and dry["userErrors"] == real["userErrors"]
    assert await stored(api) == before


async def every_right_but_a_role(api: Api, caller: str) -> str:
    """The token of a STAFF user, or the secret of an API key, holding every permission."""
    if caller == "key":
        created = await api.ok(
            "createApiKey", {"name": "Partner", "permissions": list(EVERY_PERMISSION)}, "key"
        )
        return created["key"]
    _, token = await api.staff(*EVERY_PERMISSION)
    return token


@pytest.mark.parametrize("caller", ["staff", "key"])
@pytest.mark.parametrize(
    "mutation, input_",
    [
        ("transferClients", {"fromOwnerId": "x", "toOwnerId": "y", "dryRun": True}),
        ("deleteUser", {"userId": "x", "dryRun": True}),
    ],
)
async def test_a_dry_run_needs_the_real_run_s_rights(
    api: Api, mutation: str, input_: dict[str, Any], caller: str
) -> None:
    token = await every_right_but_a_role(api, caller)
    input_type = mutation[0].upper() + mutation[1:] + "Input"
    query = (
        f"mutation($input: {input_type}!) "
        f"{{ {mutation}(input: $input) {{ userErrors {{ code }} }} }}"
    )

    body = await api.execute(query, {"input": input_}, token)

    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
