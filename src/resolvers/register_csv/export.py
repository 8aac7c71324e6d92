"""The register export: what `accounts` lists for a filter and order, as CSV, read in keyset
batches, each in a transaction of its own, so that memory and the connection held do not
grow with the register and a slow reader holds no connection between batches."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import orjson
from clientgraph.auth.viewer import Viewer
from clientgraph.db import models
from clientgraph.db.engine import Database
from clientgraph.db.json_rows import json_rows
from clientgraph.db.loaders import load_relation, on_session
from clientgraph.db.orders import Order
from clientgraph.db.queries import to_row
from clientgraph.db.relation import Relation
from clientgraph.db.rows import AccountRow, CustomFieldDefinitionRow
from clientgraph.list_limits import ListLimits
from clientgraph.resolvers.accounts import AccountFilter, AccountOrder, listed_accounts
from clientgraph.resolvers.enums import ContactRole, CustomFieldEntity
from clientgraph.resolvers.errors import Forbidden
from clientgraph.resolvers.pagination import after_cursor, literal_row
from clientgraph.resolvers.policy import view_reach
from clientgraph.resolvers.read_model import (
    ACCOUNT_CONTACTS,
    ACCOUNT_CUSTOM_FIELDS,
    CONTACT_EMAILS,
    CUSTOM_FIELD_DEFINITIONS,
    LIVE_USERS,
    OWNERS,
    TAGS,
)
from clientgraph.resolvers.register_csv.columns import CONTACT_COLUMNS, header, joined
from sqlalchemy import ColumnElement, ScalarSelect, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

BATCH_SIZE = 500
BOM = "\ufeff"
NO_CONTACT = [""] * len(CONTACT_COLUMNS)


@dataclass(frozen=True, slots=True)
class RegisterExport:
    """The accounts to export, checked before the first byte is sent: a caller without any
    right to see accounts is refused, and a bad filter is a BadUserInput."""

    db: Database
    session: AsyncSession
    viewer: Viewer
    query: Select[Any]
    order: Order
    lists: ListLimits

    @classmethod
    def of(
        cls,
        db: Database,
        session: AsyncSession,
        viewer: Viewer,
        spec: AccountFilter,
        order: AccountOrder,
        lists: ListLimits,
    ) -> RegisterExport:
        if view_reach(viewer).right is None:
            raise Forbidden(
                "You need the VIEW_ALL_ACCOUNTS or VIEW_ASSIGNED_ACCOUNTS right to export accounts."
            )
        query, ordered = listed_accounts(viewer, spec, order, search_length=lists.search_length)
        return cls(db, session, viewer, query, ordered, lists)

    async def csv_chunks(self) -> AsyncIterator[bytes]:
        """The CSV, UTF-8 with a BOM (so spreadsheets read it as UTF-8), a header row and
        then one chunk per batch of accounts."""
        definitions = await self.db.read(self.session, self._definitions)
        await self.db.end_read(self.session)
        yield _csv_text([header([d.key for d in definitions])], prefix=BOM)
        details = _Details(self.viewer, self.lists, [d.key for d in definitions])
        page = (
            self.query.add_columns(*self.order.keys, *details.columns())
            .order_by(*self.order.clauses())
            .limit(BATCH_SIZE)
        )
        after: list[Any] | None = None
        while True:
            rows, after = await self.db.read(
                self.session, lambda s, a=after: self._batch(s, page, a, details)
            )
            await self.db.end_read(self.session)
            if rows:
                yield _csv_text(rows)
            if after is None:
                return

    async def _definitions(self, session: AsyncSession) -> list[CustomFieldDefinitionRow]:
        """The firm's account fields, by key: the export's columns, as the import reads them."""

        run = on_session(session)

        entity = CustomFieldEntity.ACCOUNT.value
        [found] = await load_relation(
            run, CUSTOM_FIELD_DEFINITIONS, self.viewer, self.lists, [entity]
        )
        return sorted(found, key=lambda definition: definition.key)

    async def _batch(
        self, session: AsyncSession, page: Select[Any], after: list[Any] | None, details: _Details
    ) -> tuple[list[list[str]], list[Any] | None]:
        """The records of the next batch of accounts (`page`: one statement, each account's
        details looked up beside it), and the key to continue after (None at the end)."""
        if after is not None:
            page = page.where(after_cursor(self.order, literal_row(after, self.order)))
        await _prefer_ordered_scans(session)
        found = (await session.execute(page)).all()
        if not found:
            return [], None
        own, width = len(fields(AccountRow)), len(self.order.keys)
        records = [
            record
            for row in found
            for record in details.records(to_row(AccountRow, row), row[own + width :])
        ]
        more = len(found) == BATCH_SIZE
        return records, list(found[-1][own : own + width]) if more else None


async def _prefer_ordered_scans(session: AsyncSession) -> None:
    """On PostgreSQL, have this transaction read a batch through the order's index, in order,
    stopping after the batch, instead of collecting the rest of the firm through a bitmap of
    that index and sorting it for every batch: the plan it picks when it takes the firm for a
    few rows (statistics not yet gathered after a bulk import, or a firm larger than the
    average they describe), which makes an export quadratic in the firm. Where no index gives
    the order (by owner name) it still sorts. Set for the batch's transaction only."""
    if session.bind.dialect.name == "postgresql":
        await session.execute(select(func.set_config("enable_bitmapscan", "off", True)))


@dataclass(frozen=True, slots=True)
class _Details:
    """What an account carries besides its own columns, as columns of the batch's statement:
    the read model's relations of the account, each a subquery correlated to it, an index
    lookup per account (see db/json_rows.py), so that a batch costs the same at the end of a
    large firm as at its start."""

    viewer: Viewer
    lists: ListLimits
    keys: list[str]
    """The custom fields' keys, in the columns' order."""

    def columns(self) -> list[ColumnElement[Any]]:
        account = models.Account
        return [
            _rows_of(TAGS, self, account.id, lambda tag: [tag.tag]).label("export_tags"),
            self._owner().label("export_owner"),
            _rows_of(ACCOUNT_CONTACTS, self, account.id, self._contact_columns).label(
                "export_contacts"
            ),
            _rows_of(ACCOUNT_CUSTOM_FIELDS, self, account.id, _key_and_value).label(
                "export_values"
            ),
        ]

    def records(self, account: AccountRow, details: Sequence[Any]) -> list[list[str]]:
        tags, owner, contacts, values = details
        own = [
            account.name,
            account.customer_number or "",
            account.type,
            account.status,
            joined([tag for (tag,) in _listed(tags)]),
            owner or "",
        ]
        stored = dict(_listed(values))
        custom = [stored.get(key) or "" for key in self.keys]
        links = [_link(*contact) for contact in _listed(contacts)] or [NO_CONTACT]
        return [[*own, *link, *custom] for link in links]

    def _owner(self) -> ScalarSelect[Any]:
        """An owner as the import finds it again: its user's e-mail, else its name."""
        owners = OWNERS.rows(self.viewer, self.lists)
        owner = owners.entity
        users = LIVE_USERS.rows(self.viewer, self.lists)
        email = users.for_parent(owner.user_id).add_columns(users.entity.email)
        return (
            owners.for_parent(models.Account.owner_id)
            .add_columns(func.coalesce(email.correlate(owner).scalar_subquery(), owner.name))
            .correlate(models.Account)
            .scalar_subquery()
        )

    def _contact_columns(self, entity: Any) -> list[ColumnElement[Any]]:
        """A contact of the account with its primary e-mail, and the link's roles and
        description."""
        link, contact = entity
        emails = CONTACT_EMAILS.rows(self.viewer, self.lists)
        primary = (
            emails.for_parent(contact.id)
            .add_columns(emails.entity.email)
            .order_by(*emails.order.clauses())
            .limit(1)
            .correlate(contact)
            .scalar_subquery()
        )
        return [
            contact.first_name,
            contact.last_name,
            primary,
            contact.phone,
            link.is_commercial,
            link.is_operational,
            link.description,
        ]


def _key_and_value(entity: Any) -> list[ColumnElement[Any]]:
    definition, stored = entity
    return [definition.key, stored.value]


def _rows_of(
    relation: Relation,
    details: _Details,
    parent_key: ColumnElement[Any],
    values: Callable[[Any], list[ColumnElement[Any]]],
) -> ScalarSelect[Any]:
    """`values` of every row of `relation` for the account, uncut, in the relation's order."""
    related = relation.rows(details.viewer, details.lists)
    query = related.for_parent(parent_key).add_columns(*values(related.entity))
    return json_rows(query.correlate(models.Account), related.order.keys)


def _listed(rows: str | None) -> list[list[Any]]:
    """A `json_rows` value: JSON text, or NULL for none."""
    return [] if rows is None else orjson.loads(rows)


def _link(
    first_name: str,
    last_name: str,
    email: str | None,
    phone: str | None,
    commercial: bool,
    operational: bool,
    description: str | None,
) -> list[str]:
    roles = [
        role.value
        for role, held in (
            (ContactRole.COMMERCIAL, commercial),
            (ContactRole.OPERATIONAL, operational),
        )
        if held
    ]
    return [first_name, last_name, email or "", phone or "", "", joined(roles), description or ""]


def _csv_text(records: list[list[str]], prefix: str = "") -> bytes:
    out = io.StringIO()
    out.write(prefix)
    csv.writer(out, lineterminator="\r\n").writerows(
        [[inert(cell) for cell in record] for record in records]
    )
    return out.getvalue().encode()


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER_LIKE = re.compile(r"[+-]?[0-9][0-9 ().-]*")
"""A phone number or a number: a spreadsheet reads it as a value, whatever its sign."""


def revived(cell: str) -> str:
    """`cell` as it was before `inert`: the import reads what the export wrote."""
    if cell.startswith("'") and inert(cell[1:]) == cell:
        return cell[1:]
    return cell


def inert(cell: str) -> str:
    """`cell` as a spreadsheet will not run it: text that a spreadsheet would take for a
    formula gets a leading `'` (OWASP's CSV injection advice), numbers and phone numbers
    stay as they are."""
    if cell.startswith(FORMULA_STARTS) and not NUMBER_LIKE.fullmatch(cell):
        return "'" + cell
    return cell
