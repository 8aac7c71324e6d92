"""Contacts (people at clients), their links to accounts with roles, and portal access
(seeds 002 and 004)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import phonenumbers
from clientgraph.auth.viewer import Viewer
from clientgraph.db import models, orders
from clientgraph.db.queries import fold
from clientgraph.db.relation import Listing
from clientgraph.db.rows import AccountContactRow, AccountRow, ContactRow
from clientgraph.ids import decode_id
from clientgraph.resolvers import history, portal_invitations
from clientgraph.resolvers.context import Context
from clientgraph.resolvers.custom_fields import delete_custom_values
from clientgraph.resolvers.enums import (
    AccountStatus,
    ContactRole,
    Permission,
    PortalAccess,
    UserErrorCode,
)
from clientgraph.resolvers.errors import Forbidden, UserErrors, fail
from clientgraph.resolvers.guards import (
    lock_account,
    lock_contact,
)
from clientgraph.resolvers.inputs import moment, parse_id, required_text, search_text
from clientgraph.resolvers.pagination import Page, PageRequest, paginate
from clientgraph.resolvers.policy import (
    editable_accounts,
    require,
    visible_accounts,
    visible_contacts,
)
from clientgraph.resolvers.read_model import ACCOUNT_CONTACTS, ACCOUNTS, CONTACTS
from clientgraph.resolvers.users import clean_email
from clientgraph.resolvers.validation import Checks, checking
from sqlalchemy import ColumnElement, and_, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

CONTACT_NOUN = "contact"
DESCRIPTION_MAX_LENGTH = 500
CONTACT_FIELDS = ("first_name", "last_name", "email", "extra_emails", "phone", "phone_country")


@dataclass(frozen=True, slots=True)
class LinkSpec:
    """A link to make: the account (a global id), the contact's roles there, a description."""

    account_id: str
    roles: list[ContactRole] = field(default_factory=list)
    description: str | None = None


@dataclass(frozen=True, slots=True)
class CleanContact:
    first_name: str
    last_name: str
    emails: list[str]
    phone: str | None


def clean_phone(phone: str | None, country: str | None, path: list[str]) -> str | None:
    """A phone number as typed plus its country (e.g. "20 12 34 56", "DK") in E.164."""
    if phone is None or not phone.strip():
        return None
    region = country.strip().upper() if country else None
    if region is not None and region not in phonenumbers.SUPPORTED_REGIONS:
        raise fail([*path, "phoneCountry"], UserErrorCode.INVALID, f"Unknown country {country}.")
    try:
        parsed = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException as error:
        raise fail(
            [*path, "phone"],
            UserErrorCode.INVALID,
            "Not a phone number; give it with its country (phoneCountry) or as +<code>…",
        ) from error
    if not phonenumbers.is_valid_number(parsed):
        raise fail([*path, "phone"], UserErrorCode.INVALID, "Not a valid phone number.")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def clean_emails(primary: str | None, extras: list[str], path: list[str]) -> list[str]:
    """Primary first, then the extra ones; each checked, none twice (ignoring case)."""
    if primary is None or not primary.strip():
        if extras:
            raise fail([*path, "email"], UserErrorCode.REQUIRED, "Give a primary email first.")
        return []
    with checking() as check:
        emails = [check(clean_email, primary, [*path, "email"])]
        seen = {fold(emails[0])} if emails[0] is not None else set()
        for index, extra in enumerate(extras):
            where = [*path, "extraEmails", str(index)]
            address = check(clean_email, extra, where)
            if address is None:
                continue
            if fold(address) in seen:
                check.add(where, UserErrorCode.INVALID, "This email is listed twice.")
            seen.add(fold(address))
            emails.append(address)
    return emails


def clean_contact(values: dict[str, Any], path: list[str], max_emails: int | None) -> CleanContact:
    """All fields of a contact, checked, every problem reported; `values` has the keys of
    CONTACT_FIELDS. With `max_emails`, the primary and extra emails together may be at most
    that many (None: an update that keeps the stored extra emails, which may predate a lower
    maximum)."""
    with checking() as check:
        first_name = check(required_text, values.get("first_name") or "", [*path, "firstName"])
        last_name = check(required_text, values.get("last_name") or "", [*path, "lastName"])
        emails = check(clean_emails, values.get("email"), values.get("extra_emails") or [], path)
        primary, extras = values.get("email"), values.get("extra_emails") or []
        given = 1 + len(extras) if primary and primary.strip() else 0
        if max_emails is not None and given > max_emails:
            check.add(
                [*path, "extraEmails"],
                UserErrorCode.TOO_LONG,
                f"A contact may have at most {max_emails} email addresses (the primary one and "
                f"{max_emails - 1} extra); {given} were given.",
            )
        phone = check(clean_phone, values.get("phone"), values.get("phone_country"), path)
    return CleanContact(first_name=first_name, last_name=last_name, emails=emails, phone=phone)


def _contact_values(contact: models.Contact, emails: list[str]) -> dict[str, Any]:
    return {
        "firstName": contact.first_name,
        "lastName": contact.last_name,
        "email": emails[0] if emails else None,
        "extraEmails": emails[1:] or None,
        "phone": contact.phone,
        "portalAccess": contact.portal_access,
    }


def full_name(first_name: str, last_name: str) -> str:
    return f"{first_name} {last_name}".strip()


def contact_name(contact: models.Contact) -> str:
    return full_name(contact.first_name, contact.last_name)


async def current_emails(session: AsyncSession, contact: models.Contact) -> list[str]:
    email = models.ContactEmail
    return list(
        await session.scalars(
            select(email.email)
            .where(email.firm_id == contact.firm_id, email.contact_id == contact.id)
            .order_by(*orders.emails_in_order().clauses())
        )
    )


def contact_columns(clean: CleanContact) -> dict[str, Any]:
    """The columns of a contact that its checked fields set (with the search text)."""
    return {
        "first_name": clean.first_name,
        "last_name": clean.last_name,
        "first_name_folded": fold(clean.first_name),
        "last_name_folded": fold(clean.last_name),
        "phone": clean.phone,
        "search_folded": fold(" ".join([clean.first_name, clean.last_name, *clean.emails])),
    }


async def _store(session: AsyncSession, contact: models.Contact, clean: CleanContact) -> None:
    """Write the fields, emails and search text of a contact (already added to the session)."""
    for name, value in contact_columns(clean).items():
        setattr(contact, name, value)
    await session.flush()
    await session.execute(
        delete(models.ContactEmail).where(
            models.ContactEmail.firm_id == contact.firm_id,
            models.ContactEmail.contact_id == contact.id,
        )
    )
    session.add_all(email_rows(contact, clean.emails))


async def new_contact(session: AsyncSession, viewer: Viewer, clean: CleanContact) -> models.Contact:
    now = models.utcnow()
    contact = models.Contact(
        id=models.new_id(),
        firm_id=viewer.firm_id,
        portal_access=PortalAccess.NONE.value,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(contact)
    history.created(session, contact)
    await _store(session, contact, clean)
    history.record(
        session,
        viewer,
        subject_type="contact",
        subject_id=contact.id,
        action="contact.created",
        changes=history.changes_between({}, _contact_values(contact, clean.emails)),
    )
    return contact


def role_flags(roles: list[ContactRole]) -> tuple[bool, bool]:
    return ContactRole.COMMERCIAL in roles, ContactRole.OPERATIONAL in roles


ROLE_FLAGS: tuple[tuple[ContactRole, str], ...] = (
    (ContactRole.COMMERCIAL, "is_commercial"),
    (ContactRole.OPERATIONAL, "is_operational"),
)
"""Each role a link may hold, and the link's column that says it does, in the order roles are
listed: read by `role_names`, which both read paths call for `AccountContact.roles`."""


def role_names(is_commercial: bool, is_operational: bool) -> list[ContactRole]:
    """A link's roles, from its two flags; [] is an ordinary employee of the client."""
    held = {"is_commercial": is_commercial, "is_operational": is_operational}
    return [role for role, column in ROLE_FLAGS if held[column]]


def roles_of(link: models.AccountContact) -> list[str]:
    return [role.value for role in role_names(link.is_commercial, link.is_operational)]


def clean_description(value: str | None, path: list[str]) -> str | None:
    if value is None or not value.strip():
        return None
    if len(value.strip()) > DESCRIPTION_MAX_LENGTH:
        raise fail(path, UserErrorCode.TOO_LONG, f"At most {DESCRIPTION_MAX_LENGTH} characters.")
    return value.strip()


async def add_link(
    session: AsyncSession,
    viewer: Viewer,
    account: models.Account,
    contact: models.Contact,
    roles: list[ContactRole],
    description: str | None,
    path: list[str],
    max_links: int,
) -> None:
    """Link a contact to an account (both locked, the account editable by the caller),
    recorded on both. Giving the contact roles gives them rights, which needs
    EDIT_CLIENT_USER_RIGHTS. Neither side may pass `max_links` links."""
    if roles:
        require(viewer, Permission.EDIT_CLIENT_USER_RIGHTS)
    if account.status != AccountStatus.ACTIVE:
        raise fail(
            [*path, "accountId"],
            UserErrorCode.ACCOUNT_INACTIVE,
            f"{account.name} is inactive and takes no new contacts.",
        )
    existing = await session.get(models.AccountContact, (viewer.firm_id, account.id, contact.id))
    if existing is not None:
        raise fail(
            [*path, "contactId"],
            UserErrorCode.ALREADY_LINKED,
            f"{contact_name(contact)} is already linked to {account.name}.",
        )
    await _check_link_room(session, viewer, account, contact, path, max_links)
    commercial, operational = role_flags(roles)
    link = models.AccountContact(
        firm_id=viewer.firm_id,
        account_id=account.id,
        contact_id=contact.id,
        description=description,
        is_commercial=commercial,
        is_operational=operational,
        linked_at=models.utcnow(),
    )
    session.add(link)
    values = {"roles": roles_of(link) or None, "description": description}
    _record_link(session, viewer, account, contact, "linked", {}, values)


async def _check_link_room(
    session: AsyncSession,
    viewer: Viewer,
    account: models.Account,
    contact: models.Contact,
    path: list[str],
    max_links: int,
) -> None:
    link = models.AccountContact

    async def links_where(side: ColumnElement[bool]) -> int:
        count = select(func.count()).where(link.firm_id == viewer.firm_id, side)
        return await session.scalar(count) or 0

    contacts = await links_where(link.account_id == account.id)
    if contacts >= max_links:
        raise fail(
            [*path, "accountId"],
            UserErrorCode.TOO_LONG,
            f"{account.name} has {contacts} contacts; an account may have at most {max_links}.",
        )
    accounts = await links_where(link.contact_id == contact.id)
    if accounts >= max_links:
        raise fail(
            [*path, "contactId"],
            UserErrorCode.TOO_LONG,
            f"{contact_name(contact)} is linked to {accounts} accounts; a contact may be linked "
            f"to at most {max_links}.",
        )


def _record_link(
    session: AsyncSession,
    viewer: Viewer,
    account: models.Account,
    contact: models.Contact,
    verb: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    """A link was made ("linked"), changed ("link_updated") or removed ("unlinked"): it is a
    change of both the account and the contact, so both move their version, and each gets an
    event naming the other."""
    changes = history.changes_between(before, after)
    name = contact_name(contact)

    def identity(field: str, value: str) -> history.Change:
        return history.Change(
            field, None if verb == "linked" else value, None if verb == "unlinked" else value
        )

    history.record_change(
        session, viewer, account, f"account.contact_{verb}", [identity("contact", name), *changes]
    )
    history.record_change(
        session,
        viewer,
        contact,
        f"contact.{verb}",
        [identity("account", account.name), *changes],
        related_id=account.id,
    )


def _require_contact_writer(viewer: Viewer) -> None:
    if not (
        viewer.has(Permission.EDIT_ALL_ACCOUNTS) or viewer.has(Permission.EDIT_ASSIGNED_ACCOUNTS)
    ):
        raise Forbidden("You need a right to edit accounts to manage contacts.")


async def create_contact(
    ctx: Context, *, values: dict[str, Any], links: list[LinkSpec]
) -> ContactRow | None:
    """A new contact, linked to the given accounts; None if the caller cannot see it."""
    _require_contact_writer(ctx.viewer)
    with checking() as check:
        if not links and not ctx.viewer.has(Permission.VIEW_ALL_ACCOUNTS):
            check.add(
                ["links"],
                UserErrorCode.REQUIRED,
                "Link the contact to one of your accounts, or you could not see it afterwards.",
            )
        clean = check(clean_contact, values, [], ctx.lists.contact_emails)
        if len(links) > ctx.lists.account_contacts:
            check.add(
                ["links"],
                UserErrorCode.TOO_LONG,
                f"A contact may be linked to at most {ctx.lists.account_contacts} accounts.",
            )
            links = []
        link_ids = [
            check(parse_id, link.account_id, "Account", ["links", str(i), "accountId"], "account")
            for i, link in enumerate(links)
        ]
        descriptions = [
            check(clean_description, link.description, ["links", str(i), "description"])
            for i, link in enumerate(links)
        ]

    async def work(session: AsyncSession) -> uuid.UUID:
        contact = await new_contact(session, ctx.viewer, clean)
        for index in sorted(range(len(links)), key=lambda i: link_ids[i]):
            path = ["links", str(index)]
            account = await lock_account(session, ctx.viewer, link_ids[index], [*path, "accountId"])
            await add_link(
                session,
                ctx.viewer,
                account,
                contact,
                links[index].roles,
                descriptions[index],
                path,
                ctx.lists.account_contacts,
            )
        return contact.id

    return await ctx.loaders.of(CONTACTS).load(await ctx.write(work))


async def update_contact(
    ctx: Context, *, contact_id: str, expected_version: int | None, values: dict[str, Any]
) -> ContactRow | None:
    """Change the given fields. An invitation sent to an address the contact no longer has is
    void; an invited contact left without a live invitation is back to NONE."""
    contact_uuid = parse_id(contact_id, "Contact", ["contactId"], CONTACT_NOUN)

    async def work(session: AsyncSession) -> None:
        contact = await lock_contact(session, ctx.viewer, contact_uuid, ["contactId"])
        if expected_version is not None and expected_version != contact.version:
            raise fail(
                ["expectedVersion"],
                UserErrorCode.STALE_VERSION,
                f"The contact was changed meanwhile; it is at version {contact.version}.",
            )
        emails = await current_emails(session, contact)
        current = {
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "email": emails[0] if emails else None,
            "extra_emails": emails[1:],
            "phone": contact.phone,
            "phone_country": None,
        }
        max_emails = ctx.lists.contact_emails if "extra_emails" in values else None
        clean = clean_contact(current | values, [], max_emails)
        before = _contact_values(contact, emails)
        await _store(session, contact, clean)
        if [fold(address) for address in emails] != [fold(address) for address in clean.emails]:
            alive = await portal_invitations.void_pending(
                session, contact, now=models.utcnow(), unless_sent_to=clean.emails
            )
            if not alive and contact.portal_access == PortalAccess.INVITED:
                contact.portal_access = PortalAccess.NONE.value
        diff = history.changes_between(before, _contact_values(contact, clean.emails))
        if diff:
            history.record_change(
                session,
                ctx.viewer,
                contact,
                "contact.updated",
                diff,
            )

    await ctx.write(work)
    return await ctx.loaders.of(CONTACTS).load(contact_uuid)


async def _lock_links_accounts(
    session: AsyncSession, viewer: Viewer, contact: models.Contact
) -> list[models.Account]:
    """The accounts the contact is linked to, locked; all of them must be the caller's to
    change, since deleting the contact changes each of them."""
    link = models.AccountContact
    may_change = and_(visible_accounts(viewer), editable_accounts(viewer))
    query = (
        select(models.Account, may_change.label("may_change"))
        .join(
            link, (link.firm_id == models.Account.firm_id) & (link.account_id == models.Account.id)
        )
        .where(link.firm_id == viewer.firm_id, link.contact_id == contact.id)
        .order_by(models.Account.id)
        .with_for_update(of=models.Account)
    )
    found = (await session.execute(query)).all()
    if not all(may_change for _, may_change in found):
        raise Forbidden("You may not delete this contact.")
    return [account for account, _ in found]


async def _contact_counts(
    session: AsyncSession, accounts: list[models.Account]
) -> dict[uuid.UUID, int]:
    """How many contacts each account has, in one statement."""
    link = models.AccountContact
    query = (
        select(link.account_id, func.count())
        .where(
            link.firm_id == accounts[0].firm_id,
            link.account_id.in_([account.id for account in accounts]),
        )
        .group_by(link.account_id)
    )
    counts = {key: int(count) for key, count in (await session.execute(query)).all()}
    return {account.id: counts.get(account.id, 0) for account in accounts}


def _last_contact(field_path: list[str], account: models.Account) -> UserErrors:
    return fail(
        field_path,
        UserErrorCode.LAST_CONTACT,
        f"{account.name} must keep at least one contact.",
    )


async def delete_contact(ctx: Context, *, contact_id: str) -> uuid.UUID:
    """Delete a contact, unless it is the last contact of one of its accounts."""
    contact_uuid = parse_id(contact_id, "Contact", ["contactId"], CONTACT_NOUN)

    async def work(session: AsyncSession) -> None:
        contact = await lock_contact(session, ctx.viewer, contact_uuid, ["contactId"])
        accounts = await _lock_links_accounts(session, ctx.viewer, contact)
        counts = await _contact_counts(session, accounts) if accounts else {}
        for account in accounts:
            if counts[account.id] <= 1:
                raise _last_contact(["contactId"], account)
        for account in accounts:
            history.record_change(
                session,
                ctx.viewer,
                account,
                "account.contact_unlinked",
                [history.Change("contact", contact_name(contact), None)],
            )
        await delete_custom_values(session, contact.firm_id, contact.id)
        history.record(
            session,
            ctx.viewer,
            subject_type="contact",
            subject_id=contact.id,
            action="contact.deleted",
            changes=[history.Change("name", contact_name(contact), None)],
        )
        await session.delete(contact)

    await ctx.write(work)
    return contact_uuid


async def _link_row(
    ctx: Context, account_id: uuid.UUID, contact_id: uuid.UUID
) -> AccountContactRow:
    links = await ctx.loaders.of(ACCOUNT_CONTACTS).load(account_id)
    return next(link for link in links if link.contact.id == contact_id)


def _ids(check: Checks, account_id: str, contact_id: str) -> tuple[uuid.UUID, uuid.UUID]:
    return (
        check(parse_id, account_id, "Account", ["accountId"], "account"),
        check(parse_id, contact_id, "Contact", ["contactId"], CONTACT_NOUN),
    )


async def link_contact(
    ctx: Context,
    *,
    account_id: str,
    contact_id: str,
    roles: list[ContactRole],
    description: str | None,
) -> AccountContactRow:
    with checking() as check:
        account_uuid, contact_uuid = _ids(check, account_id, contact_id)
        clean = check(clean_description, description, ["description"])

    async def work(session: AsyncSession) -> None:
        account = await lock_account(session, ctx.viewer, account_uuid, ["accountId"])
        contact = await lock_contact(
            session, ctx.viewer, contact_uuid, ["contactId"], need_edit=False
        )
        await add_link(
            session, ctx.viewer, account, contact, roles, clean, [], ctx.lists.account_contacts
        )

    await ctx.write(work)
    return await _link_row(ctx, account_uuid, contact_uuid)


async def _lock_link(
    session: AsyncSession, viewer: Viewer, account_uuid: uuid.UUID, contact_uuid: uuid.UUID
) -> tuple[models.Account, models.Contact, models.AccountContact]:
    account = await lock_account(session, viewer, account_uuid, ["accountId"])
    contact = await lock_contact(session, viewer, contact_uuid, ["contactId"], need_edit=False)
    link = await session.get(
        models.AccountContact, (viewer.firm_id, account.id, contact.id), with_for_update=True
    )
    if link is None:
        raise fail(
            ["contactId"],
            UserErrorCode.NOT_LINKED,
            f"{contact_name(contact)} is not linked to {account.name}.",
        )
    return account, contact, link


async def update_account_contact(
    ctx: Context, *, account_id: str, contact_id: str, changes: dict[str, Any]
) -> AccountContactRow:
    """Change a link's `roles` (needs EDIT_CLIENT_USER_RIGHTS) and/or `description`."""
    with checking() as check:
        account_uuid, contact_uuid = _ids(check, account_id, contact_id)
        if "roles" in changes and changes["roles"] is None:
            check.add(["roles"], UserErrorCode.REQUIRED, "Give the roles; [] for an employee.")
        description = check(clean_description, changes.get("description"), ["description"])

    async def work(session: AsyncSession) -> None:
        account, contact, link = await _lock_link(session, ctx.viewer, account_uuid, contact_uuid)
        before = {"roles": roles_of(link) or None, "description": link.description}
        if "roles" in changes:
            commercial, operational = role_flags(changes["roles"])
            if (commercial, operational) != (link.is_commercial, link.is_operational):
                require(ctx.viewer, Permission.EDIT_CLIENT_USER_RIGHTS)
            link.is_commercial, link.is_operational = commercial, operational
        if "description" in changes:
            link.description = description
        after = {"roles": roles_of(link) or None, "description": link.description}
        if before != after:
            _record_link(session, ctx.viewer, account, contact, "link_updated", before, after)

    await ctx.write(work)
    return await _link_row(ctx, account_uuid, contact_uuid)


async def unlink_contact(ctx: Context, *, account_id: str, contact_id: str) -> AccountRow | None:
    with checking() as check:
        account_uuid, contact_uuid = _ids(check, account_id, contact_id)

    async def work(session: AsyncSession) -> None:
        account, contact, link = await _lock_link(session, ctx.viewer, account_uuid, contact_uuid)
        if (await _contact_counts(session, [account]))[account.id] <= 1:
            raise _last_contact(["contactId"], account)
        before = {"roles": roles_of(link) or None, "description": link.description}
        await session.delete(link)
        _record_link(session, ctx.viewer, account, contact, "unlinked", before, {})

    return await ctx.write_showing(work, ACCOUNTS, account_uuid)


@dataclass(frozen=True, slots=True)
class ContactFilter:
    """`contacts(filter:)` as given (`ContactFilterInput`): read by `listed_contacts`."""

    search: str | None = None
    account_id: str | None = None
    updated_since: datetime | None = None


def _linked_to_visible_account(viewer: Viewer, account_id: uuid.UUID | None) -> ColumnElement[bool]:
    """The contact is linked to the account `account_id`, and the caller sees that account."""
    contact = models.Contact
    account, link = aliased(models.Account), aliased(models.AccountContact)
    visible_account = (
        select(account.id)
        .where(visible_accounts(viewer, account), account.id == account_id)
        .scalar_subquery()
    )
    return (
        select(link.contact_id)
        .where(
            link.firm_id == contact.firm_id,
            link.contact_id == contact.id,
            link.account_id == visible_account,
        )
        .exists()
    )


def listed_contacts(viewer: Viewer, spec: ContactFilter, *, search_length: int) -> Listing:
    """What `contacts` lists, on both read paths: the visible contacts matching `spec`, by
    last, then first name. A time without a zone, or a search longer than `search_length`, is
    BAD_USER_INPUT."""
    contact = models.Contact
    criteria = [visible_contacts(viewer)]
    updated_since = moment(spec.updated_since, "updatedSince")
    if updated_since is not None:
        criteria.append(contact.updated_at >= updated_since)
    text = search_text(spec.search, search_length)
    if text is not None:
        criteria.append(contact.search_folded.contains(fold(text), autoescape=True))
    if spec.account_id is not None:
        account_uuid = decode_id(str(spec.account_id), "Account")
        criteria.append(_linked_to_visible_account(viewer, account_uuid))
    return Listing(contact, tuple(criteria), orders.contacts_by_name(contact))


async def contacts(ctx: Context, *, spec: ContactFilter, page: PageRequest) -> Page[ContactRow]:
    listing = listed_contacts(ctx.viewer, spec, search_length=ctx.lists.search_length)
    return await paginate(
        ctx, listing.rows(ContactRow), listing.order, request=page, row_type=ContactRow
    )


def email_rows(contact: models.Contact, emails: list[str]) -> list[models.ContactEmail]:
    """The rows of a contact's e-mails, the primary one first."""
    return [
        models.ContactEmail(
            firm_id=contact.firm_id,
            contact_id=contact.id,
            email=address,
            email_folded=fold(address),
            position=position,
        )
        for position, address in enumerate(emails)
    ]
