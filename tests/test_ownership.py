"""The client-owner rules of seeds 000/001, through the API, on every backend."""

from __future__ import annotations

from clientgraph.auth.viewer import Viewer
from clientgraph.db import models
from clientgraph.ids import decode_id
from clientgraph.resolvers import history
from clientgraph.resolvers.enums import UserRole
from clientgraph.resolvers.owners import move_accounts
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support import Api

ACCOUNT_OWNER = """
query($id: ID!) { account(id: $id) { owner { id name } version
  history { nodes { action actor { name } changes { field from to } } } } }
"""
OWNERS = "{ clientOwners { totalCount nodes { id name accountCount user { id email } } } }"


async def test_owner_can_be_assigned_only_when_ownership_is_enabled(api: Api) -> None:
    account = await api.create_account("Acme")
    await api.enable_ownership()
    owner = await api.add_owner(name="Nina Extern")
    await api.ok("updateFirmSettings", {"clientOwnershipEnabled": False})

    payload = await api.mutate(
        "assignClientOwner", {"accountId": account["id"], "ownerId": owner}, "account { id }"
    )

    assert [e["code"] for e in payload["userErrors"]] == ["OWNERSHIP_DISABLED"]
    data = await api.data(ACCOUNT_OWNER, {"id": account["id"]})
    assert data["account"]["owner"] is None


async def test_creating_an_account_asks_for_an_owner_while_ownership_is_enabled(api: Api) -> None:
    await api.enable_ownership()

    payload = await api.mutate("createAccount", {"name": "Acme"}, "account { id }")

    assert payload["account"] is None
    assert payload["userErrors"] == [
        {"field": ["ownerId"], "code": "OWNER_REQUIRED", "message": "Choose the client owner."}
    ]
    assert (await api.data("{ accounts { totalCount } }"))["accounts"]["totalCount"] == 0


async def test_an_account_created_with_an_owner_lists_under_that_owner(api: Api) -> None:
    await api.enable_ownership()
    owner = await api.add_owner(name="Nina Extern")

    account = await api.create_account("Acme", ownerId=owner)

    assert account["owner"] == {"id": owner, "name": "Nina Extern"}
    owners = (await api.data(OWNERS))["clientOwners"]["nodes"]
    assert owners == [{"id": owner, "name": "Nina Extern", "accountCount": 1, "user": None}]


async def test_owner_is_added_changed_and_cleared_on_an_existing_account(api: Api) -> None:
    account = await api.create_account("Acme")
    await api.enable_ownership()
    first = await api.add_owner(name="Anna First")
    second = await api.add_owner(name="Bo Second")

    for owner in (first, second, None):
        await api.ok("assignClientOwner", {"accountId": account["id"], "ownerId": owner})

    data = (await api.data(ACCOUNT_OWNER, {"id": account["id"]}))["account"]
    assert data["owner"] is None
    assert data["version"] == 4
    changes = [event["changes"] for event in data["history"]["nodes"]][:3]
    assert changes == [
        [{"field": "owner", "from": "Bo Second", "to": None}],
        [{"field": "owner", "from": "Anna First", "to": "Bo Second"}],
        [{"field": "owner", "from": None, "to": "Anna First"}],
    ]


async def test_an_account_changed_before_a_move_in_the_same_transaction_moves_its_version_once(
    api: Api,
) -> None:
    """`history.bulk_version`: the move's one UPDATE leaves alone the version of an account
    the transaction has already versioned, and moves the others'."""
    await api.enable_ownership()
    anna, bo = await api.add_owner(name="Anna"), await api.add_owner(name="Bo")
    changed = await api.create_account("A", ownerId=anna)
    untouched = await api.create_account("B", ownerId=anna)
    viewer = Viewer(api.user_id, api.firm_id, "Owner", UserRole.OWNER, frozenset())

    async def rename_then_move(session: AsyncSession) -> None:
        account = await session.get_one(models.Account, decode_id(changed["id"], "Account"))
        account.name = "A renamed"
        history.changed(session, account)
        await session.flush()
        source = await session.get_one(models.ClientOwner, decode_id(anna, "ClientOwner"))
        target = await session.get_one(models.ClientOwner, decode_id(bo, "ClientOwner"))
        await move_accounts(session, viewer, source, target)

    await api.db.write(rename_then_move, firm_id=api.firm_id)

    versions = {
        account["id"]: (await api.data(ACCOUNT_OWNER, {"id": account["id"]}))["account"]["version"]
        for account in (changed, untouched)
    }
    assert versions == {changed["id"]: 2, untouched["id"]: 2}
