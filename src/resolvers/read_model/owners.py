"""The relations of the address book: an entry by id, a user's entry, and an entry's
accounts."""

from __future__ import annotations

from clientgraph.auth.viewer import Viewer
from clientgraph.db import models, orders
from clientgraph.db.relation import Alias, Related, Relation, row_shape
from clientgraph.db.rows import AccountRow, ClientOwnerRow
from clientgraph.list_limits import ListLimits
from clientgraph.resolvers.policy import visible_accounts
from clientgraph.resolvers.read_model.base import by_id, in_firm
from sqlalchemy import select

OWNERS = Relation(
    "owners", by_id(models.ClientOwner, in_firm), row_shape(ClientOwnerRow), unique=True
)
"""An entry of the address book by id."""


def _owner_of_user(viewer: Viewer, lists: ListLimits, alias: Alias) -> Related:
    entry = alias(models.ClientOwner)
    statement = select().select_from(entry).where(entry.firm_id == viewer.firm_id)
    return Related(statement, entry, entry.user_id, orders.owners_by_name(entry))


OWNER_OF_USER = Relation("owner_of_user", _owner_of_user, row_shape(ClientOwnerRow), unique=True)
"""A user's entry in the address book (a user is in it at most once)."""


def _owned_accounts(viewer: Viewer, lists: ListLimits, alias: Alias) -> Related:
    account = alias(models.Account)
    statement = select().select_from(account).where(visible_accounts(viewer, account))
    return Related(statement, account, account.owner_id, orders.accounts_by_name(account))


OWNED_ACCOUNTS = Relation("owned_accounts", _owned_accounts, row_shape(AccountRow))
"""The accounts of an address-book entry that the caller sees, any status, by name: a
connection (paged, never cut), and counted by `ClientOwner.accountCount`."""
