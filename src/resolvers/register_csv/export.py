"""The register export: what `accounts` lists for a filter and order, as CSV, read in keyset
batches, each in a transaction of its own, so that memory and the connection held do not
grow with the register and a slow reader holds no connection between batches."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, fields
from typing import Any

import orjson
from clientgraph.auth.viewer import Viewer
from clientgraph.db import models
from clientgraph.db.engine import Database
from clientgraph.db.json_rows import json_rows
from clientgraph.db.orders import Order
from clientgraph.db.queries import to_row
from clientgraph.db.rows import AccountRow
from clientgraph.resolvers.accounts import AccountFilter, AccountOrder, listed_accounts
from clientgraph.resolvers.enums import ContactRole, CustomFieldEntity
from clientgraph.resolvers.errors import Forbidden
from clientgraph.resolvers.pagination import after_cursor, literal_row
from clientgraph.resolvers.policy import view_reach
from clientgraph.resolvers.register_csv.columns import CONTACT_COLUMNS, header, joined
from sqlalchemy import ColumnElement, ScalarSelect, Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

BATCH_SIZE = 500
BOM = "\ufeff"
NO_CONTACT = [""] * len(CONTACT_COLUMNS)


@dataclass(frozen=True, slots=True)
class _Definition:
    id: uuid.UUID
    key: str


@dataclass(frozen=True, slots=True)
class RegisterExport:
    """The accounts to export, checked before the first byte is sent: a caller without any
    right to see accounts is refused, and a bad filter is a BadUserInput."""

    db: Database
    session: AsyncSession
    viewer: Viewer
    query: Select[Any]
    order: Order

    @classmethod
    def of(
        cls,
        db: Database,
        session: AsyncSession,
        viewer: Viewer,
        spec: AccountFilter,
        order: AccountOrder,
        *,
        search_length: int,
    ) -> RegisterExport:
        if view_reach(viewer).right is None:
            raise Forbidden(
                "You need the VIEW_ALL_ACCOUNTS or VIEW_ASSIGNED_ACCOUNTS right to export accounts."
            )
        query, ordered = listed_accounts(viewer, spec, order, search_length=search_length)
        return cls(db, session, viewer, query, ordered)

    async def csv_chunks(self) -> AsyncIterator[bytes]:
        """The CSV, UTF-8 with a BOM (so spreadsheets read it as UTF-8), a header row and
        then one chunk per batch of accounts."""
        definitions = await self.db.read(self.session, self._definitions)
        await self.db.end_read(self.session)
        yield _csv_text([header([d.key for d in definitions])], prefix=BOM)
        details = _Details(definitions)
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

    async def _definitions(self, session: AsyncSession) -> list[_Definition]:
        definition = models.CustomFieldDefinition
        found = await session.execute(
            select(definition.id, definition.key)
            .where(
                definition.firm_id == self.viewer.firm_id,
                definition.entity == CustomFieldEntity.ACCOUNT.value,
            )
            .order_by(definition.key)
        )
        return [_Definition(row.id, row.key) for row in found]

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
    subqueries correlated to the account, each an index lookup per account (see
    db/json_rows.py), so that a batch costs the same at the end of a large firm as at its
    start."""

    definitions: list[_Definition]

    def columns(self) -> list[ColumnElement[Any]]:
        return [
            _tags().label("export_tags"),
            _owner().label("export_owner"),
            _contacts().label("export_contacts"),
            *(_value(d.id).label(f"export_value_{i}") for i, d in enumerate(self.definitions)),
        ]

    def records(self, account: AccountRow, details: Sequence[Any]) -> list[list[str]]:
        tags, owner, contacts, *values = details
        own = [
            account.name,
            account.customer_number or "",
            account.type,
            account.status,
            joined([tag for (tag,) in _listed(tags)]),
            owner or "",
        ]
        custom = [value or "" for value in values]
        links = [_link(*contact) for contact in _listed(contacts)] or [NO_CONTACT]
        return [[*own, *link, *custom] for link in links]


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


def _tags() -> ScalarSelect[Any]:
    tag, account = aliased(models.AccountTag), models.Account
    return json_rows(
        select(tag.tag)
        .where(tag.firm_id == account.firm_id, tag.account_id == account.id)
        .correlate(account),
        [tag.tag],
    )


def _owner() -> ScalarSelect[Any]:
    """An owner as the import finds it again: its user's e-mail, else its name."""
    owner, user, account = aliased(models.ClientOwner), aliased(models.User), models.Account
    return (
        select(func.coalesce(user.email, owner.name))
        .select_from(owner)
        .outerjoin(
            user,
            and_(
                user.firm_id == owner.firm_id, user.id == owner.user_id, user.deleted_at.is_(None)
            ),
        )
        .where(owner.firm_id == account.firm_id, owner.id == account.owner_id)
        .correlate(account)
        .scalar_subquery()
    )


def _contacts() -> ScalarSelect[Any]:
    """The account's contacts by name, each with its primary e-mail (a subquery of its own,
    looked up by the contact) and the link's roles and description."""
    link, contact, account = aliased(models.AccountContact), aliased(models.Contact), models.Account
    email = aliased(models.ContactEmail)
    primary_email = (
        select(email.email)
        .where(
            email.firm_id == contact.firm_id, email.contact_id == contact.id, email.position == 0
        )
        .correlate(contact)
        .scalar_subquery()
    )
    return json_rows(
        select(
            contact.first_name,
            contact.last_name,
            primary_email,
            contact.phone,
            link.is_commercial,
            link.is_operational,
            link.description,
        )
        .select_from(link)
        .join(contact, and_(contact.firm_id == link.firm_id, contact.id == link.contact_id))
        .where(link.firm_id == account.firm_id, link.account_id == account.id)
        .correlate(account),
        [contact.last_name_folded, contact.first_name_folded, contact.id],
    )


def _value(definition_id: uuid.UUID) -> ScalarSelect[Any]:
    value, account = aliased(models.CustomFieldValue), models.Account
    return (
        select(value.value)
        .where(
            value.firm_id == account.firm_id,
            value.definition_id == definition_id,
            value.subject_id == account.id,
        )
        .correlate(account)
        .scalar_subquery()
    )


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
