"""The relations that read accounts: an account by id, its team, its tags, and the
accounts related through shared contacts. An owner's accounts are `owners.OWNED_ACCOUNTS`;
an account's links to contacts are `contacts.ACCOUNT_CONTACTS`."""

from __future__ import annotations

from clientgraph.auth.viewer import Viewer
from clientgraph.db import models, orders
from clientgraph.db.relation import Alias, Related, Relation, column_shape, row_shape
from clientgraph.db.rows import AccountRow, UserRow
from clientgraph.list_limits import ListLimits
from clientgraph.resolvers.policy import visible_accounts
from clientgraph.resolvers.read_model.base import by_id
from clientgraph.resolvers.read_model.users import live_users
from sqlalchemy import and_, select

ACCOUNTS = Relation(
    "accounts", by_id(models.Account, visible_accounts), row_shape(AccountRow), unique=True
)
"""An account by id, if the caller may see it."""


def _team_members(viewer: Viewer, lists: ListLimits, alias: Alias) -> Related:
    member, user = alias(models.AccountTeamMember), alias(models.User)
    statement = (
        select()
        .select_from(member)
        .join(user, and_(user.firm_id == member.firm_id, user.id == member.user_id))
        .where(live_users(viewer, user))
    )
    return Related(
        statement, user, member.account_id, orders.users_by_name(user), lists.team_members
    )


TEAM_MEMBERS = Relation("team_members", _team_members, row_shape(UserRow))
"""The users on an account's team, by name."""


def _tags(viewer: Viewer, lists: ListLimits, alias: Alias) -> Related:
    tag = alias(models.AccountTag)
    statement = select().select_from(tag).where(tag.firm_id == viewer.firm_id)
    return Related(
        statement, tag, tag.account_id, orders.tags_in_order(tag), lists.tags_per_account
    )


TAGS = Relation("tags", _tags, column_shape(lambda tag: tag.tag))
"""An account's tags, sorted."""


def _related_accounts(viewer: Viewer, lists: ListLimits, alias: Alias) -> Related:
    """The distinct pairs (account, other account sharing a contact), joined to the other
    account where the caller sees it. The parent's key restricts `source` from outside the
    DISTINCT; both databases push that restriction into it (see the README)."""
    link, other_link = alias(models.AccountContact), alias(models.AccountContact)
    pairs = (
        select(link.account_id.label("source"), other_link.account_id.label("target"))
        .join(
            other_link,
            and_(
                other_link.firm_id == link.firm_id,
                other_link.contact_id == link.contact_id,
                other_link.account_id != link.account_id,
            ),
        )
        .where(link.firm_id == viewer.firm_id)
        .distinct()
        .subquery()
    )
    other = alias(models.Account)
    statement = (
        select()
        .select_from(pairs)
        .join(other, and_(other.firm_id == viewer.firm_id, other.id == pairs.c.target))
        .where(visible_accounts(viewer, other))
    )
    return Related(
        statement,
        other,
        pairs.c.source,
        orders.accounts_by_name(other),
        lists.related_accounts,
        cut_in_sql=True,
    )


RELATED_ACCOUNTS = Relation("related_accounts", _related_accounts, row_shape(AccountRow))
"""Other accounts the caller sees that share a contact with an account, by name; cut in SQL:
two accounts sharing contacts with thousands of others must not load thousands of rows."""
