"""Accounts: the list with its filters and orders, one account's history, create and update."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from clientgraph.auth.viewer import Viewer
from clientgraph.db import models, orders
from clientgraph.db.one_of import any_of
from clientgraph.db.orders import Order
from clientgraph.db.queries import assigned_to, fold, select_rows
from clientgraph.db.rows import AccountRow
from clientgraph.ids import decode_id
from clientgraph.resolvers import history
from clientgraph.resolvers.contacts import (
    CleanContact,
    add_link,
    clean_contact,
    clean_description,
    new_contact,
)
from clientgraph.resolvers.context import Context
from clientgraph.resolvers.custom_fields import delete_custom_values
from clientgraph.resolvers.enums import (
    AccountOrderField,
    AccountStatus,
    AccountType,
    ContactRole,
    OrderDirection,
    Permission,
    UserErrorCode,
)
from clientgraph.resolvers.errors import BadUserInput, UserErrors, fail
from clientgraph.resolvers.guards import (
    flush_unique,
    lock_account,
    lock_contact,
)
from clientgraph.resolvers.inputs import moment, parse_id, required_text, search_text
from clientgraph.resolvers.owners import (
    require_assignable_owner,
)
from clientgraph.resolvers.pagination import Page, PageRequest, paginate
from clientgraph.resolvers.policy import require, require_admin, visible_accounts
from clientgraph.resolvers.read_model import ACCOUNTS
from clientgraph.resolvers.validation import checking
from sqlalchemy import ColumnElement, Select, delete, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

ACCOUNT_NAME_MAX_LENGTH = 300
CUSTOMER_NUMBER_MAX_LENGTH = 100
TAG_MAX_LENGTH = 100
MAX_FILTER_TAGS = 50


@dataclass(frozen=True, slots=True)
class AccountFilter:
    """Owner criteria (`owner_ids`, `owned_by_me`, `unowned`) are alternatives: an account
    matching any of them passes. Every other criterion must hold as well."""

    search: str | None = None
    owner_ids: list[str] | None = None
    owned_by_me: bool = False
    unowned: bool = False
    assigned_to_me: bool = False
    status: list[AccountStatus] | None = None
    types: list[AccountType] | None = None
    tags: list[str] | None = None
    updated_since: datetime | None = None

    @classmethod
    def given(
        cls,
        *,
        search: str | None,
        owner_ids: Sequence[Any] | None,
        owned_by_me: bool | None,
        unowned: bool | None,
        assigned_to_me: bool | None,
        status: list[AccountStatus] | None,
        types: list[AccountType] | None,
        tags: list[str] | None,
        updated_since: datetime | None,
    ) -> AccountFilter:
        """The filter from the values of `AccountFilterInput`, by one rule for both read paths,
        the live feed and the CSV export: at most MAX_FILTER_TAGS distinct tags, and a time
        with its zone, else BAD_USER_INPUT."""
        if tags is not None and len(set(tags)) > MAX_FILTER_TAGS:
            raise BadUserInput(f"Filter by at most {MAX_FILTER_TAGS} tags at once.")
        return cls(
            search=search,
            owner_ids=[str(owner_id) for owner_id in owner_ids] if owner_ids else None,
            owned_by_me=bool(owned_by_me),
            unowned=bool(unowned),
            assigned_to_me=bool(assigned_to_me),
            status=status,
            types=types,
            tags=tags,
            updated_since=moment(updated_since, "updatedSince"),
        )


@dataclass(frozen=True, slots=True)
class AccountOrder:
    field: AccountOrderField = AccountOrderField.NAME
    descending: bool = False

    @classmethod
    def given(cls, field: AccountOrderField, direction: OrderDirection) -> AccountOrder:
        """The order from the values of `AccountOrderInput`."""
        return cls(AccountOrderField(field), direction == OrderDirection.DESC)


def _owner_criteria(viewer: Viewer, spec: AccountFilter) -> list[ColumnElement[bool]]:
    account = models.Account
    criteria: list[ColumnElement[bool]] = []
    if spec.owner_ids is not None:
        ids = [decode_id(value, "ClientOwner") for value in spec.owner_ids]
        criteria.append(any_of(account.owner_id, [owner_id for owner_id in ids if owner_id]))
    if spec.owned_by_me:
        own_entry = aliased(models.ClientOwner)
        criteria.append(
            exists().where(
                own_entry.firm_id == account.firm_id,
                own_entry.id == account.owner_id,
                own_entry.user_id == viewer.user_id,
            )
        )
    if spec.unowned:
        criteria.append(account.owner_id.is_(None))
    return criteria


def _search(term: str) -> ColumnElement[bool]:
    """Name, customer number, or a linked contact's name or email, ignoring case."""
    account, link, contact = models.Account, models.AccountContact, models.Contact
    folded = fold(term)
    linked_contact = exists().where(
        link.firm_id == account.firm_id,
        link.account_id == account.id,
        contact.firm_id == link.firm_id,
        contact.id == link.contact_id,
        contact.search_folded.contains(folded, autoescape=True),
    )
    return or_(
        account.name_folded.contains(folded, autoescape=True),
        account.customer_number_folded.contains(folded, autoescape=True),
        linked_contact,
    )


def filtered_accounts(viewer: Viewer, spec: AccountFilter) -> Select[Any]:
    """The visible accounts matching `spec`, selecting AccountRow's columns."""
    account = models.Account
    query = select_rows(AccountRow).where(visible_accounts(viewer))
    owner_criteria = _owner_criteria(viewer, spec)
    if owner_criteria:
        query = query.where(or_(*owner_criteria))
    if spec.assigned_to_me:
        query = query.where(assigned_to(viewer.user_id))
    statuses = [AccountStatus.ACTIVE] if spec.status is None else spec.status
    if statuses:
        query = query.where(any_of(account.status, [status.value for status in statuses]))
    if spec.types:
        query = query.where(any_of(account.type, [kind.value for kind in spec.types]))
    for tag in sorted({tag.strip() for tag in spec.tags or []}):
        query = query.where(
            exists().where(
                models.AccountTag.firm_id == account.firm_id,
                models.AccountTag.account_id == account.id,
                models.AccountTag.tag == tag.strip(),
            )
        )
    if spec.search:
        query = query.where(_search(spec.search))
    if spec.updated_since is not None:
        query = query.where(account.updated_at >= spec.updated_since)
    return query


def ordered_accounts(query: Select[Any], order: AccountOrder) -> tuple[Select[Any], Order]:
    """`query` over accounts (joined where the order needs it), and the order asked for."""
    match order.field:
        case AccountOrderField.NAME:
            keys = orders.accounts_by_name()
        case AccountOrderField.CUSTOMER_NUMBER:
            keys = orders.accounts_by_customer_number()
        case AccountOrderField.CREATED_AT:
            keys = orders.accounts_by_created_at()
        case AccountOrderField.UPDATED_AT:
            keys = orders.accounts_by_updated_at()
        case AccountOrderField.OWNER_NAME:
            query, keys = orders.accounts_by_owner_name(query)
    return query, keys.reverse() if order.descending else keys


def listed_accounts(
    viewer: Viewer, spec: AccountFilter, order: AccountOrder, *, search_length: int
) -> tuple[Select[Any], Order]:
    """What `accounts` lists for `spec` (its search checked), and the order it lists them in."""
    spec = replace(spec, search=search_text(spec.search, search_length))
    return ordered_accounts(filtered_accounts(viewer, spec), order)


async def accounts(
    ctx: Context, *, spec: AccountFilter, order: AccountOrder, page: PageRequest
) -> Page[AccountRow]:
    query, ordered = listed_accounts(ctx.viewer, spec, order, search_length=ctx.lists.search_length)
    return await paginate(ctx, query, ordered, request=page, row_type=AccountRow)


def clean_tags(tags: list[str], maximum: int) -> list[str]:
    """Tags stripped, without duplicates, sorted; a blank or overlong tag is rejected, and so
    are more than `maximum` distinct tags (the whole set an account will have)."""
    cleaned = set()
    with checking() as check:
        for index, tag in enumerate(tags):
            value = tag.strip()
            if not value:
                check.add(["tags", str(index)], UserErrorCode.INVALID, "Blank tag.")
            elif len(value) > TAG_MAX_LENGTH:
                check.add(
                    ["tags", str(index)],
                    UserErrorCode.TOO_LONG,
                    f"A tag may be at most {TAG_MAX_LENGTH} characters.",
                )
            cleaned.add(value)
        if len(cleaned) > maximum:
            message = f"An account may have at most {maximum} tags; {len(cleaned)} were given."
            check.add(["tags"], UserErrorCode.TOO_LONG, message)
    return sorted(cleaned)


def clean_customer_number(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    return value.strip()


def check_customer_number_length(firm: models.Firm, number: str) -> None:
    """Within the firm's length limits (the import checks a whole batch's numbers against
    the database at once, so this half stands alone)."""
    field = ["customerNumber"]
    minimum = firm.customer_number_min_length
    maximum = firm.customer_number_max_length or CUSTOMER_NUMBER_MAX_LENGTH
    if minimum is not None and len(number) < minimum:
        raise fail(field, UserErrorCode.TOO_SHORT, f"At least {minimum} characters are needed.")
    if len(number) > maximum:
        raise fail(field, UserErrorCode.TOO_LONG, f"At most {maximum} characters are allowed.")


async def check_customer_number(
    session: AsyncSession, firm: models.Firm, number: str | None, account_id: uuid.UUID | None
) -> None:
    """Within the firm's length limits and not used by another account of the firm."""
    if number is None:
        return
    check_customer_number_length(firm, number)
    taken = select(models.Account.id).where(
        models.Account.firm_id == firm.id, models.Account.customer_number == number
    )
    if account_id is not None:
        taken = taken.where(models.Account.id != account_id)
    if (await session.scalars(taken)).first() is not None:
        raise _taken()


def _taken() -> UserErrors:
    return fail(["customerNumber"], UserErrorCode.TAKEN, "Another account has this number.")


async def replace_tags(session: AsyncSession, account: models.Account, tags: list[str]) -> None:
    await session.execute(
        delete(models.AccountTag).where(
            models.AccountTag.firm_id == account.firm_id,
            models.AccountTag.account_id == account.id,
        )
    )
    add_tags(session, account, tags)


def add_tags(session: AsyncSession, account: models.Account, tags: list[str]) -> None:
    """The tags of an account that has none yet (a new one)."""
    session.add_all(
        models.AccountTag(firm_id=account.firm_id, account_id=account.id, tag=tag) for tag in tags
    )


async def create_account(
    ctx: Context,
    *,
    name: str,
    customer_number: str | None,
    type: AccountType,
    owner_id: str | None,
    tags: list[str],
    contacts: Sequence[AccountContactSpec] = (),
) -> AccountRow | None:
    """The new account with its contacts (existing or new, each with roles and description);
    None when the caller's rights do not let them see it."""
    require(ctx.viewer, Permission.CREATE_ACCOUNTS)
    with checking() as check:
        if len(contacts) > ctx.lists.account_contacts:
            check.add(
                ["contacts"],
                UserErrorCode.TOO_LONG,
                f"An account may have at most {ctx.lists.account_contacts} contacts.",
            )
            contacts = ()
        prepared = [
            check(_prepare_contact, spec, ["contacts", str(i)], ctx.lists.contact_emails)
            for i, spec in enumerate(contacts)
        ]
        clean_name = check(required_text, name, ["name"], max_length=ACCOUNT_NAME_MAX_LENGTH)
        number = clean_customer_number(customer_number)
        clean_tag_list = check(clean_tags, tags, ctx.lists.tags_per_account)
        owner_uuid = (
            check(parse_id, owner_id, "ClientOwner", ["ownerId"], "client owner")
            if owner_id
            else None
        )
    firm_id = ctx.viewer.firm_id
    new_id = models.new_id()

    async def work(session: AsyncSession) -> None:
        with checking() as check:
            found = await check.wait(_firm_and_new_owner(session, firm_id, owner_uuid))
            firm, owner = found or (await session.get_one(models.Firm, firm_id), None)
            if found is None:
                # A refused owner leaves its error, and a taken number is told beside it;
                # otherwise the INSERT tells (`flush_unique`), a statement fewer.
                await check.wait(check_customer_number(session, firm, number, None))
            elif number is not None:
                check(check_customer_number_length, firm, number)
        now = models.utcnow()
        account = models.Account(
            id=new_id,
            firm_id=firm_id,
            name=clean_name,
            name_folded=fold(clean_name),
            customer_number=number,
            customer_number_folded=fold(number) if number else None,
            type=type.value,
            status=AccountStatus.ACTIVE.value,
            owner_id=owner.id if owner else None,
            version=1,
            created_at=now,
            updated_at=now,
        )
        session.add(account)
        history.created(session, account)
        add_tags(session, account, clean_tag_list)
        values = {
            "name": clean_name,
            "customerNumber": number,
            "type": type.value,
            "owner": owner.name if owner else None,
            "tags": clean_tag_list or None,
        }
        history.record(
            session,
            ctx.viewer,
            subject_type="account",
            subject_id=account.id,
            action="account.created",
            changes=history.changes_between({}, values),
        )
        await flush_unique(session, "customer_number", _taken)
        for index, (contact_uuid, clean_contact_fields, description) in enumerate(prepared):
            path = ["contacts", str(index)]
            if contact_uuid is not None:
                contact = await lock_contact(
                    session, ctx.viewer, contact_uuid, [*path, "contactId"], need_edit=False
                )
            else:
                assert clean_contact_fields is not None
                contact = await new_contact(session, ctx.viewer, clean_contact_fields)
            await add_link(
                session,
                ctx.viewer,
                account,
                contact,
                contacts[index].roles,
                description,
                path,
                ctx.lists.account_contacts,
            )

    return await ctx.write_showing(work, ACCOUNTS, new_id)


async def _firm_and_new_owner(
    session: AsyncSession, firm_id: uuid.UUID, owner_uuid: uuid.UUID | None
) -> tuple[models.Firm, models.ClientOwner | None]:
    """The firm, and the owner entry a new account gets: required when ownership is enabled,
    refused when it is not, and active."""
    if owner_uuid is not None:
        return await require_assignable_owner(
            session, firm_id, owner_uuid, ["ownerId"], ["ownerId"]
        )
    firm = await session.get_one(models.Firm, firm_id)
    if firm.client_ownership_enabled:
        raise fail(["ownerId"], UserErrorCode.OWNER_REQUIRED, "Choose the client owner.")
    return firm, None


@dataclass(frozen=True, slots=True)
class AccountContactSpec:
    """A contact for a new account: an existing one (`contact_id`) or a new one
    (`new_contact`, fields as in createContact), with its roles and description there."""

    contact_id: str | None = None
    new_contact: dict[str, Any] | None = None
    roles: list[ContactRole] = field(default_factory=list)
    description: str | None = None


def _prepare_contact(
    spec: AccountContactSpec, path: list[str], max_emails: int
) -> tuple[uuid.UUID | None, CleanContact | None, str | None]:
    if (spec.contact_id is None) == (spec.new_contact is None):
        raise fail(
            [*path, "contactId"],
            UserErrorCode.REQUIRED,
            "Give exactly one of contactId or newContact.",
        )
    with checking() as check:
        description = check(clean_description, spec.description, [*path, "description"])
        contact_uuid = (
            check(parse_id, spec.contact_id, "Contact", [*path, "contactId"], "contact")
            if spec.contact_id is not None
            else None
        )
        clean = (
            check(clean_contact, spec.new_contact, [*path, "newContact"], max_emails)
            if spec.new_contact is not None
            else None
        )
    return contact_uuid, clean, description


async def update_account(
    ctx: Context, *, account_id: str, expected_version: int | None, changes: dict[str, Any]
) -> AccountRow | None:
    """Apply the given changes (`name`, `customer_number`, `type`, `tags`) to one account."""
    wanted: dict[str, Any] = {}
    with checking() as check:
        account_uuid = check(parse_id, account_id, "Account", ["accountId"], "account")
        if "name" in changes:
            wanted["name"] = check(
                required_text, changes["name"] or "", ["name"], max_length=ACCOUNT_NAME_MAX_LENGTH
            )
        if "type" in changes:
            if changes["type"] is None:
                check.add(["type"], UserErrorCode.REQUIRED, "type must not be null.")
            else:
                wanted["type"] = AccountType(changes["type"]).value
        if "tags" in changes:
            wanted["tags"] = check(clean_tags, changes["tags"] or [], ctx.lists.tags_per_account)
        if "customer_number" in changes:
            wanted["customerNumber"] = clean_customer_number(changes["customer_number"])

    async def work(session: AsyncSession) -> None:
        account = await lock_account(session, ctx.viewer, account_uuid, ["accountId"])
        if expected_version is not None and expected_version != account.version:
            raise fail(
                ["expectedVersion"],
                UserErrorCode.STALE_VERSION,
                f"The account was changed meanwhile; it is at version {account.version}.",
            )
        current_tags = list(
            await session.scalars(
                select(models.AccountTag.tag)
                .where(
                    models.AccountTag.firm_id == account.firm_id,
                    models.AccountTag.account_id == account.id,
                )
                .order_by(*orders.tags_in_order().clauses())
            )
        )
        before = {
            "name": account.name,
            "customerNumber": account.customer_number,
            "type": account.type,
            "tags": current_tags,
        }
        diff = history.changes_between(before, before | wanted)
        if not diff:
            return
        fields_changed = {change.field for change in diff}
        if "customerNumber" in fields_changed:
            require_admin(ctx.viewer)
            firm = await session.get_one(models.Firm, account.firm_id)
            await check_customer_number(session, firm, wanted["customerNumber"], account.id)
            account.customer_number = wanted["customerNumber"]
            account.customer_number_folded = (
                fold(wanted["customerNumber"]) if wanted["customerNumber"] else None
            )
        if "name" in fields_changed:
            account.name = wanted["name"]
            account.name_folded = fold(wanted["name"])
        if "type" in fields_changed:
            account.type = wanted["type"]
        if "tags" in fields_changed:
            await replace_tags(session, account, wanted["tags"])
        await flush_unique(session, "customer_number", _taken)
        history.record_change(
            session,
            ctx.viewer,
            account,
            "account.updated",
            diff,
        )

    return await ctx.write_showing(work, ACCOUNTS, account_uuid)


async def set_account_status(
    ctx: Context, *, account_id: str, status: AccountStatus
) -> AccountRow | None:
    """Deactivate or reactivate: an inactive account keeps its data and history, leaves the
    default lists and takes no new team members or contact links."""
    account_uuid = parse_id(account_id, "Account", ["accountId"], "account")

    async def work(session: AsyncSession) -> None:
        account = await lock_account(session, ctx.viewer, account_uuid, ["accountId"])
        if account.status == status:
            return
        previous, account.status = account.status, status.value
        verb = "reactivated" if status == AccountStatus.ACTIVE else "deactivated"
        history.record_change(
            session,
            ctx.viewer,
            account,
            f"account.{verb}",
            [history.Change("status", previous, status.value)],
        )

    return await ctx.write_showing(work, ACCOUNTS, account_uuid)


async def delete_account(ctx: Context, *, account_id: str) -> uuid.UUID:
    """Delete an account with its tags, team, contact links and custom values. Its audit
    events stay stored (they carry no foreign key), with an `account.deleted` one last."""
    require(ctx.viewer, Permission.DELETE_ACCOUNTS)
    account_uuid = parse_id(account_id, "Account", ["accountId"], "account")

    async def work(session: AsyncSession) -> None:
        account = await lock_account(
            session, ctx.viewer, account_uuid, ["accountId"], need_edit=False
        )
        await delete_custom_values(session, account.firm_id, account.id)
        history.record(
            session,
            ctx.viewer,
            subject_type="account",
            subject_id=account.id,
            action="account.deleted",
            changes=[history.Change("name", account.name, None)],
        )
        await session.delete(account)

    await ctx.write(work)
    return account_uuid
