"""A mutation's payload shows what the mutation wrote, read in the transaction that wrote it
(`Context.write_showing`): no transaction of its own after the COMMIT."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from clientgraph.db.engine import Database
from sqlalchemy import event

from tests.support import Api


@contextlib.contextmanager
def transactions_begun(db: Database) -> Iterator[list[object]]:
    """One entry per transaction the engine begins while the block runs."""
    begun: list[object] = []

    def begin(connection: Any) -> None:
        begun.append(connection)

    event.listen(db.engine.sync_engine, "begin", begin)
    try:
        yield begun
    finally:
        event.remove(db.engine.sync_engine, "begin", begin)


async def test_a_new_accounts_payload_is_read_where_it_was_written(api: Api) -> None:
    with transactions_begun(api.db) as begun:
        payload = await api.ok(
            "createAccount", {"name": "Fjord Fiskeri ApS"}, "account { name version }"
        )

    assert payload["account"] == {"name": "Fjord Fiskeri ApS", "version": 1}
    assert len(begun) == 2, "one to load the caller, one to write and show"


async def test_an_accounts_new_owner_is_shown_from_the_transaction_that_assigned_it(
    api: Api,
) -> None:
    await api.enable_ownership()
    anna, bo = await api.add_owner(name="Anna"), await api.add_owner(name="Bo")
    account = await api.create_account("Moved", ownerId=anna)

    with transactions_begun(api.db) as begun:
        payload = await api.ok(
            "assignClientOwner",
            {"accountId": account["id"], "ownerId": bo},
            "account { version owner { id name } }",
        )

    assert payload["account"] == {"version": 2, "owner": {"id": bo, "name": "Bo"}}
    assert len(begun) == 2, "one to load the caller, one to write and show"


async def test_transferred_accounts_and_their_new_owner_are_shown_from_the_transferring_one(
    api: Api,
) -> None:
    await api.enable_ownership()
    anna, bo = await api.add_owner(name="Anna"), await api.add_owner(name="Bo")
    moved = [await api.create_account(name, ownerId=anna) for name in ("First", "Second")]

    with transactions_begun(api.db) as begun:
        payload = await api.ok(
            "transferClients",
            {"fromOwnerId": anna, "toOwnerId": bo},
            "transferredCount accounts { id version owner { id name } }",
        )

    assert payload["transferredCount"] == 2
    assert sorted(payload["accounts"], key=lambda account: account["id"]) == sorted(
        (
            {"id": account["id"], "version": 2, "owner": {"id": bo, "name": "Bo"}}
            for account in moved
        ),
        key=lambda account: account["id"],
    )
    assert len(begun) == 2, "one to load the caller, one to write and show"
