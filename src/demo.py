"""The demo firm `make run` shows: staff with different rights, an address book with user-owners
and a by-name owner, 30 accounts with owners, tags, teams (and so notifications), contacts with
roles per account, related accounts, custom fields, a portal invitation, a client signed up to
the portal (DEMO_PORTAL_EMAIL, DEMO_PORTAL_PASSWORD) and inactive accounts. Every member of the
demo firm's staff signs in with DEMO_PASSWORD."""

from __future__ import annotations

import uuid

from clientgraph import passwords
from clientgraph.auth.viewer import Viewer
from clientgraph.db import models, tenancy
from clientgraph.db.engine import Database
from clientgraph.db.rows import AccountRow, UserRow
from clientgraph.ids import encode_id
from clientgraph.resolvers import (
    accounts,
    contacts,
    custom_fields,
    firms,
    owners,
    portal,
    portal_sign_in,
    teams,
    users,
)
from clientgraph.resolvers.contacts import LinkSpec
from clientgraph.resolvers.context import Context, PageLimits
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

DEMO_FIRM_NAME = "Nordlys Revision ApS (demo)"
DEMO_ADMIN_EMAIL = "astrid@nordlys.example"
DEMO_PASSWORD = "nordlys-demo-password"
"""Known to everyone who reads the README: for the demo firm only."""
DEMO_PORTAL_EMAIL = "soren@bageriet.example"
DEMO_PORTAL_PASSWORD = "bageriet-portal-demo"
"""The demo's client contact with portal access ACTIVE: a demo's password, printed on start."""

STAFF = [
    (
        "Bjørn Holm",
        "bjorn@nordlys.example",
        [Permission.VIEW_ALL_ACCOUNTS, Permission.EDIT_ALL_ACCOUNTS, Permission.CREATE_ACCOUNTS],
    ),
    (
        "Clara Ström",
        "clara@nordlys.example",
        [Permission.VIEW_ASSIGNED_ACCOUNTS, Permission.EDIT_ASSIGNED_ACCOUNTS],
    ),
    ("Dan Berg", "dan@nordlys.example", [Permission.VIEW_ALL_ACCOUNTS]),
]
ACCOUNT_NAMES = [
    "Ærø Færgefart A/S",
    "Bageriet Solsikken",
    "Carlsen & Co Revision",
    "Dansk Vindkraft ApS",
    "Eskildsen Byg",
    "Fjordens Fiskehandel",
    "Grønt Køkken I/S",
    "Havnens Marina",
    "Ingrid Sørensen",
    "Jensen Transport A/S",
    "Købmand Hansen",
    "Lyngby Tandklinik",
    "Mølleriet Nord",
    "Nielsen Elektrik",
    "Odense Cykler",
    "Papirfabrikken Syd",
    "Qvist Arkitekter",
    "Rasmussen Landbrug",
    "Strøm & Søn VVS",
    "Tømrer Thomsen",
    "Urtehaven ApS",
    "Vestjysk Vinimport",
    "Wulff Advokater",
    "Xylofon Musikskole",
    "Ydre Nørrebro Café",
    "Zealand Logistics",
    "Århus Antikvariat",
    "Østerbro Optik",
    "Lars Mikkelsen",
    "Bornholm Keramik",
]
TAGS = [["vip"], ["annual-report"], ["vat", "payroll"], [], ["payroll"], ["vip", "vat"]]
CUSTOM_FIELDS = [
    (CustomFieldEntity.ACCOUNT, "vat_number", "VAT number", CustomFieldType.TEXT, []),
    (CustomFieldEntity.ACCOUNT, "fiscal_year_end", "Fiscal year end", CustomFieldType.DATE, []),
    (
        CustomFieldEntity.ACCOUNT,
        "segment",
        "Segment",
        CustomFieldType.SELECT,
        ["Small", "Medium", "Large"],
    ),
    (CustomFieldEntity.CONTACT, "newsletter", "Newsletter", CustomFieldType.BOOLEAN, []),
]
CONTACTS = [
    ("Mette", "Frederiksen", "mette@aeroe-faergefart.example", "+4520123456"),
    ("Søren", "Kierkegaard", "soren@bageriet.example", "+4530112233"),
    ("Karen", "Blixen", "karen@carlsen.example", None),
    ("Hans", "Andersen", "hans@vindkraft.example", "+4540998877"),
    ("Ulla", "Strøm", "ulla@strom-vvs.example", None),
]


async def demo_admin(db: Database) -> uuid.UUID | None:
    async with db.read_sessions(info=tenancy.every_firm()) as session:
        return (
            await session.scalars(
                select(models.User.id)
                .join(models.Firm, models.Firm.id == models.User.firm_id)
                .where(
                    models.Firm.name == DEMO_FIRM_NAME,
                    models.User.email_folded == DEMO_ADMIN_EMAIL,
                )
            )
        ).first()


async def _give_staff_passwords(db: Database, admin_id: uuid.UUID, password_hash: str) -> None:
    """DEMO_PASSWORD (`password_hash`) for every user of the demo firm who has no password yet
    (a demo seeded before sign-in existed gets them too)."""
    async with db.read_sessions(info=tenancy.every_firm()) as session:
        firm_id = (await session.get_one(models.User, admin_id)).firm_id

    async def work(session: AsyncSession) -> None:
        await session.execute(
            update(models.User)
            .where(models.User.firm_id == firm_id, models.User.password_hash.is_(None))
            .values(password_hash=password_hash)
        )

    await db.write(work, firm_id=firm_id)


async def seed_demo(db: Database, *, server_url: str | None = None) -> uuid.UUID:
    """Create the demo firm unless it exists; the admin's user id either way. The e-mails it
    queues link to the pages of the server at `server_url` (clientgraph.links)."""
    existing = await demo_admin(db)
    password_hash = await passwords.hash_password(DEMO_PASSWORD)
    if existing is not None:
        await _give_staff_passwords(db, existing, password_hash)
        return existing
    firm_id, admin_id = await firms.create_firm(
        db, name=DEMO_FIRM_NAME, admin_email=DEMO_ADMIN_EMAIL, admin_name="Astrid Lund"
    )
    viewer = Viewer(admin_id, firm_id, "Astrid Lund", UserRole.OWNER, frozenset())
    ctx = Context.open(db, viewer, PageLimits(), server_url=server_url)
    try:
        await _populate(ctx, password_hash)
    finally:
        await ctx.close()
    await _give_staff_passwords(db, admin_id, password_hash)
    return admin_id


async def _populate(ctx: Context, password_hash: str) -> None:
    await firms.update_firm_settings(ctx, {"client_ownership_enabled": True})
    staff = [
        await users.create_user(
            ctx,
            name=name,
            email=email,
            role=UserRole.STAFF,
            permissions=rights,
            password_hash=password_hash,
        )
        for name, email, rights in STAFF
    ]
    book = [
        await owners.add_client_owner(ctx, user_id=None, name="Astrid Lund"),
        await owners.add_client_owner(ctx, user_id=None, name=staff[0].email),
        await owners.add_client_owner(ctx, user_id=None, name="Clara Ström"),
        await owners.add_client_owner(ctx, user_id=None, name="Eva Ekstern (external partner)"),
    ]
    created = []
    for index, name in enumerate(ACCOUNT_NAMES):
        owner = book[index % len(book)]
        account = await accounts.create_account(
            ctx,
            name=name,
            customer_number=f"{1001 + index}",
            type=AccountType.INDIVIDUAL if index in (8, 28) else AccountType.COMPANY,
            owner_id=encode_id("ClientOwner", owner.id),
            tags=TAGS[index % len(TAGS)],
        )
        assert account is not None
        created.append(account)
    for account in created[-4:]:
        await owners.assign_client_owner(
            ctx, account_id=encode_id("Account", account.id), owner_id=None
        )
    await _register(ctx, created, staff)


async def _register(ctx: Context, created: list[AccountRow], staff: list[UserRow]) -> None:
    """Contacts with roles per account, teams, custom fields, an invitation, a portal client,
    inactive accounts."""

    def account_id(index: int) -> str:
        return encode_id("Account", created[index].id)

    both_roles = [ContactRole.COMMERCIAL, ContactRole.OPERATIONAL]
    for index, (first, last, email, phone) in enumerate(CONTACTS):
        links = [LinkSpec(account_id(index), both_roles, "CEO")]
        if index < 2:
            links.append(LinkSpec(account_id(index + 10), [], "Board member"))
        contact = await contacts.create_contact(
            ctx,
            values={"first_name": first, "last_name": last, "email": email, "phone": phone},
            links=links,
        )
        if contact is not None and index == 0:
            await portal.invite_contact(ctx, contact_id=encode_id("Contact", contact.id))
        if contact is not None and email == DEMO_PORTAL_EMAIL:
            await portal_sign_in.give_portal_access(
                ctx.db, contact.firm_id, contact.id, DEMO_PORTAL_PASSWORD
            )
    for index in range(len(created)):
        member = staff[index % len(staff)]
        await teams.assign_team_member(
            ctx, account_id=account_id(index), user_id=encode_id("User", member.id)
        )
    for entity, key, label, kind, options in CUSTOM_FIELDS:
        await custom_fields.define_custom_field(
            ctx, entity=entity, key=key, label=label, type=kind, options=options
        )
    for index in range(0, 12, 3):
        await custom_fields.set_custom_field_values(
            ctx,
            account_id=account_id(index),
            contact_id=None,
            values=[
                custom_fields.ValueInput("vat_number", f"DK{31000000 + index * 7919}"),
                custom_fields.ValueInput("fiscal_year_end", "2026-12-31"),
                custom_fields.ValueInput("segment", ["Small", "Medium", "Large"][index % 3]),
            ],
        )
    for index in (20, 21):
        await accounts.set_account_status(
            ctx, account_id=account_id(index), status=AccountStatus.INACTIVE
        )
