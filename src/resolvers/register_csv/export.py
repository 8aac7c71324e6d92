"""The register export: what `accounts` lists for a filter and order, as CSV, read in keyset
batches, each in a transaction of its own, so that memory and the connection held do not
grow with the register and a slow reader holds no connection between batches."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from clientgraph.auth.viewer import Viewer
from clientgraph.db import models
from clientgraph.db.engine import Database
from clientgraph.db.one_of import one_of
from clientgraph.db.orders import Order
from clientgraph.db.queries import to_row
from clientgraph.db.rows import AccountRow
from clientgraph.resolvers.accounts import AccountFilter, AccountOrder, listed_accounts
from clientgraph.resolvers.enums import ContactRole, CustomFieldEntity
from clientgraph.resolvers.errors import Forbidden
from clientgraph.resolvers.pagination import after_cursor, literal_row
from clientgraph.resolvers.policy import view_reach
from clientgraph.resolvers.register_csv.columns import CONTACT_COLUMNS, header, joined
from sqlalchemy import Select, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

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
        after: list[Any] | None = None
        while True:
            rows, after = await self.db.read(
                self.session, lambda s, a=after: self._batch(s, a, definitions)
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
        self, session: AsyncSession, after: list[Any] | None, definitions: list[_Definition]
    ) -> tuple[list[list[str]], list[Any] | None]:
        """The records of the next batch of accounts, and the key to continue after (None
        at the end)."""
        keys = self.order.keys
        page = self.query.add_columns(*keys).order_by(*self.order.clauses()).limit(BATCH_SIZE)
        if after is not None:
            page = page.where(after_cursor(self.order, literal_row(after, self.order)))
        found = (await session.execute(page)).all()
        accounts = [to_row(AccountRow, row) for row in found]
        if not accounts:
            return [], None
        details = await _Details.load(session, self.viewer.firm_id, accounts)
        records = [
            record for account in accounts for record in details.records(account, definitions)
        ]
        more = len(found) == BATCH_SIZE
        return records, list(found[-1][-len(keys) :]) if more else None


@dataclass(frozen=True, slots=True)
class _Details:
    """What one batch of accounts carries besides its own columns, read in one statement
    per kind."""

    tags: dict[uuid.UUID, list[str]]
    owners: dict[uuid.UUID, str]
    contacts: dict[uuid.UUID, list[list[str]]]
    values: dict[tuple[uuid.UUID, uuid.UUID], str]

    @classmethod
    async def load(
        cls, session: AsyncSession, firm_id: uuid.UUID, accounts: Sequence[AccountRow]
    ) -> _Details:
        ids = [account.id for account in accounts]
        owner_ids = {account.owner_id for account in accounts if account.owner_id}
        return cls(
            tags=await _tags(session, firm_id, ids),
            owners=await _owners(session, firm_id, owner_ids) if owner_ids else {},
            contacts=await _contacts(session, firm_id, ids),
            values=await _values(session, firm_id, ids),
        )

    def records(self, account: AccountRow, definitions: list[_Definition]) -> list[list[str]]:
        own = [
            account.name,
            account.customer_number or "",
            account.type,
            account.status,
            joined(self.tags.get(account.id, [])),
            self.owners.get(account.owner_id, "") if account.owner_id else "",
        ]
        custom = [self.values.get((account.id, d.id), "") for d in definitions]
        links = self.contacts.get(account.id) or [NO_CONTACT]
        return [[*own, *link, *custom] for link in links]


async def _tags(
    session: AsyncSession, firm_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    tag = models.AccountTag
    found = await session.execute(
        select(tag.account_id, tag.tag)
        .where(tag.firm_id == firm_id, one_of(tag.account_id, ids))
        .order_by(tag.account_id, tag.tag)
    )
    tags: dict[uuid.UUID, list[str]] = defaultdict(list)
    for row in found:
        tags[row.account_id].append(row.tag)
    return tags


async def _owners(
    session: AsyncSession, firm_id: uuid.UUID, ids: set[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """An owner as the import finds it again: its user's e-mail, else its name."""
    owner, user = models.ClientOwner, models.User
    found = await session.execute(
        select(owner.id, owner.name, user.email)
        .outerjoin(
            user,
            and_(
                user.firm_id == owner.firm_id, user.id == owner.user_id, user.deleted_at.is_(None)
            ),
        )
        .where(owner.firm_id == firm_id, one_of(owner.id, ids))
    )
    return {row.id: row.email or row.name for row in found}


async def _contacts(
    session: AsyncSession, firm_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[list[str]]]:
    link, contact, email = models.AccountContact, models.Contact, models.ContactEmail
    found = await session.execute(
        select(
            link.account_id,
            contact.first_name,
            contact.last_name,
            email.email,
            contact.phone,
            link.is_commercial,
            link.is_operational,
            link.description,
        )
        .join(contact, and_(contact.firm_id == link.firm_id, contact.id == link.contact_id))
        .outerjoin(
            email,
            and_(
                email.firm_id == contact.firm_id,
                email.contact_id == contact.id,
                email.position == 0,
            ),
        )
        .where(link.firm_id == firm_id, one_of(link.account_id, ids))
        .order_by(link.account_id, contact.last_name_folded, contact.first_name_folded, contact.id)
    )
    contacts: dict[uuid.UUID, list[list[str]]] = defaultdict(list)
    for row in found:
        roles = [
            role.value
            for role, held in (
                (ContactRole.COMMERCIAL, row.is_commercial),
                (ContactRole.OPERATIONAL, row.is_operational),
            )
            if held
        ]
        contacts[row.account_id].append(
            [
                row.first_name,
                row.last_name,
                row.email or "",
                row.phone or "",
                "",
                joined(roles),
                row.description or "",
            ]
        )
    return contacts


async def _values(
    session: AsyncSession, firm_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[tuple[uuid.UUID, uuid.UUID], str]:
    value = models.CustomFieldValue
    found = await session.execute(
        select(value.subject_id, value.definition_id, value.value).where(
            value.firm_id == firm_id, one_of(value.subject_id, ids)
        )
    )
    return {(row.subject_id, row.definition_id): row.value for row in found}


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
