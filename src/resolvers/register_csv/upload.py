"""The register import: a CSV in the export's columns (columns.py), upserted by customer
number in one transaction, read as a stream and written in batches, so that memory stays flat
and the statements grow with the batches, not the rows.

Consecutive rows with one customer number are one account with several contacts, as the
export writes them. Each row is checked by the rules of the single mutations (createAccount,
createContact, setCustomFieldValues), every bad field reported. With ALL_OR_NOTHING a failing
row rolls the whole import back; with PARTIAL the good accounts are written; a dry run rolls
back whatever it did. A problem with the file itself (not UTF-8, malformed CSV, a wrong header,
too many rows) writes nothing in any mode."""

from __future__ import annotations

import csv
import io
import itertools
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import IO, Any

from clientgraph.auth.viewer import Viewer
from clientgraph.db import models
from clientgraph.db.bulk import insert_rows, row_values
from clientgraph.db.derived import user_is_active
from clientgraph.db.one_of import one_of
from clientgraph.db.queries import fold
from clientgraph.db.scratch_set import ScratchSet, scratch_set
from clientgraph.resolvers import history
from clientgraph.resolvers.accounts import (
    ACCOUNT_NAME_MAX_LENGTH,
    check_customer_number_length,
    clean_customer_number,
    clean_tags,
    replace_tags,
)
from clientgraph.resolvers.contacts import (
    CleanContact,
    clean_contact,
    clean_description,
    contact_columns,
    current_emails,
    email_rows,
    full_name,
)
from clientgraph.resolvers.context import Context
from clientgraph.resolvers.custom_fields import normalise_value
from clientgraph.resolvers.enums import (
    AccountStatus,
    AccountType,
    ContactRole,
    CustomFieldEntity,
    ImportMode,
    Permission,
    PortalAccess,
    UserErrorCode,
)
from clientgraph.resolvers.errors import UserError, UserErrors
from clientgraph.resolvers.inputs import required_text
from clientgraph.resolvers.policy import (
    editable_accounts,
    editable_contacts,
    require,
    visible_accounts,
)
from clientgraph.resolvers.register_csv.columns import (
    CUSTOM_FIELD_PREFIX,
    FIXED_COLUMNS,
    LIST_SEPARATOR,
)
from clientgraph.resolvers.register_csv.export import revived
from sqlalchemy import ColumnElement, and_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

BATCH_ACCOUNTS = 500
REQUIRED_COLUMNS = ("name", "customer_number")
CONTACT_KEYS = {
    "contact_first_name": "first_name",
    "contact_last_name": "last_name",
    "contact_email": "email",
    "contact_phone": "phone",
    "contact_country": "phone_country",
}
FIELD_COLUMNS = {
    "name": "name",
    "customerNumber": "customer_number",
    "tags": "tags",
    "firstName": "contact_first_name",
    "lastName": "contact_last_name",
    "email": "contact_email",
    "extraEmails": "contact_email",
    "phone": "contact_phone",
    "phoneCountry": "contact_country",
}
"""The column of a field path the shared checks report."""
WRITE_ORDER = (
    models.Account,
    models.AccountTag,
    models.Contact,
    models.ContactEmail,
    models.AccountContact,
    models.CustomFieldValue,
    models.AuditEvent,
)
RACE_ATTEMPTS = 3
"""Times an import is run when another request creates an account with a customer number of
the file between the import's look-up and its insert (PostgreSQL's unique violation): each
new run finds the accounts that won, and updates them or reports them TAKEN as the rights say."""
MAX_REPORTED_ROWS = 1000
"""Failed rows listed in a report; `failed` counts them all."""


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    column: str | None
    code: UserErrorCode
    message: str


@dataclass(slots=True)
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    written: bool = False
    rows: list[RowError] = field(default_factory=list)

    def fail(self, errors: list[RowError]) -> None:
        self.failed += 1
        room = MAX_REPORTED_ROWS - len(self.rows)
        if room > 0:
            self.rows.extend(errors[:room])


class ImportFileError(Exception):
    """The file as a whole cannot be imported; nothing is written."""

    def __init__(self, code: UserErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def user_errors(self) -> UserErrors:
        return UserErrors([UserError(["file"], self.code, self.message)])


class ImportTimedOut(Exception):
    """The import ran past its deadline and was rolled back: nothing was written."""


class _Refused(Exception):
    """Raised inside the transaction to roll it back and still answer with the report."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__("import rolled back")
        self.report = report


@dataclass(frozen=True, slots=True)
class _Record:
    row: int
    cells: dict[str, str]


def _records(binary: IO[bytes], max_rows: int) -> Iterator[tuple[list[str], Iterator[_Record]]]:
    """Yields once: the header, and the data records (numbered as a spreadsheet shows them,
    the header being row 1), read as a stream. The delimiter is `;` when the header has more
    of them than of `,`."""
    binary.seek(0)
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="strict", newline="")
    try:
        first = _line(text, 1)
        if not first.strip():
            raise ImportFileError(UserErrorCode.REQUIRED, "The file is empty: send a header row.")
        delimiter = ";" if first.count(";") > first.count(",") else ","
        reader = csv.reader(
            itertools.chain([first], _lines(text)), delimiter=delimiter, strict=True
        )
        header = [cell.strip() for cell in _parsed(reader, 1)]

        def data() -> Iterator[_Record]:
            number = 1
            while True:
                number += 1
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as error:
                    raise ImportFileError(
                        UserErrorCode.INVALID, f"Row {number} is not valid CSV: {error}."
                    ) from None
                if not any(cell.strip() for cell in cells):
                    continue
                if number - 1 > max_rows:
                    raise ImportFileError(
                        UserErrorCode.TOO_LONG,
                        f"An import may have at most {max_rows} rows after the header.",
                    )
                if len(cells) != len(header):
                    yield _Record(number, {"": f"{len(cells)} cells, {len(header)} columns"})
                    continue
                yield _Record(number, dict(zip(header, map(revived, cells), strict=True)))

        yield header, data()
    finally:
        text.detach()


def _decoded(read: Any, row: int) -> str:
    try:
        return str(read())
    except UnicodeDecodeError:
        raise ImportFileError(
            UserErrorCode.INVALID,
            f"The file is not UTF-8 (near row {row}); save it as CSV UTF-8 and send it again.",
        ) from None


MAX_LINE_CHARACTERS = 1_048_576
"""A line of the file at most: the csv module bounds a field, not how many fields a line has,
and a line of a million delimiters is a million cells before any check sees them."""


def _line(text: io.TextIOWrapper, row: int) -> str:
    line = _decoded(lambda: text.readline(MAX_LINE_CHARACTERS + 1), row)
    if len(line) > MAX_LINE_CHARACTERS:
        raise ImportFileError(
            UserErrorCode.TOO_LONG,
            f"A line of the file (near row {row}) is longer than {MAX_LINE_CHARACTERS} characters.",
        )
    return line


def _lines(text: io.TextIOWrapper) -> Iterator[str]:
    while True:
        line = _line(text, 0)
        if not line:
            return
        yield line


def _parsed(reader: Any, row: int) -> list[str]:
    try:
        return list(next(reader))
    except csv.Error as error:
        raise ImportFileError(
            UserErrorCode.INVALID, f"Row {row} is not valid CSV: {error}."
        ) from None


@dataclass(frozen=True, slots=True)
class _Definition:
    id: uuid.UUID
    type: str
    options: list[str]


@dataclass(frozen=True, slots=True)
class _Owner:
    id: uuid.UUID
    name: str
    active: bool


@dataclass(slots=True)
class _ContactSpec:
    row: int
    clean: CleanContact
    roles: list[ContactRole]
    description: str | None


@dataclass(slots=True)
class _Group:
    """One account's rows, checked: the account's columns given, and its contacts."""

    number: str
    first_row: int
    values: dict[str, Any] = field(default_factory=dict)
    custom: dict[str, str | None] = field(default_factory=dict)
    contacts: list[_ContactSpec] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


@dataclass(slots=True)
class _Existing:
    account: models.Account
    visible: bool
    editable: bool
    tags: list[str]
    owner_id: uuid.UUID | None
    custom: dict[uuid.UUID, models.CustomFieldValue]
    links: list[tuple[models.AccountContact, models.Contact, str | None]]


class Importer:
    """One import's checks and writes, in the transaction of `session`."""

    def __init__(
        self,
        session: AsyncSession,
        viewer: Viewer,
        ctx: Context,
        header: list[str],
        firm: models.Firm,
        definitions: dict[str, _Definition],
        owners: list[tuple[_Owner, str | None]],
        numbers: ScratchSet,
        versioned: ScratchSet,
    ) -> None:
        self.session = session
        self.viewer = viewer
        self.lists = ctx.lists
        self.header = header
        self.firm = firm
        self.definitions = definitions
        self.by_email: dict[str, _Owner] = {}
        self.by_name: dict[str, list[_Owner]] = {}
        self.owner_names: dict[uuid.UUID, str] = {}
        for owner, email in owners:
            self.owner_names[owner.id] = owner.name
            if email:
                self.by_email[fold(email)] = owner
            self.by_name.setdefault(fold(owner.name), []).append(owner)
        self.numbers = numbers
        """The customer numbers of the accounts met so far."""
        self.versioned = versioned
        """The subjects whose version the import has set (history.take_versioned)."""
        self.report = ImportReport()
        self.pending: dict[type, list[Any]] = {kind: [] for kind in WRITE_ORDER}

    # Reading and checking ------------------------------------------------------------------

    def groups(self, records: Iterator[_Record]) -> Iterator[_Group]:
        """Consecutive records with one customer number as one account, each checked."""
        current: _Group | None = None
        for record in records:
            if "" in record.cells:
                bad = _Group("", record.row)
                message = f"Row {record.row} has {record.cells['']}."
                bad.errors.append(RowError(record.row, None, UserErrorCode.INVALID, message))
                if current is not None:
                    yield current
                    current = None
                yield bad
                continue
            number = clean_customer_number(record.cells.get("customer_number")) or ""
            if current is not None and number and number == current.number:
                self._add_row(current, record, same_account=True)
                continue
            if current is not None:
                yield current
            current = _Group(number, record.row)
            self._add_row(current, record, same_account=False)
        if current is not None:
            yield current

    def _add_row(self, group: _Group, record: _Record, *, same_account: bool) -> None:
        cells, row = record.cells, record.row
        errors: list[RowError] = []

        def checked(check: Any, *args: Any, column: str | None = None) -> Any:
            try:
                return check(*args)
            except UserErrors as failure:
                errors.extend(_row_errors(row, failure, column))
                return None

        if not same_account:
            if not group.number:
                errors.append(
                    RowError(
                        row,
                        "customer_number",
                        UserErrorCode.REQUIRED,
                        "The import matches accounts by customer number: give one.",
                    )
                )
            else:
                checked(check_customer_number_length, self.firm, group.number)
            group.values = self._account_values(cells, row, errors, checked)
            group.custom = self._custom_values(cells, row, errors)
        else:
            again = self._account_values(cells, row, [], lambda *a, **k: None)
            for name, value in again.items():
                if value is not None and group.values.get(name) not in (None, value):
                    errors.append(
                        RowError(
                            row,
                            name,
                            UserErrorCode.INVALID,
                            f"Differs from row {group.first_row}, the same account's first row.",
                        )
                    )
        contact = self._contact(cells, row, errors, checked)
        if contact is not None:
            if len(group.contacts) >= self.lists.account_contacts:
                errors.append(
                    RowError(
                        row,
                        None,
                        UserErrorCode.TOO_LONG,
                        f"An account may have at most {self.lists.account_contacts} contacts.",
                    )
                )
            else:
                group.contacts.append(contact)
        group.errors.extend(errors)

    def _account_values(
        self, cells: dict[str, str], row: int, errors: list[RowError], checked: Any
    ) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if "name" in cells:
            values["name"] = _required_name(cells["name"], row, errors)
        if "type" in cells:
            values["type"] = _choice(cells["type"], AccountType, "type", row, errors)
        if "status" in cells:
            values["status"] = (
                _choice(cells["status"], AccountStatus, "status", row, errors)
                if cells["status"].strip()
                else AccountStatus.ACTIVE.value
            )
        if "tags" in cells:
            items = [tag for tag in cells["tags"].split(LIST_SEPARATOR)] if cells["tags"] else []
            values["tags"] = checked(clean_tags, items, self.lists.tags_per_account)
        if "owner" in cells:
            values["owner"] = self._owner(cells["owner"], row, errors)
        return values

    def _owner(self, text: str, row: int, errors: list[RowError]) -> uuid.UUID | None:
        """An address-book entry by its user's e-mail or by its name (None: unowned)."""
        wanted = text.strip()
        if not wanted:
            return None
        owner = self.by_email.get(fold(wanted))
        if owner is None:
            named = self.by_name.get(fold(wanted), [])
            if len(named) > 1:
                errors.append(
                    RowError(
                        row,
                        "owner",
                        UserErrorCode.INVALID,
                        f"{len(named)} client owners are called {wanted}: give the e-mail.",
                    )
                )
                return None
            owner = named[0] if named else None
        if owner is None:
            errors.append(
                RowError(
                    row,
                    "owner",
                    UserErrorCode.NOT_FOUND,
                    f"No client owner is called or has the e-mail {wanted}.",
                )
            )
            return None
        if not owner.active:
            errors.append(
                RowError(
                    row, "owner", UserErrorCode.USER_INACTIVE, f"{owner.name} is no longer active."
                )
            )
            return None
        return owner.id

    def _custom_values(
        self, cells: dict[str, str], row: int, errors: list[RowError]
    ) -> dict[str, str | None]:
        values: dict[str, str | None] = {}
        for key, definition in self.definitions.items():
            column = CUSTOM_FIELD_PREFIX + key
            if column not in cells:
                continue
            raw = cells[column]
            if not raw.strip():
                values[key] = None
                continue
            try:
                values[key] = normalise_value(definition.type, definition.options, raw)
            except ValueError as error:
                errors.append(RowError(row, column, UserErrorCode.INVALID, str(error)))
        return values

    def _contact(
        self, cells: dict[str, str], row: int, errors: list[RowError], checked: Any
    ) -> _ContactSpec | None:
        columns = [*CONTACT_KEYS, "contact_roles", "contact_description"]
        if not any(cells.get(column, "").strip() for column in columns):
            return None
        values = {key: cells.get(column) for column, key in CONTACT_KEYS.items()}
        before = len(errors)
        clean = checked(clean_contact, values, [], self.lists.contact_emails)
        roles: list[ContactRole] = []
        for item in cells.get("contact_roles", "").split(LIST_SEPARATOR):
            if item.strip():
                role = _choice(item, ContactRole, "contact_roles", row, errors)
                if role is not None and ContactRole(role) not in roles:
                    roles.append(ContactRole(role))
        description = checked(
            clean_description, cells.get("contact_description"), ["contact_description"]
        )
        if len(errors) > before or clean is None:
            return None
        return _ContactSpec(row, clean, roles, description)

    # Writing ---------------------------------------------------------------------------------

    async def apply(self, groups: list[_Group]) -> None:
        """Check one batch of accounts against the database and write the good ones."""
        await self._refuse_repeated(groups)
        numbers = [group.number for group in groups if group.number and not group.errors]
        existing = await self._existing(numbers)
        emails = {
            fold(spec.clean.emails[0])
            for group in groups
            for spec in group.contacts
            if spec.clean.emails
        }
        by_email = await self._contacts_by_email(emails)
        await self._versioned_before(existing, by_email)
        for group in groups:
            if group.errors:
                self.report.fail(group.errors)
                continue
            current = existing.get(group.number)
            errors: list[RowError] = []
            if current is None:
                await self._create(group, errors, by_email)
            else:
                await self._update(group, current, errors, by_email)
        await self.session.flush()
        for kind in WRITE_ORDER:
            rows, self.pending[kind] = self.pending[kind], []
            values = [row if isinstance(row, dict) else row_values(row) for row in rows]
            await insert_rows(self.session, kind, values)
        await self.versioned.add([str(id) for id in history.take_versioned(self.session)])
        await history.hand_over(self.session)

    async def _refuse_repeated(self, groups: list[_Group]) -> None:
        """A customer number met again, in this batch or an earlier one, is an error: one
        account's rows follow each other."""
        named = [group for group in groups if group.number]
        new = await self.numbers.add([group.number for group in named])
        for group in named:
            if group.number in new:
                new.discard(group.number)
                continue
            group.errors.insert(
                0,
                RowError(
                    group.first_row,
                    "customer_number",
                    UserErrorCode.DUPLICATE,
                    f"Customer number {group.number} is in the file twice, apart.",
                ),
            )

    async def _versioned_before(
        self, existing: dict[str, _Existing], by_email: dict[str, models.Contact]
    ) -> None:
        """Of the accounts and contacts this batch read, those an earlier batch created or
        changed, whose version is not to move again."""
        met = {found.account.id for found in existing.values()}
        met |= {contact.id for found in existing.values() for _, contact, _ in found.links}
        met |= {contact.id for contact in by_email.values()}
        again = await self.versioned.among([str(id) for id in met])
        history.versioned_already(self.session, {uuid.UUID(id) for id in again})

    def _add(self, row: Any) -> None:
        """Written at the end of the batch, one INSERT per table (no ORM unit of work: the rows
        are new and nothing reads them back; see db/bulk.py), in the order of the database's
        foreign keys. A new row changed later in the batch is written as it ends up."""
        self.pending[type(row)].append(row)

    def _add_values(self, kind: type[Any], values: dict[str, Any]) -> None:
        """A new row nothing changes later, by its columns: no ORM object is made for it (the
        import makes tens of thousands)."""
        self.pending[kind].append(values)

    def _record(
        self, subject_type: str, subject_id: uuid.UUID, action: str, changes: list[history.Change]
    ) -> None:
        """An audit event, as history.record adds it, written with the batch's rows."""
        event = history.new_event(
            self.viewer,
            subject_type=subject_type,
            subject_id=subject_id,
            action=action,
            changes=changes,
        )
        self._add_values(models.AuditEvent, event.columns())
        history.tell(self.session, event)

    def _add_all(self, rows: Iterable[Any]) -> None:
        for row in rows:
            self._add(row)

    async def _existing(self, numbers: list[str]) -> dict[str, _Existing]:
        if not numbers:
            return {}
        account = models.Account
        firm_id = self.viewer.firm_id
        accounts = list(
            await self.session.scalars(
                select(account)
                .where(account.firm_id == firm_id, one_of(account.customer_number, numbers))
                .with_for_update()
            )
        )
        if not accounts:
            return {}
        ids = [row.id for row in accounts]
        editable = set(
            await self.session.scalars(
                select(account.id).where(one_of(account.id, ids), editable_accounts(self.viewer))
            )
        )
        visible = set(
            await self.session.scalars(
                select(account.id).where(one_of(account.id, ids), visible_accounts(self.viewer))
            )
        )
        tags: dict[uuid.UUID, list[str]] = {}
        for account_id, tag in await self.session.execute(
            select(models.AccountTag.account_id, models.AccountTag.tag)
            .where(models.AccountTag.firm_id == firm_id, one_of(models.AccountTag.account_id, ids))
            .order_by(models.AccountTag.tag)
        ):
            tags.setdefault(account_id, []).append(tag)
        custom: dict[uuid.UUID, dict[uuid.UUID, models.CustomFieldValue]] = {}
        for value in await self.session.scalars(
            select(models.CustomFieldValue).where(
                models.CustomFieldValue.firm_id == firm_id,
                one_of(models.CustomFieldValue.subject_id, ids),
            )
        ):
            custom.setdefault(value.subject_id, {})[value.definition_id] = value
        link = models.AccountContact
        found_links = list(
            await self.session.scalars(
                select(link).where(link.firm_id == firm_id, one_of(link.account_id, ids))
            )
        )
        contacts = await self._contacts({found.contact_id for found in found_links})
        primaries = await self._primary_emails(set(contacts))
        links: dict[uuid.UUID, list[tuple[models.AccountContact, models.Contact, str | None]]] = {}
        for found_link in found_links:
            links.setdefault(found_link.account_id, []).append(
                (
                    found_link,
                    contacts[found_link.contact_id],
                    primaries.get(found_link.contact_id),
                )
            )
        found: dict[str, _Existing] = {}
        for row in accounts:
            assert row.customer_number is not None
            found[row.customer_number] = _Existing(
                account=row,
                visible=row.id in visible,
                editable=row.id in editable,
                tags=tags.get(row.id, []),
                owner_id=row.owner_id,
                custom=custom.get(row.id, {}),
                links=links.get(row.id, []),
            )
        return found

    async def _contacts_by_email(self, emails: set[str]) -> dict[str, models.Contact]:
        """The contact the caller may edit with each of `emails` (folded) as its primary
        address, the oldest where several have it. Looked up per batch, so that what is read
        grows with the file, not with the firm's contacts (an index leads from an e-mail to
        its contacts since 0010_contact_email_lookup); one an earlier batch created is found too."""
        if not emails:
            return {}
        email = models.ContactEmail
        owners = list(
            await self.session.execute(
                select(email.email_folded, email.contact_id).where(
                    email.firm_id == self.viewer.firm_id,
                    one_of(email.email_folded, sorted(emails)),
                    email.position == 0,
                )
            )
        )
        contacts = await self._contacts(
            {contact_id for _, contact_id in owners}, editable_contacts(self.viewer)
        )
        mine = [(address, contact_id) for address, contact_id in owners if contact_id in contacts]
        found: dict[str, models.Contact] = {}
        for address, contact_id in sorted(
            mine, key=lambda owner: (contacts[owner[1]].created_at, owner[1])
        ):
            found.setdefault(address, contacts[contact_id])
        return found

    async def _contacts(
        self, ids: set[uuid.UUID], *criteria: ColumnElement[bool]
    ) -> dict[uuid.UUID, models.Contact]:
        """By id, one statement on the key, of those meeting `criteria`. Without criteria
        these reads join nothing, so that no plan made from the statistics of tables the
        import is filling can make them slow."""
        if not ids:
            return {}
        contact = models.Contact
        rows = await self.session.scalars(
            select(contact).where(
                contact.firm_id == self.viewer.firm_id, one_of(contact.id, sorted(ids)), *criteria
            )
        )
        return {row.id: row for row in rows}

    async def _primary_emails(self, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
        if not ids:
            return {}
        email = models.ContactEmail
        rows = await self.session.execute(
            select(email.contact_id, email.email).where(
                email.firm_id == self.viewer.firm_id,
                one_of(email.contact_id, sorted(ids)),
                email.position == 0,
            )
        )
        return {contact_id: address for contact_id, address in rows}

    def _ownership(self, owner_id: uuid.UUID | None, errors: list[RowError], row: int) -> None:
        if owner_id is not None and not self.firm.client_ownership_enabled:
            errors.append(
                RowError(
                    row,
                    "owner",
                    UserErrorCode.OWNERSHIP_DISABLED,
                    "Client ownership is switched off for the firm.",
                )
            )

    async def _create(
        self, group: _Group, errors: list[RowError], by_email: dict[str, models.Contact]
    ) -> None:
        row = group.first_row
        values = group.values
        if not self.viewer.has(Permission.CREATE_ACCOUNTS):
            errors.append(
                RowError(
                    row,
                    "customer_number",
                    UserErrorCode.FORBIDDEN,
                    "No account has this number, and you lack the right CREATE_ACCOUNTS.",
                )
            )
        if "type" not in values:
            values["type"] = AccountType.COMPANY.value
        owner_id = values.get("owner")
        if owner_id is None and self.firm.client_ownership_enabled:
            errors.append(
                RowError(row, "owner", UserErrorCode.OWNER_REQUIRED, "Choose the client owner.")
            )
        self._ownership(owner_id, errors, row)
        errors.extend(self._role_rights(group.contacts, {}))
        if errors:
            self.report.fail(errors)
            return
        now = models.utcnow()
        account = models.Account(
            id=models.new_id(),
            firm_id=self.viewer.firm_id,
            name=values["name"],
            name_folded=fold(values["name"]),
            customer_number=group.number,
            customer_number_folded=fold(group.number),
            type=values["type"],
            status=values.get("status") or AccountStatus.ACTIVE.value,
            owner_id=owner_id,
            version=1,
            created_at=now,
            updated_at=now,
        )
        self._add(account)
        history.created(self.session, account)
        tags = values.get("tags") or []
        for tag in tags:
            self._add_values(
                models.AccountTag,
                {"firm_id": account.firm_id, "account_id": account.id, "tag": tag},
            )
        described = {
            "name": account.name,
            "customerNumber": group.number,
            "type": account.type,
            "status": account.status,
            "owner": self.owner_names.get(owner_id) if owner_id else None,
            "tags": tags or None,
        }
        changes = history.changes_between({}, described)
        changes += await self._write_custom(account, group.custom, {})
        changes += await self._write_contacts(account, group.contacts, [], by_email)
        self._record("account", account.id, "account.created", changes)
        self.report.created += 1

    async def _update(
        self,
        group: _Group,
        current: _Existing,
        errors: list[RowError],
        by_email: dict[str, models.Contact],
    ) -> None:
        row = group.first_row
        account = current.account
        if not current.visible:
            self.report.fail(
                [
                    RowError(
                        row,
                        "customer_number",
                        UserErrorCode.TAKEN,
                        "Another account has this number.",
                    )
                ]
            )
            return
        before = {
            "name": account.name,
            "type": account.type,
            "status": account.status,
            "tags": current.tags,
            "owner": current.owner_id,
        }
        wanted = {name: value for name, value in group.values.items() if value is not None}
        if "owner" in group.values:
            wanted["owner"] = group.values["owner"]
        diff = history.changes_between(before, before | wanted)
        if any(change.field == "owner" for change in diff):
            self._ownership(wanted["owner"] or account.owner_id, errors, row)
        custom_changes = self._custom_changes(group.custom, current.custom)
        plan = self._contact_plan(account, group.contacts, current.links, by_email)
        errors.extend(self._role_rights(group.contacts, {id(s): c for s, c in plan}))
        inactive = (
            account.status != AccountStatus.ACTIVE
            and wanted.get("status", account.status) != AccountStatus.ACTIVE
        )
        new_links = [spec for spec, match in plan if match is None or match[0] is None]
        if inactive and new_links:
            errors.append(
                RowError(
                    new_links[0].row,
                    "contact_first_name",
                    UserErrorCode.ACCOUNT_INACTIVE,
                    f"{account.name} is inactive and takes no new contacts.",
                )
            )
        changed_contacts = [s for s, match in plan if self._contact_differs(s, match)]
        if not diff and not custom_changes and not changed_contacts:
            if errors:
                self.report.fail(errors)
            else:
                self.report.unchanged += 1
            return
        if not current.editable:
            errors.append(
                RowError(
                    row,
                    "customer_number",
                    UserErrorCode.FORBIDDEN,
                    f"You may not change {account.name}.",
                )
            )
        if len(current.links) + len(new_links) > self.lists.account_contacts:
            errors.append(
                RowError(
                    row,
                    None,
                    UserErrorCode.TOO_LONG,
                    f"An account may have at most {self.lists.account_contacts} contacts.",
                )
            )
        if errors:
            self.report.fail(errors)
            return
        changes = []
        for change in diff:
            match change.field:
                case "name":
                    account.name, account.name_folded = change.after, fold(change.after)
                case "type":
                    account.type = change.after
                case "status":
                    account.status = change.after
                case "tags":
                    await replace_tags(self.session, account, change.after)
                case "owner":
                    account.owner_id = change.after
                    change = history.Change(
                        "owner",
                        self.owner_names.get(change.before) if change.before else None,
                        self.owner_names.get(change.after) if change.after else None,
                    )
            changes.append(change)
        changes += await self._write_custom(account, group.custom, current.custom)
        changes += await self._write_contacts(account, group.contacts, current.links, by_email)
        history.changed(self.session, account)
        self._record("account", account.id, "account.updated", changes)
        self.report.updated += 1

    def _role_rights(self, contacts: list[_ContactSpec], matches: dict[int, Any]) -> list[RowError]:
        """Giving a contact roles gives them rights, and taking them away takes rights:
        either needs EDIT_CLIENT_USER_RIGHTS."""
        if self.viewer.has(Permission.EDIT_CLIENT_USER_RIGHTS):
            return []
        refused = []
        for spec in contacts:
            match = matches.get(id(spec))
            current = _roles(match[0]) if match is not None and match[0] is not None else []
            if "contact_roles" in self.header and spec.roles != current:
                refused.append(
                    RowError(
                        spec.row,
                        "contact_roles",
                        UserErrorCode.FORBIDDEN,
                        "Giving a contact roles, or taking them away, needs the right "
                        "EDIT_CLIENT_USER_RIGHTS.",
                    )
                )
        return refused

    def _custom_changes(
        self, wanted: dict[str, str | None], current: dict[uuid.UUID, models.CustomFieldValue]
    ) -> list[str]:
        return [
            key
            for key, value in wanted.items()
            if _stored(current, self.definitions[key].id) != value
        ]

    async def _write_custom(
        self,
        account: models.Account,
        wanted: dict[str, str | None],
        current: dict[uuid.UUID, models.CustomFieldValue],
    ) -> list[history.Change]:
        changes = []
        for key, value in wanted.items():
            definition = self.definitions[key]
            existing = current.get(definition.id)
            before = existing.value if existing is not None else None
            if before == value:
                continue
            changes.append(history.Change(f"customFields.{key}", before, value))
            if existing is not None and value is None:
                await self.session.delete(existing)
            elif existing is not None:
                existing.value = value  # type: ignore[assignment]
            else:
                self._add_values(
                    models.CustomFieldValue,
                    {
                        "firm_id": account.firm_id,
                        "definition_id": definition.id,
                        "subject_id": account.id,
                        "value": value,
                    },
                )
        return changes

    def _contact_plan(
        self,
        account: models.Account,
        contacts: list[_ContactSpec],
        links: list[tuple[models.AccountContact, models.Contact, str | None]],
        by_email: dict[str, models.Contact],
    ) -> list[tuple[_ContactSpec, tuple[models.AccountContact | None, models.Contact] | None]]:
        """Each row's contact and what it is already: linked (the link and the contact), in
        the firm but not linked (None, the contact), or new (None). A row with an e-mail is
        the contact with that primary e-mail; one without, the linked contact of that name."""
        plan: list[
            tuple[_ContactSpec, tuple[models.AccountContact | None, models.Contact] | None]
        ] = []
        taken: set[uuid.UUID] = set()
        for spec in contacts:
            match: tuple[models.AccountContact | None, models.Contact] | None = None
            if spec.clean.emails:
                address = fold(spec.clean.emails[0])
                for link, contact, primary in links:
                    if primary is not None and fold(primary) == address:
                        match = (link, contact)
                if match is None and address in by_email:
                    match = (None, by_email[address])
            else:
                name = (fold(spec.clean.first_name), fold(spec.clean.last_name))
                for link, contact, _ in links:
                    same = (contact.first_name_folded, contact.last_name_folded) == name
                    if same and contact.id not in taken:
                        match = (link, contact)
                        break
            if match is not None:
                taken.add(match[1].id)
            plan.append((spec, match))
        return plan

    async def _write_contacts(
        self,
        account: models.Account,
        contacts: list[_ContactSpec],
        links: list[tuple[models.AccountContact, models.Contact, str | None]],
        by_email: dict[str, models.Contact],
    ) -> list[history.Change]:
        """Link, update or create each row's contact; the account's changes they make. Links
        the file does not name stay."""
        changes: list[history.Change] = []
        for spec, match in self._contact_plan(account, contacts, links, by_email):
            if match is None:
                contact = self._new_contact(spec.clean)
                if spec.clean.emails:
                    by_email[fold(spec.clean.emails[0])] = contact
                link = None
            else:
                link, contact = match
                await self._update_contact(contact, spec.clean)
            name = full_name(contact.first_name, contact.last_name)
            roles = [role.value for role in spec.roles]
            if link is None:
                commercial, operational = (
                    ContactRole.COMMERCIAL in spec.roles,
                    ContactRole.OPERATIONAL in spec.roles,
                )
                self._add_values(
                    models.AccountContact,
                    {
                        "firm_id": account.firm_id,
                        "account_id": account.id,
                        "contact_id": contact.id,
                        "description": spec.description,
                        "is_commercial": commercial,
                        "is_operational": operational,
                        "linked_at": models.utcnow(),
                    },
                )
                changes.append(history.Change("contact", None, name))
                if roles:
                    changes.append(history.Change(f"contact.{name}.roles", None, roles))
                if spec.description:
                    changes.append(
                        history.Change(f"contact.{name}.description", None, spec.description)
                    )
                continue
            current_roles = [role.value for role in _roles(link)]
            if "contact_roles" in self.header and current_roles != roles:
                changes.append(history.Change(f"contact.{name}.roles", current_roles, roles))
                link.is_commercial = ContactRole.COMMERCIAL in spec.roles
                link.is_operational = ContactRole.OPERATIONAL in spec.roles
            if "contact_description" in self.header and link.description != spec.description:
                changes.append(
                    history.Change(
                        f"contact.{name}.description", link.description, spec.description
                    )
                )
                link.description = spec.description
        return changes

    def _new_contact(self, clean: CleanContact) -> models.Contact:
        now = models.utcnow()
        contact = models.Contact(
            id=models.new_id(),
            firm_id=self.viewer.firm_id,
            portal_access=PortalAccess.NONE.value,
            version=1,
            created_at=now,
            updated_at=now,
            **contact_columns(clean),
        )
        self._add(contact)
        history.created(self.session, contact)
        self._add_all(email_rows(contact, clean.emails))
        values = {
            "firstName": clean.first_name,
            "lastName": clean.last_name,
            "email": clean.emails[0] if clean.emails else None,
            "phone": clean.phone,
            "portalAccess": contact.portal_access,
        }
        self._record("contact", contact.id, "contact.created", history.changes_between({}, values))
        return contact

    async def _update_contact(self, contact: models.Contact, clean: CleanContact) -> None:
        """The names, and the phone when the file has the column, as the row says."""
        before = {"firstName": contact.first_name, "lastName": contact.last_name}
        after = {"firstName": clean.first_name, "lastName": clean.last_name}
        if "contact_phone" in self.header:
            before["phone"], after["phone"] = contact.phone, clean.phone
        diff = history.changes_between(before, after)
        if not diff:
            return
        emails = clean.emails
        if contact in self.session:
            emails = await current_emails(self.session, contact)
        columns = contact_columns(replace(clean, emails=emails, phone=after.get("phone")))
        if "phone" not in after:
            del columns["phone"]
        for name, value in columns.items():
            setattr(contact, name, value)
        history.changed(self.session, contact)
        self._record("contact", contact.id, "contact.updated", diff)

    def _contact_differs(
        self, spec: _ContactSpec, match: tuple[models.AccountContact | None, models.Contact] | None
    ) -> bool:
        if match is None or match[0] is None:
            return True
        link, contact = match
        given = self.header
        return (
            contact.first_name != spec.clean.first_name
            or contact.last_name != spec.clean.last_name
            or ("contact_phone" in given and contact.phone != spec.clean.phone)
            or ("contact_roles" in given and _roles(link) != spec.roles)
            or ("contact_description" in given and link.description != spec.description)
        )


def _roles(link: models.AccountContact | None) -> list[ContactRole]:
    if link is None:
        return []
    flags = (
        (ContactRole.COMMERCIAL, link.is_commercial),
        (ContactRole.OPERATIONAL, link.is_operational),
    )
    return [role for role, held in flags if held]


def _stored(current: dict[uuid.UUID, models.CustomFieldValue], definition: uuid.UUID) -> str | None:
    return current[definition].value if definition in current else None


def _required_name(text: str, row: int, errors: list[RowError]) -> str | None:
    try:
        return required_text(text, ["name"], max_length=ACCOUNT_NAME_MAX_LENGTH)
    except UserErrors as failure:
        errors.extend(_row_errors(row, failure, None))
        return None


def _choice(text: str, enum: Any, column: str, row: int, errors: list[RowError]) -> str | None:
    value = text.strip().upper()
    if value in enum.__members__:
        return str(enum(value).value)
    errors.append(
        RowError(
            row,
            column,
            UserErrorCode.INVALID,
            f"{text.strip()!r} is not one of {', '.join(enum.__members__)}.",
        )
    )
    return None


def _row_errors(row: int, failure: UserErrors, column: str | None) -> list[RowError]:
    return [
        RowError(
            row,
            column or (FIELD_COLUMNS.get(error.field[0], error.field[0]) if error.field else None),
            error.code,
            error.message,
        )
        for error in failure.errors
    ]


async def import_accounts(
    ctx: Context,
    file: IO[bytes],
    *,
    dry_run: bool = False,
    mode: ImportMode,
    deadline: float | None = None,
) -> ImportReport:
    """Import the register in `file` (a seekable binary file: a retried transaction reads it
    again). UserErrors on `file` for a file that cannot be imported at all; ImportTimedOut,
    everything rolled back, when a batch ends, or the last, past `deadline` (a
    `time.monotonic()`): checked between statements, the deadline never stops a COMMIT
    halfway, whose outcome would then be unknown."""
    require(ctx.viewer, Permission.IMPORT_ACCOUNTS)
    viewer = ctx.viewer

    def in_time() -> None:
        if deadline is not None and time.monotonic() > deadline:
            raise ImportTimedOut

    async def work(session: AsyncSession) -> ImportReport:
        if session.get_bind().dialect.name == "postgresql":
            # Each statement planned for its own values and the tables' present size, the
            # foreign-key checks of the inserts included: a plan cached while the tables were
            # empty or held a few rows (a new database, or any statistics taken before the
            # import, which cannot see its uncommitted rows) picks an index on firm_id alone
            # and scans the whole firm per look-up and per inserted row, quadratic in the file.
            await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        firm = await session.get_one(models.Firm, viewer.firm_id)
        definitions = await _definitions(session, viewer.firm_id)
        owners = await _owners(session, viewer.firm_id)
        for header, records in _records(file, ctx.lists.import_rows):
            _check_header(header, definitions)
            async with (
                scratch_set(session, "import_numbers") as numbers,
                scratch_set(session, "import_versioned") as versioned,
            ):
                importer = Importer(
                    session, viewer, ctx, header, firm, definitions, owners, numbers, versioned
                )
                batch: list[_Group] = []
                for group in importer.groups(records):
                    batch.append(group)
                    if len(batch) >= BATCH_ACCOUNTS:
                        await importer.apply(batch)
                        batch = []
                        in_time()
                if batch:
                    await importer.apply(batch)
        in_time()
        report = importer.report
        if dry_run or (report.failed and mode == ImportMode.ALL_OR_NOTHING):
            raise _Refused(report)
        if report.created or report.updated:
            history.record(
                session,
                viewer,
                subject_type="firm",
                subject_id=viewer.firm_id,
                action="import.completed",
                changes=[
                    history.Change("created", None, report.created),
                    history.Change("updated", None, report.updated),
                    history.Change("unchanged", None, report.unchanged),
                    history.Change("failed", None, report.failed),
                ],
            )
        report.written = True
        return report

    for _ in range(RACE_ATTEMPTS):
        try:
            return await ctx.write(work)
        except _Refused as refused:
            return refused.report
        except ImportFileError as error:
            raise error.user_errors() from None
        except IntegrityError as error:
            if "customer_number" not in str(error.orig):
                raise
    raise UserErrors(
        [
            UserError(
                ["file"],
                UserErrorCode.TAKEN,
                f"Other requests created accounts with customer numbers of this file while it "
                f"was imported, {RACE_ATTEMPTS} times in a row; nothing was written. Send it "
                "again.",
            )
        ]
    )


def _check_header(header: list[str], definitions: dict[str, _Definition]) -> None:
    if len(header) > len(FIXED_COLUMNS) + len(definitions):
        raise ImportFileError(
            UserErrorCode.INVALID,
            f"The header row has {len(header)} columns; there are "
            f"{len(FIXED_COLUMNS) + len(definitions)} (see the export).",
        )
    problems = []
    seen: set[str] = set()
    for column in header:
        if column in seen:
            problems.append(f"{column[:100]!r} is there twice")
            continue
        seen.add(column)
        if column.startswith(CUSTOM_FIELD_PREFIX):
            if column.removeprefix(CUSTOM_FIELD_PREFIX) not in definitions:
                problems.append(f"no account custom field has the key of {column!r}")
        elif column not in FIXED_COLUMNS:
            problems.append(f"{column[:100]!r} is not a column")
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        problems.append(f"{', '.join(missing)} missing")
    if problems:
        raise ImportFileError(
            UserErrorCode.INVALID,
            f"The header row is wrong: {'; '.join(problems)}. The columns are "
            f"{', '.join(FIXED_COLUMNS)} and cf:<key> per custom field (see the export).",
        )


async def _definitions(session: AsyncSession, firm_id: uuid.UUID) -> dict[str, _Definition]:
    definition = models.CustomFieldDefinition
    rows = await session.scalars(
        select(definition).where(
            definition.firm_id == firm_id, definition.entity == CustomFieldEntity.ACCOUNT.value
        )
    )
    return {row.key: _Definition(row.id, row.type, list(row.options)) for row in rows}


async def _owners(session: AsyncSession, firm_id: uuid.UUID) -> list[tuple[_Owner, str | None]]:
    """The address book, each entry with its user's e-mail (as the export writes it)."""
    owner, user = models.ClientOwner, models.User
    rows = await session.execute(
        select(
            owner.id,
            owner.name,
            user.email,
            user_is_active(user).label("is_active"),
            user.deleted_at,
        )
        .outerjoin(user, and_(user.firm_id == owner.firm_id, user.id == owner.user_id))
        .where(owner.firm_id == firm_id)
    )
    return [
        (
            _Owner(
                row.id,
                row.name,
                row.email is None or bool(row.is_active),
            ),
            row.email if row.deleted_at is None else None,
        )
        for row in rows
    ]
