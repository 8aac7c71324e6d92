"""Per-request DataLoaders: one batched `WHERE key IN (...)` statement per kind of relation.

Every loader runs its statement through `run`, which serialises use of the request's one
AsyncSession (DataLoader dispatches each batch as its own task, and a session refuses
concurrent operations).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from clientgraph.db import models, orders
from clientgraph.db.one_of import one_of
from clientgraph.db.queries import columns_of, select_rows, to_row
from clientgraph.db.rows import (
    AccountContactRow,
    AccountRow,
    ApiKeyRow,
    ClientOwnerRow,
    ContactRow,
    CustomFieldDefinitionRow,
    FirmRow,
    UserRow,
)
from clientgraph.list_limits import ListLimits
from sqlalchemy import ColumnElement, Row, Select, func, select
from sqlalchemy.orm import aliased
from strawberry.dataloader import DataLoader

K = TypeVar("K")
V = TypeVar("V")
RowT = TypeVar("RowT")
Runner = Callable[[Select[Any]], Awaitable[Sequence[Row[Any]]]]
Ids = list[uuid.UUID]


def _single(
    run: Runner, build: Callable[[Ids], Select[Any]], row_type: type[RowT]
) -> DataLoader[uuid.UUID, RowT | None]:
    """Each key to the row whose `id` it is, or None."""

    async def load(keys: Ids) -> list[RowT | None]:
        found = {row.id: to_row(row_type, row) for row in await run(build(keys))}
        return [found.get(key) for key in keys]

    return DataLoader(load_fn=load)


def _grouped(
    run: Runner,
    build: Callable[[list[Any]], Select[Any]],
    value_of: Callable[[Row[Any]], V],
    limit: int | None,
) -> DataLoader[Any, list[V]]:
    """Each key to the list of values whose first selected column (the group key) is that key,
    at most `limit` of them (when given): the node limit counts the list at that length.

    The statement's ORDER BY decides the order within each list.
    """

    async def load(keys: list[Any]) -> list[list[V]]:
        groups: dict[Any, list[V]] = defaultdict(list)
        for row in await run(build(keys)):
            group = groups[row[0]]
            if limit is None or len(group) < limit:
                group.append(value_of(row))
        return [groups.get(key, []) for key in keys]

    return DataLoader(load_fn=load)


def keyed_loader(load: Callable[[list[K]], Awaitable[list[V]]]) -> DataLoader[K, V]:
    """A DataLoader for loads defined outside this module (e.g. batched first pages)."""
    return DataLoader(load_fn=load)


def _link_row(row: Row[Any]) -> AccountContactRow:
    link_columns = 5
    return AccountContactRow(
        account_id=row[1],
        description=row[2],
        is_commercial=row[3],
        is_operational=row[4],
        linked_at=row[5],
        contact=to_row(ContactRow, row, offset=1 + link_columns),
    )


class Loaders:
    """The loaders of one request, scoped to the caller's firm and account visibility."""

    def __init__(
        self,
        run: Runner,
        firm_id: uuid.UUID,
        visible_accounts: ColumnElement[bool],
        visible_contacts: ColumnElement[bool],
        lists: ListLimits,
    ) -> None:
        account, owner, user = models.Account, models.ClientOwner, models.User
        link, contact = models.AccountContact, models.Contact
        live_users = (user.firm_id == firm_id) & user.deleted_at.is_(None)

        self.firm = _single(
            run, lambda ids: select_rows(FirmRow).where(one_of(models.Firm.id, ids)), FirmRow
        )
        self.user = _single(
            run,
            lambda ids: select_rows(UserRow).where(user.firm_id == firm_id, one_of(user.id, ids)),
            UserRow,
        )
        self.api_key = _single(
            run,
            lambda ids: select_rows(ApiKeyRow).where(
                models.ApiKey.firm_id == firm_id, models.ApiKey.id.in_(ids)
            ),
            ApiKeyRow,
        )
        self.owner = _single(
            run,
            lambda ids: select_rows(ClientOwnerRow).where(
                owner.firm_id == firm_id, one_of(owner.id, ids)
            ),
            ClientOwnerRow,
        )
        self.account = _single(
            run,
            lambda ids: select_rows(AccountRow).where(visible_accounts, one_of(account.id, ids)),
            AccountRow,
        )
        self.contact = _single(
            run,
            lambda ids: select_rows(ContactRow).where(visible_contacts, one_of(contact.id, ids)),
            ContactRow,
        )
        self.owner_by_user: DataLoader[uuid.UUID, list[ClientOwnerRow]] = _grouped(
            run,
            lambda ids: select(owner.user_id, *columns_of(ClientOwnerRow)).where(
                owner.firm_id == firm_id, one_of(owner.user_id, ids)
            ),
            lambda row: to_row(ClientOwnerRow, row, offset=1),
            1,
        )
        self.tags: DataLoader[uuid.UUID, list[str]] = _grouped(
            run,
            lambda ids: (
                select(models.AccountTag.account_id, models.AccountTag.tag)
                .where(
                    models.AccountTag.firm_id == firm_id, one_of(models.AccountTag.account_id, ids)
                )
                .order_by(*orders.tags_in_order().clauses())
            ),
            lambda row: row[1],
            lists.tags_per_account,
        )
        self.team_members: DataLoader[uuid.UUID, list[UserRow]] = _grouped(
            run,
            lambda ids: (
                select(models.AccountTeamMember.account_id, *columns_of(UserRow))
                .join(
                    user,
                    (user.firm_id == models.AccountTeamMember.firm_id)
                    & (user.id == models.AccountTeamMember.user_id),
                )
                .where(live_users, one_of(models.AccountTeamMember.account_id, ids))
                .order_by(*orders.users_by_name(user).clauses())
            ),
            lambda row: to_row(UserRow, row, offset=1),
            lists.team_members,
        )
        link_columns = (
            link.account_id,
            link.description,
            link.is_commercial,
            link.is_operational,
            link.linked_at,
            *columns_of(ContactRow),
        )
        contact_join = (contact.firm_id == link.firm_id) & (contact.id == link.contact_id)
        self.account_contacts: DataLoader[uuid.UUID, list[AccountContactRow]] = _grouped(
            run,
            lambda ids: (
                select(link.account_id, *link_columns)
                .join(contact, contact_join)
                .where(link.firm_id == firm_id, one_of(link.account_id, ids))
                .order_by(*orders.contacts_by_name(contact).clauses())
            ),
            _link_row,
            lists.account_contacts,
        )
        self.contact_links: DataLoader[uuid.UUID, list[AccountContactRow]] = _grouped(
            run,
            lambda ids: (
                select(link.contact_id, *link_columns)
                .join(contact, contact_join)
                .join(account, (account.firm_id == link.firm_id) & (account.id == link.account_id))
                .where(visible_accounts, one_of(link.contact_id, ids))
                .order_by(*orders.accounts_by_name(account).clauses())
            ),
            _link_row,
            lists.account_contacts,
        )
        self.contact_emails: DataLoader[uuid.UUID, list[str]] = _grouped(
            run,
            lambda ids: (
                select(models.ContactEmail.contact_id, models.ContactEmail.email)
                .where(
                    models.ContactEmail.firm_id == firm_id,
                    one_of(models.ContactEmail.contact_id, ids),
                )
                .order_by(*orders.emails_in_order().clauses())
            ),
            lambda row: row[1],
            lists.contact_emails,
        )
        self.owner_account_count: DataLoader[uuid.UUID, list[int]] = _grouped(
            run,
            lambda ids: (
                select(account.owner_id, func.count())
                .where(visible_accounts, one_of(account.owner_id, ids))
                .group_by(account.owner_id)
            ),
            lambda row: row[1],
            1,
        )
        other_link = aliased(link)

        def related(ids: list[uuid.UUID]) -> Select[Any]:
            """The first `related_accounts` of each account by name, cut in SQL: two accounts
            sharing contacts with thousands of others must not load thousands of rows."""
            pairs = (
                select(link.account_id.label("source"), other_link.account_id.label("target"))
                .join(
                    other_link,
                    (other_link.firm_id == link.firm_id)
                    & (other_link.contact_id == link.contact_id)
                    & (other_link.account_id != link.account_id),
                )
                .where(link.firm_id == firm_id, one_of(link.account_id, ids))
                .distinct()
                .subquery()
            )
            rank = (
                func.row_number()
                .over(
                    partition_by=pairs.c.source,
                    order_by=orders.accounts_by_name(account).clauses(),
                )
                .label("rank")
            )
            ranked = (
                select(pairs.c.source, *columns_of(AccountRow), rank)
                .join(account, (account.firm_id == firm_id) & (account.id == pairs.c.target))
                .where(visible_accounts)
                .subquery()
            )
            return (
                select(
                    ranked.c.source, *(ranked.c[column.name] for column in columns_of(AccountRow))
                )
                .where(ranked.c.rank <= lists.related_accounts)
                .order_by(ranked.c.source, ranked.c.rank)
            )

        self.related_accounts: DataLoader[uuid.UUID, list[AccountRow]] = _grouped(
            run, related, lambda row: to_row(AccountRow, row, offset=1), lists.related_accounts
        )
        definition, value = models.CustomFieldDefinition, models.CustomFieldValue
        self.custom_field_definitions: DataLoader[str, list[CustomFieldDefinitionRow]] = _grouped(
            run,
            lambda entities: (
                select(definition.entity, *columns_of(CustomFieldDefinitionRow))
                .where(definition.firm_id == firm_id, one_of(definition.entity, entities))
                .order_by(*orders.custom_fields_by_label(definition).clauses())
            ),
            lambda row: to_row(CustomFieldDefinitionRow, row, offset=1),
            lists.custom_fields,
        )
        self.custom_values: DataLoader[uuid.UUID, list[tuple[uuid.UUID, str]]] = _grouped(
            run,
            lambda ids: select(value.subject_id, value.definition_id, value.value).where(
                value.firm_id == firm_id, one_of(value.subject_id, ids)
            ),
            lambda row: (row[1], row[2]),
            None,
        )
