"""The demo firm `make run` shows: staff with different rights, an address book with a
user-owner and a by-name owner, ~30 accounts with owners, tags, team members and contacts."""

from __future__ import annotations

import uuid

from clientgraph.db import models
from clientgraph.db.engine import Database
from clientgraph.db.queries import fold
from clientgraph.db.rows import AccountRow
from clientgraph.ids import encode_id
from clientgraph.resolvers import accounts, firms, owners, users
from clientgraph.resolvers.context import Context, PageLimits
from clientgraph.resolvers.enums import AccountType, Permission, UserRole
from clientgraph.resolvers.policy import Viewer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

DEMO_FIRM_NAME = "Nordlys Revision ApS (demo)"
DEMO_ADMIN_EMAIL = "astrid@nordlys.example"

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
CONTACTS = [
    ("Mette", "Frederiksen", "mette@aeroe-faergefart.example", "+4520123456"),
    ("Søren", "Kierkegaard", "soren@bageriet.example", "+4530112233"),
    ("Karen", "Blixen", "karen@carlsen.example", None),
    ("Hans", "Andersen", "hans@vindkraft.example", "+4540998877"),
    ("Ulla", "Strøm", "ulla@strom-vvs.example", None),
]


async def demo_admin(db: Database) -> uuid.UUID | None:
    async with db.read_sessions() as session:
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


async def seed_demo(db: Database) -> uuid.UUID:
    """Create the demo firm unless it exists; the admin's user id either way."""
    existing = await demo_admin(db)
    if existing is not None:
        return existing
    firm_id, admin_id = await firms.create_firm(
        db, name=DEMO_FIRM_NAME, admin_email=DEMO_ADMIN_EMAIL, admin_name="Astrid Lund"
    )
    viewer = Viewer(admin_id, firm_id, "Astrid Lund", UserRole.OWNER, frozenset())
    ctx = Context.open(db, viewer, PageLimits())
    try:
        await _populate(ctx)
    finally:
        await ctx.close()
    return admin_id


async def _populate(ctx: Context) -> None:
    await firms.update_firm_settings(ctx, {"client_ownership_enabled": True})
    staff = [
        await users.create_user(
            ctx, name=name, email=email, role=UserRole.STAFF, permissions=rights
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
    await ctx.write(
        lambda session: _contacts_and_teams(
            session, ctx.viewer.firm_id, created, [user.id for user in staff]
        )
    )


async def _contacts_and_teams(
    session: AsyncSession, firm_id: uuid.UUID, created: list[AccountRow], staff_ids: list[uuid.UUID]
) -> None:
    for index, (first, last, email, phone) in enumerate(CONTACTS):
        contact = models.Contact(
            id=models.new_id(),
            firm_id=firm_id,
            first_name=first,
            last_name=last,
            first_name_folded=fold(first),
            last_name_folded=fold(last),
            search_folded=fold(f"{first} {last} {email}"),
            phone=phone,
        )
        session.add(contact)
        await session.flush()
        session.add(
            models.ContactEmail(
                firm_id=firm_id,
                contact_id=contact.id,
                email=email,
                email_folded=fold(email),
                position=0,
            )
        )
        linked = [created[index], created[index + 10]] if index < 2 else [created[index]]
        for position, account in enumerate(linked):
            session.add(
                models.AccountContact(
                    firm_id=firm_id,
                    account_id=account.id,
                    contact_id=contact.id,
                    description="CEO" if position == 0 else "Board member",
                    is_commercial=position == 0,
                    is_operational=position == 0 and index % 2 == 0,
                )
            )
    for index, account in enumerate(created):
        session.add(
            models.AccountTeamMember(
                firm_id=firm_id, account_id=account.id, user_id=staff_ids[index % len(staff_ids)]
            )
        )
