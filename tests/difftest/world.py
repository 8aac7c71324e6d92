"""The data the differential test reads: a rich firm and a second firm of its own.

Rows are written through the app's own use cases (src/resolvers), as `clientgraph serve --demo`
does, so they follow every rule the app keeps (folded columns, versions, history, notifications,
outbox e-mails); the few states no use case makes any more (an address-book entry of a deleted
user, an e-mail the relay sent or gave up on) are written with SQL afterwards.

Firm A has accounts of every type and status (with and without customer numbers, tags and
owners, names outside ASCII), owners backed by users, by name only and by a deleted user, team
members, contacts with up to three e-mails linked to several accounts with roles and
descriptions, custom fields of every type on accounts and contacts, history with changes by users
since deleted, read and unread notifications, API keys and e-mail deliveries in every status.
Every name ordering meets ties that only the id breaks, visible to each caller: accounts,
contacts, users and address-book entries of one name, accounts without a customer number or an
owner, accounts of owners of one name. Its callers (`ALL_CALLERS`): the OWNER, a non-owner ADMIN,
a STAFF user holding only the `…ASSIGNED…` rights (on the team of some accounts, owner of
others), a STAFF user who views all accounts, two API keys with subsets of the rights, and the
OWNER of firm B.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from clientgraph.auth.access_tokens import issue_token
from clientgraph.auth.viewer import Viewer
from clientgraph.db import models
from clientgraph.db.engine import Database
from clientgraph.db.queries import fold
from clientgraph.db.rows import UserRow
from clientgraph.ids import decode_id, encode_id
from clientgraph.resolvers import (
    accounts,
    api_keys,
    contacts,
    custom_fields,
    firms,
    notifications,
    owners,
    portal,
    teams,
    users,
)
from clientgraph.resolvers.contacts import LinkSpec
from clientgraph.resolvers.context import Context, PageLimits
from clientgraph.resolvers.custom_fields import ValueInput
from clientgraph.resolvers.enums import (
    AccountStatus,
    AccountType,
    ContactRole,
    CustomFieldEntity,
    CustomFieldType,
    Permission,
    UserRole,
)
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support import SECRET

T = TypeVar("T")
TOKEN_TTL_S = 4 * 3600
"""Longer than the slowest run of the test module on one database."""
CALLERS = ("owner", "assigned_staff", "other_firm")
"""The callers of the long differential test (tests/test_planned_reads.py)."""
ALL_CALLERS = (
    *CALLERS,
    "admin",
    "view_all_staff",
    "key_all",
    "key_assigned",
)
"""Every kind of caller: besides CALLERS, a non-owner ADMIN, a STAFF user who may view all
accounts, and two API keys with subsets of the rights (view and edit all accounts; view
assigned ones)."""
TIED_CONTACTS = 5
"""Contacts of one name (first and last), three of them on one account the assigned STAFF
user sees."""
ACCOUNT_WORDS = [
    "Ærø Færgefart",
    "Bageriet Solsikken",
    "Carlsen & Co",
    "Dansk Vindkraft",
    "Eskildsen Byg",
    "Fjordens Fisk",
    "Grønt Køkken",
    "Havnens Marina",
    "Ingrid Sørensen",
    "Jensen Transport",
    "Købmand Hansen",
    "Lyngby Tandklinik",
    "Mølleriet",
    "Nielsen Elektrik",
    "Odense Cykler",
    "Straße Papier",
    "Qvist Arkitekter",
    "Rasmussen Landbrug",
    "Strøm & Søn",
    "Tømrer Thomsen",
    "Urtehaven",
    "Vestjysk Vin",
    "Wulff Advokater",
    "Xylofon Skole",
    "Ydre Café",
    "Zealand Logistics",
    "Århus Antik",
    "Østerbro Optik",
    "élan Design",
    "Bornholm Keramik",
    "Bornholm Keramik",
    "Anna Lund",
    "Mikkel Berg",
    "Other Things I/S",
    "Nordic Holding",
    "Zenith",
    "Tie Tømrer",
    "Tie Tømrer",
    "Tie Tømrer",
    "Tie Tømrer",
]
"""Names repeat (the last four; two of them on the assigned STAFF user's teams) so that every
name ordering meets ties, which only the id breaks."""
TAG_SETS = [
    ["vip"],
    ["annual-report", "vat"],
    [],
    ["payroll", "vat", "vip"],
    ["audit"],
    ["bookkeeping", "payroll", "tax", "vat", "vip", "wealth"],
]
FIRST_NAMES = ["Mette", "Søren", "Karen", "Hans", "Ulla", "Åse", "Erik", "Zoë", "Ib", "Anna"]
LAST_NAMES = ["Frederiksen", "Kierkegaard", "Blixen", "Andersen", "Strøm", "Østergaard", "Berg"]
TAGS = sorted({tag for tags in TAG_SETS for tag in tags})
SEARCH_WORDS = ["a", "Ø", "bornholm", "ærø", "STRASSE", "vat", "mette", "@", "zz-none", "1002"]
ACCOUNT_FIELDS = [
    ("vat_number", "VAT number", CustomFieldType.TEXT, []),
    ("employees", "Employees", CustomFieldType.NUMBER, []),
    ("fiscal_year_end", "Fiscal year end", CustomFieldType.DATE, []),
    ("listed", "Listed", CustomFieldType.BOOLEAN, []),
    ("segment", "Segment", CustomFieldType.SELECT, ["Small", "Medium", "Large"]),
]
CONTACT_FIELDS = [
    ("newsletter", "Newsletter", CustomFieldType.BOOLEAN, []),
    ("language", "Language", CustomFieldType.SELECT, ["da", "en", "sv"]),
    ("birthday", "Birthday", CustomFieldType.DATE, []),
    ("note", "Note", CustomFieldType.TEXT, []),
]


@dataclass
class World:
    """What the test needs to know about the data: callers' tokens, and global ids by kind
    (`ids["account"]`, `ids["foreign_contact"]`, …) for the generated queries to reach."""

    firm_id: uuid.UUID
    tokens: dict[str, str]
    ids: dict[str, list[str]] = field(default_factory=dict)
    cursors: dict[str, list[str]] = field(default_factory=dict)
    """Real cursors by connection field (`accounts`, `history`, …), see `gather_cursors`."""
    words: list[str] = field(default_factory=lambda: SEARCH_WORDS + TAGS)

    def add(self, kind: str, global_id: str) -> str:
        self.ids.setdefault(kind, []).append(global_id)
        return global_id


def _viewer(
    firm_id: uuid.UUID, user_id: uuid.UUID, name: str, role: UserRole, granted: list[Permission]
) -> Viewer:
    return Viewer(user_id, firm_id, name, role, frozenset(granted))


async def _as(
    db: Database, viewer: Viewer, work: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any
) -> T:
    """Run one use case as `viewer` in a context of its own, as a request would."""
    ctx = Context.open(db, viewer, PageLimits())
    try:
        return await work(ctx, *args, **kwargs)
    finally:
        await ctx.close()


async def build_world(db: Database) -> World:
    """Firm A (the rich one) and firm B, and the three callers' tokens."""
    suffix = uuid.uuid4().hex[:8]
    firm_id, owner_id = await firms.create_firm(
        db,
        name=f"Difftest Firm {suffix}",
        admin_email=f"owner-{suffix}@a.example",
        admin_name="Olga Owner",
    )
    other_firm_id, other_owner_id = await firms.create_firm(
        db,
        name=f"Other Firm {suffix}",
        admin_email=f"owner-{suffix}@b.example",
        admin_name="Bo Boss",
    )
    world = World(
        firm_id=firm_id,
        tokens={
            "owner": issue_token(
                SECRET, user_id=owner_id, firm_id=firm_id, ttl_seconds=TOKEN_TTL_S
            ),
            "other_firm": issue_token(
                SECRET, user_id=other_owner_id, firm_id=other_firm_id, ttl_seconds=TOKEN_TTL_S
            ),
        },
    )
    world.add("firm", encode_id("Firm", firm_id))
    world.add("foreign_firm", encode_id("Firm", other_firm_id))
    world.add("user", encode_id("User", owner_id))
    world.add("foreign_user", encode_id("User", other_owner_id))
    owner = _viewer(firm_id, owner_id, "Olga Owner", UserRole.OWNER, [])
    staff_id = await _firm_a(db, world, owner)
    world.tokens["assigned_staff"] = issue_token(
        SECRET, user_id=staff_id, firm_id=firm_id, ttl_seconds=TOKEN_TTL_S
    )
    other = _viewer(other_firm_id, other_owner_id, "Bo Boss", UserRole.OWNER, [])
    await _firm_b(db, world, other)
    world.ids["garbage"] = [
        "",
        "nope",
        encode_id("Account", uuid.UUID(int=0)),
        encode_id("Contact", uuid.uuid5(uuid.NAMESPACE_DNS, "difftest")),
        encode_id("Nothing", uuid.uuid5(uuid.NAMESPACE_DNS, "difftest")),
        "QWNjb3VudDpub3QtYS11dWlk",
        str(uuid.uuid5(uuid.NAMESPACE_DNS, "difftest")),
    ]
    return world


async def _firm_a(db: Database, world: World, owner: Viewer) -> uuid.UUID:
    """The rich firm; the id of its assigned-only STAFF user."""
    await _as(
        db,
        owner,
        firms.update_firm_settings,
        {
            "client_ownership_enabled": True,
            "customer_number_min_length": 2,
            "customer_number_max_length": 12,
        },
    )
    people = [
        (
            "Sally Staff",
            UserRole.STAFF,
            [Permission.VIEW_ASSIGNED_ACCOUNTS, Permission.EDIT_ASSIGNED_ACCOUNTS],
        ),
        ("Alma Admin", UserRole.ADMIN, []),
        ("Vera Viewer", UserRole.STAFF, [Permission.VIEW_ALL_ACCOUNTS, Permission.ASSIGN_ACCOUNTS]),
        ("Dennis Departed", UserRole.ADMIN, []),
        ("Ines Inactive", UserRole.STAFF, [Permission.VIEW_ALL_ACCOUNTS]),
        ("Sam Same", UserRole.STAFF, [Permission.VIEW_ALL_ACCOUNTS]),
        ("Sam Same", UserRole.STAFF, [Permission.VIEW_ASSIGNED_ACCOUNTS]),
        ("Sam Same", UserRole.ADMIN, []),
    ]
    made = []
    for number, (name, role, rights) in enumerate(people):
        row = await _as(
            db,
            owner,
            users.create_user,
            name=name,
            email=f"{name.split()[0].lower()}{number}@a.example",
            role=role,
            permissions=rights,
        )
        made.append(row)
        world.add("user", encode_id("User", row.id))
    staff, admin, viewer_user, departed, inactive = made[:5]
    staff_gid, admin_gid, viewer_gid, departed_gid, inactive_gid, *same_gids = (
        encode_id("User", row.id) for row in made
    )
    for caller, user in (("admin", admin), ("view_all_staff", viewer_user)):
        world.tokens[caller] = issue_token(
            SECRET, user_id=user.id, firm_id=owner.firm_id, ttl_seconds=TOKEN_TTL_S
        )

    book = [
        await _as(db, owner, owners.add_client_owner, user_id=staff_gid, name=None),
        await _as(db, owner, owners.add_client_owner, user_id=admin_gid, name=None),
        await _as(db, owner, owners.add_client_owner, user_id=None, name="Eva Ekstern"),
        await _as(db, owner, owners.add_client_owner, user_id=None, name="Åke Partner"),
        await _as(db, owner, owners.add_client_owner, user_id=departed_gid, name=None),
        await _as(db, owner, owners.add_client_owner, user_id=None, name="Nobody Owns"),
        *[
            await _as(db, owner, owners.add_client_owner, user_id=gid, name=None)
            for gid in same_gids[:2]
        ],
    ]
    owner_gids = [world.add("owner", encode_id("ClientOwner", row.id)) for row in book]

    account_gids: list[str] = []
    for index, name in enumerate(ACCOUNT_WORDS):
        owner_gid = owner_gids[index % 5 if index < 36 else 6 + index % 2]
        row = await _as(
            db,
            owner,
            accounts.create_account,
            name=name,
            customer_number=None if index % 4 == 3 else f"{1001 + index * 37 % 97}",
            type=[AccountType.COMPANY, AccountType.INDIVIDUAL, AccountType.OTHER][index % 3],
            owner_id=owner_gid,
            tags=TAG_SETS[index % len(TAG_SETS)],
        )
        account_gids.append(world.add("account", encode_id("Account", row.id)))
    for gid in account_gids[6::7]:
        await _as(db, owner, owners.assign_client_owner, account_id=gid, owner_id=None)

    for index, gid in enumerate(account_gids):
        members = []
        if index % 3 == 0:
            members.append(staff_gid)
        if index % 2 == 0:
            members.append(viewer_gid)
        if index % 5 == 1:
            members.extend([departed_gid, admin_gid])
        if index % 11 == 4:
            members.append(inactive_gid)
        for member in members:
            await _as(db, owner, teams.assign_team_member, account_id=gid, user_id=member)
    for gid in account_gids[0:12:6]:
        await _as(db, owner, teams.unassign_team_member, account_id=gid, user_id=staff_gid)
    for gid in same_gids:
        for account_gid in (account_gids[3], account_gids[36]):
            await _as(db, owner, teams.assign_team_member, account_id=account_gid, user_id=gid)

    contact_gids = await _contacts(db, world, owner, account_gids)
    await _custom_fields(db, owner, account_gids, contact_gids)
    await _changes(db, owner, account_gids, contact_gids, departed)
    await _notifications(db, world, owner, staff, viewer_user)
    await _keys(db, world, owner, account_gids)
    await _departures(db, world, owner, departed_gid, inactive.id, account_gids)
    await _deliveries(db, world, owner)
    await _events(db, world, owner.firm_id)
    assigned = await _assigned_to(db, owner.firm_id, staff.id)
    for gid in account_gids:
        world.add("assigned_account" if gid in assigned else "unassigned_account", gid)
    return staff.id


async def _assigned_to(db: Database, firm_id: uuid.UUID, user_id: uuid.UUID) -> set[str]:
    """Global ids of the accounts assigned to the user: on the team, or owned by their entry."""
    async with db.firm_session(firm_id) as session:
        on_team = select(models.AccountTeamMember.account_id).where(
            models.AccountTeamMember.user_id == user_id
        )
        owned = (
            select(models.Account.id)
            .join(models.ClientOwner, models.ClientOwner.id == models.Account.owner_id)
            .where(models.ClientOwner.user_id == user_id)
        )
        ids = (await session.scalars(on_team.union(owned))).all()
    return {encode_id("Account", account_id) for account_id in ids}


async def _contacts(
    db: Database, world: World, owner: Viewer, account_gids: list[str]
) -> list[str]:
    gids = []
    roles = [
        [],
        [ContactRole.COMMERCIAL],
        [ContactRole.OPERATIONAL],
        [ContactRole.COMMERCIAL, ContactRole.OPERATIONAL],
    ]
    descriptions = [None, "CEO", "Bookkeeper", "primary contact for the family", ""]
    for index in range(48 + TIED_CONTACTS):
        first = FIRST_NAMES[index % len(FIRST_NAMES)] if index < 48 else "Ib"
        last = LAST_NAMES[index * 3 % len(LAST_NAMES)] if index < 48 else "Tie"
        emails = [f"{fold(first)}.{index}@client{index % 4}.example"]
        extra = [f"{fold(first)}{index}@home.example", f"x{index}@other.example"][: index % 3]
        links = []
        if index % 9 != 8:
            count = 1 + index % 3
            for step in range(count):
                account = account_gids[(index * 5 + step * 13) % len(account_gids)]
                if any(link.account_id == account for link in links):
                    continue
                links.append(
                    LinkSpec(
                        account,
                        roles[(index + step) % len(roles)],
                        descriptions[(index + step) % len(descriptions)] or None,
                    )
                )
        if index >= 48 + TIED_CONTACTS - 3 and all(
            link.account_id != account_gids[3] for link in links
        ):
            links.append(LinkSpec(account_gids[3], [], None))
        row = await _as(
            db,
            owner,
            contacts.create_contact,
            values={
                "first_name": first,
                "last_name": last,
                "email": emails[0] if index % 10 != 7 else None,
                "extra_emails": extra if index % 10 != 7 else [],
                "phone": f"20 {10 + index:02} 34 56" if index % 3 != 2 else None,
                "phone_country": "DK",
            },
            links=links,
        )
        gids.append(world.add("contact", encode_id("Contact", row.id)))
    return gids


async def _custom_fields(
    db: Database, owner: Viewer, account_gids: list[str], contact_gids: list[str]
) -> None:
    for entity, definitions in (
        (CustomFieldEntity.ACCOUNT, ACCOUNT_FIELDS),
        (CustomFieldEntity.CONTACT, CONTACT_FIELDS),
    ):
        for key, label, kind, options in definitions:
            await _as(
                db,
                owner,
                custom_fields.define_custom_field,
                entity=entity,
                key=key,
                label=label,
                type=kind,
                options=options,
            )
    for index, gid in enumerate(account_gids[::2]):
        values = [
            ValueInput("vat_number", f"DK{31000000 + index * 7919}"),
            ValueInput("employees", str(index * 3 + 0.5 if index % 2 else index)),
            ValueInput("fiscal_year_end", f"2026-{1 + index % 12:02}-28"),
            ValueInput("listed", "true" if index % 2 else "false"),
            ValueInput("segment", ["Small", "Medium", "Large"][index % 3]),
        ][: 1 + index % 5]
        await _as(
            db,
            owner,
            custom_fields.set_custom_field_values,
            account_id=gid,
            contact_id=None,
            values=values,
        )
    for index, gid in enumerate(contact_gids[::3]):
        values = [
            ValueInput("newsletter", "true"),
            ValueInput("language", ["da", "en", "sv"][index % 3]),
            ValueInput("birthday", "1980-02-29"),
            ValueInput("note", f"Prefers mornings #{index}"),
        ][: 1 + index % 4]
        await _as(
            db,
            owner,
            custom_fields.set_custom_field_values,
            account_id=None,
            contact_id=gid,
            values=values,
        )


async def _changes(
    db: Database,
    owner: Viewer,
    account_gids: list[str],
    contact_gids: list[str],
    departed: UserRow,
) -> None:
    """History with changes of every kind, some made by a user who is deleted later."""
    by_departed = _viewer(owner.firm_id, departed.id, departed.name, UserRole.ADMIN, [])
    for index, gid in enumerate(account_gids[:10]):
        actor = by_departed if index % 2 else owner
        await _as(
            db,
            actor,
            accounts.update_account,
            account_id=gid,
            expected_version=None,
            changes={"name": ACCOUNT_WORDS[index] + " Holding", "tags": ["renamed", "vip"]},
        )
    for gid in account_gids[5:9]:
        await _as(
            db, owner, accounts.set_account_status, account_id=gid, status=AccountStatus.INACTIVE
        )
    await _as(
        db,
        owner,
        accounts.set_account_status,
        account_id=account_gids[6],
        status=AccountStatus.ACTIVE,
    )
    await _as(db, owner, owners.assign_client_owner, account_id=account_gids[2], owner_id=None)
    for index, gid in enumerate(contact_gids[:6]):
        await _as(
            db,
            by_departed if index % 2 else owner,
            contacts.update_contact,
            contact_id=gid,
            expected_version=None,
            values={
                "first_name": f"Changed{index}",
                "last_name": "Østergaard",
                "email": f"changed{index}@a.example",
                "extra_emails": [],
                "phone": None,
                "phone_country": None,
            },
        )
    await _as(
        db,
        owner,
        contacts.link_contact,
        account_id=account_gids[1],
        contact_id=contact_gids[8],
        roles=[ContactRole.OPERATIONAL],
        description="Linked late",
    )
    await _as(
        db,
        owner,
        contacts.update_account_contact,
        account_id=account_gids[1],
        contact_id=contact_gids[8],
        changes={"roles": [ContactRole.COMMERCIAL], "description": "Relinked"},
    )
    for gid in contact_gids[:4]:
        await _as(db, owner, portal.invite_contact, contact_id=gid)
    await _as(db, owner, portal.revoke_portal_access, contact_id=contact_gids[2])

    async def accepted(session: AsyncSession) -> None:
        """The first invitation accepted, as `/portal/accept` leaves it."""
        await session.execute(
            update(models.Contact)
            .where(models.Contact.id == decode_id(contact_gids[0], "Contact"))
            .values(portal_access="ACTIVE")
        )

    await db.write(accepted, firm_id=owner.firm_id)


async def _notifications(
    db: Database, world: World, owner: Viewer, staff: UserRow, viewer_user: UserRow
) -> None:
    """Mark some of the staff users' assignment notifications read, as they would."""
    for user in (staff, viewer_user):
        async with db.firm_session(owner.firm_id) as session:
            ids = (
                await session.scalars(
                    select(models.Notification.id)
                    .where(models.Notification.user_id == user.id)
                    .order_by(models.Notification.created_at, models.Notification.id)
                )
            ).all()
        as_user = _viewer(owner.firm_id, user.id, user.name, UserRole.STAFF, [])
        await _as(
            db,
            as_user,
            notifications.mark_notifications_read,
            ids=[encode_id("Notification", i) for i in ids[::2]],
        )
        for notification_id in ids:
            world.add("notification", encode_id("Notification", notification_id))


async def _events(db: Database, world: World, firm_id: uuid.UUID) -> None:
    """64 history events spread over the whole history, for ids to draw from."""
    async with db.firm_session(firm_id) as session:
        events = (
            await session.scalars(
                select(models.AuditEvent.id)
                .where(models.AuditEvent.firm_id == firm_id)
                .order_by(models.AuditEvent.occurred_at, models.AuditEvent.id)
            )
        ).all()
    for event_id in events[:: max(1, len(events) // 64)]:
        world.add("event", encode_id("AuditEvent", event_id))


async def _keys(db: Database, world: World, owner: Viewer, account_gids: list[str]) -> None:
    """Keys in use, without expiry and revoked; changes made through the first, which history
    names beside its creator."""
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(days=90)
    issued_ids = []
    for name, rights, expires in (
        ("Bank feed", [Permission.VIEW_ALL_ACCOUNTS, Permission.EDIT_ALL_ACCOUNTS], soon),
        ("Assigned sync", [Permission.VIEW_ASSIGNED_ACCOUNTS], None),
        ("Old import", [Permission.IMPORT_ACCOUNTS], None),
    ):
        issued = await _as(
            db, owner, api_keys.create_api_key, name=name, permissions=rights, expires_at=expires
        )
        issued_ids.append(issued.row.id)
        world.add("api_key", encode_id("ApiKey", issued.row.id))
        caller = {"Bank feed": "key_all", "Assigned sync": "key_assigned"}.get(name)
        if caller is not None:
            world.tokens[caller] = issued.key
    await _as(db, owner, api_keys.revoke_api_key, api_key_id=world.ids["api_key"][-1])
    through_key = Viewer(
        owner.user_id,
        owner.firm_id,
        owner.name,
        owner.role,
        frozenset({Permission.VIEW_ALL_ACCOUNTS, Permission.EDIT_ALL_ACCOUNTS}),
        api_key_id=issued_ids[0],
    )
    for gid in account_gids[10:14]:
        await _as(
            db,
            through_key,
            accounts.update_account,
            account_id=gid,
            expected_version=None,
            changes={"tags": ["synced"]},
        )


async def _departures(
    db: Database,
    world: World,
    owner: Viewer,
    departed_gid: str,
    inactive_id: uuid.UUID,
    account_gids: list[str],
) -> None:
    """Delete a user who made changes and owned accounts; then give back an address-book
    entry to the deleted user, as rows from before deletions cleared the book still are, and
    mark another user inactive."""
    await _as(db, owner, users.delete_user, user_id=departed_gid, transfer_clients_to=None)
    firm_id = owner.firm_id

    async def legacy(session: AsyncSession) -> uuid.UUID:
        departed = (
            await session.scalars(
                select(models.User).where(
                    models.User.firm_id == firm_id,
                    models.User.id == decode_id(departed_gid, "User"),
                    models.User.deleted_at.is_not(None),
                )
            )
        ).one()
        entry = models.ClientOwner(
            firm_id=firm_id,
            name=departed.name,
            name_folded=fold(departed.name),
            user_id=departed.id,
        )
        session.add(entry)
        await session.flush()
        for gid in account_gids[30:33]:
            await session.execute(
                update(models.Account)
                .where(models.Account.id == decode_id(gid, "Account"))
                .values(owner_id=entry.id)
            )
        await session.execute(
            update(models.User).where(models.User.id == inactive_id).values(is_active=False)
        )

        return entry.id

    entry_id = await db.write(legacy, firm_id=firm_id)
    world.add("owner", encode_id("ClientOwner", entry_id))


async def _deliveries(db: Database, world: World, owner: Viewer) -> None:
    """The portal invitations' e-mails: one left QUEUED, one SENT, one FAILED."""
    firm_id = owner.firm_id
    now = datetime.now(UTC).replace(microsecond=0)

    async def settle(session: AsyncSession) -> list[uuid.UUID]:
        ids = list(
            (
                await session.scalars(
                    select(models.OutboxEvent.id)
                    .where(models.OutboxEvent.firm_id == firm_id)
                    .order_by(models.OutboxEvent.created_at, models.OutboxEvent.id)
                )
            ).all()
        )
        if len(ids) >= 3:
            await session.execute(
                update(models.OutboxEvent)
                .where(models.OutboxEvent.id == ids[0])
                .values(status="SENT", attempts=1, delivered_at=now, last_attempt_at=now)
            )
            await session.execute(
                update(models.OutboxEvent)
                .where(models.OutboxEvent.id == ids[1])
                .values(
                    status="FAILED",
                    attempts=10,
                    last_attempt_at=now,
                    last_error="550 mailbox unavailable",
                )
            )
        return ids

    for delivery_id in await db.write(settle, firm_id=firm_id):
        world.add("delivery", encode_id("EmailDelivery", delivery_id))


async def _firm_b(db: Database, world: World, other: Viewer) -> None:
    """A smaller firm whose ids the callers of firm A try, and whose OWNER tries firm A's."""
    await _as(db, other, firms.update_firm_settings, {"client_ownership_enabled": True})
    entry = await _as(db, other, owners.add_client_owner, user_id=None, name="Bent Boe")
    world.add("foreign_owner", encode_id("ClientOwner", entry.id))
    gids = []
    for index, name in enumerate(["Ærø Færgefart", "Bornholm Keramik", "Bravo ApS", "Zenith"]):
        row = await _as(
            db,
            other,
            accounts.create_account,
            name=name,
            customer_number=f"{1001 + index}",
            type=AccountType.COMPANY,
            owner_id=encode_id("ClientOwner", entry.id),
            tags=["vip"] if index % 2 else [],
        )
        gids.append(world.add("foreign_account", encode_id("Account", row.id)))
    for index in range(4):
        row = await _as(
            db,
            other,
            contacts.create_contact,
            values={
                "first_name": "Mette",
                "last_name": f"Andersen{index}",
                "email": f"mette{index}@b.example",
                "extra_emails": [],
                "phone": None,
                "phone_country": None,
            },
            links=[
                LinkSpec(gids[index], [ContactRole.COMMERCIAL], "CEO"),
                LinkSpec(gids[(index + 1) % 4], [], None),
            ],
        )
        world.add("foreign_contact", encode_id("Contact", row.id))
