"""Seed a PostgreSQL database with the benchmark firm of issue 8, in bulk, in seconds.

At scale 1: one firm, 11 users (the OWNER whose token the benchmark uses, and 10 staff), 20
client owners (8 of them users), 10,000 accounts (2 tags, 2 team members, 2-3 contact links
each, all owned), 25,000 contacts (each with an e-mail, every fifth with a second), 3 history
events per account and one per contact, and the notifications the team assignments send.
`--scale` shrinks or grows the accounts and contacts; users and owners stay as they are.

The rows are what the app itself writes (src/resolvers): folded search and sort columns made by
`fold`, versions that count the recorded changes, history with the app's change format, E.164
phones. Each account's history is its creation and its two team assignments (so its version is
3); its contacts and their links are seeded as imported: each contact has its creation event,
the links none. The contacts of every odd account's third link belong to the next account too,
so those accounts have a related account; 5,000 contacts belong to no account.

Rows are built in Python and sent as one `INSERT … SELECT FROM unnest(arrays)` per table, in
one transaction as the tables' owner (after `clientgraph migrate`), with the firm set for
row-level security (which binds an owner that is not a superuser; COPY would not work there).
Run: `python -m bench.seed postgresql://postgres@127.0.0.1:5432/DBNAME [--scale 0.01]`.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson
from clientgraph.db.queries import fold
from clientgraph.resolvers.enums import Permission
from clientgraph.resolvers.history import Change, changes_between
from clientgraph.resolvers.notifications import message
from sqlalchemy.engine import make_url

ACCOUNTS = 10_000
CONTACTS = 25_000
STAFF = 10
OWNERS = 20
USER_OWNERS = 8
OWNER_EMAIL = "owner@bench.example"
OWNER_NAME = "Bench Owner"

TAGS = ["annual-report", "audit", "bookkeeping", "payroll", "tax", "vat", "vip", "wealth"]
NAME_WORDS = [
    "Amber",
    "Birch",
    "Cobalt",
    "Delta",
    "Elm",
    "Fjord",
    "Granite",
    "Harbor",
    "Iris",
    "Juniper",
    "Kestrel",
    "Linden",
    "Maple",
    "Nordic",
    "Oak",
    "Pine",
    "Quartz",
    "Raven",
    "Spruce",
    "Tundra",
]
NAME_KINDS = [
    "Bakery",
    "Builders",
    "Consulting",
    "Dental",
    "Electric",
    "Farms",
    "Logistics",
    "Marine",
    "Optics",
    "Transport",
    "Trading",
    "Ventures",
]
SUFFIXES = ["ApS", "A/S", "I/S", "Ltd", "GmbH"]
FIRST_NAMES = [
    "Anna",
    "Bent",
    "Clara",
    "Dorte",
    "Erik",
    "Frida",
    "Gustav",
    "Hanne",
    "Ib",
    "Jonas",
    "Karen",
    "Lars",
    "Mette",
    "Niels",
    "Olga",
    "Peter",
    "Rikke",
    "Soren",
    "Tove",
    "Ulla",
]
LAST_NAMES = [
    "Andersen",
    "Berg",
    "Christensen",
    "Dahl",
    "Eriksen",
    "Frost",
    "Hansen",
    "Holm",
    "Jensen",
    "Kjaer",
    "Larsen",
    "Madsen",
    "Nielsen",
    "Olsen",
    "Pedersen",
    "Qvist",
    "Rasmussen",
    "Schmidt",
    "Thomsen",
    "Vestergaard",
    "Wulff",
    "Ibsen",
    "Lund",
    "Moller",
    "Poulsen",
]
STAFF_RIGHTS = [
    [Permission.VIEW_ALL_ACCOUNTS, Permission.EDIT_ALL_ACCOUNTS, Permission.CREATE_ACCOUNTS],
    [Permission.VIEW_ASSIGNED_ACCOUNTS, Permission.EDIT_ASSIGNED_ACCOUNTS],
    [Permission.VIEW_ALL_ACCOUNTS],
]


@dataclass
class Seeded:
    """What a benchmark needs to know about the seeded firm."""

    firm_id: uuid.UUID
    owner_user_id: uuid.UUID
    owner_email: str
    account_ids: list[uuid.UUID]
    client_owner_ids: list[uuid.UUID]
    detail_account_id: uuid.UUID
    """An account with three contacts, a related account, tags, team and history."""
    counts: dict[str, int] = field(default_factory=dict)


def _id() -> uuid.UUID:
    return uuid.uuid4()


class _Table:
    """Column-wise rows for one table, inserted with one statement."""

    def __init__(self, name: str, columns: Sequence[tuple[str, str]]) -> None:
        self.name = name
        self.columns = list(columns)
        self.values: list[list[Any]] = [[] for _ in columns]

    def add(self, *row: Any) -> None:
        for column, value in zip(self.values, row, strict=True):
            column.append(value)

    def __len__(self) -> int:
        return len(self.values[0])

    async def insert(self, connection: asyncpg.Connection) -> None:
        if not len(self):
            return
        names = ", ".join(name for name, _ in self.columns)
        arrays = ", ".join(
            f"${index}::{'text' if kind == 'json' else kind}[]"
            for index, (_, kind) in enumerate(self.columns, start=1)
        )
        casts = ", ".join(
            f"{name}::json" if kind == "json" else name for name, kind in self.columns
        )
        await connection.execute(
            f"INSERT INTO {self.name} ({names}) SELECT {casts} FROM unnest({arrays}) AS t({names})",
            *self.values,
        )


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _changes(changes: list[Change]) -> str:
    return _json([change.as_json() for change in changes])


def _owners_table() -> _Table:
    return _Table(
        "client_owners",
        [
            ("id", "uuid"),
            ("firm_id", "uuid"),
            ("name", "text"),
            ("name_folded", "text"),
            ("user_id", "uuid"),
            ("created_at", "timestamptz"),
        ],
    )


def _accounts_table() -> _Table:
    return _Table(
        "accounts",
        [
            ("id", "uuid"),
            ("firm_id", "uuid"),
            ("name", "text"),
            ("name_folded", "text"),
            ("customer_number", "text"),
            ("customer_number_folded", "text"),
            ("type", "text"),
            ("status", "text"),
            ("owner_id", "uuid"),
            ("version", "int4"),
            ("created_at", "timestamptz"),
            ("updated_at", "timestamptz"),
        ],
    )


def _account_name(index: int, total: int) -> str:
    spread = (index * 7919) % max(total, 1)
    word = NAME_WORDS[spread % len(NAME_WORDS)]
    kind = NAME_KINDS[(spread // len(NAME_WORDS)) % len(NAME_KINDS)]
    return f"{word} {kind} {SUFFIXES[index % len(SUFFIXES)]} {index:05}"


def build(scale: float = 1.0) -> tuple[Seeded, list[_Table]]:
    """The rows of the benchmark firm, table by table, in insertion order."""
    account_count = max(2, round(ACCOUNTS * scale))
    contact_count = max(2 * account_count, round(CONTACTS * scale))
    firm_id = _id()
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)

    firms = _Table(
        "firms",
        [
            ("id", "uuid"),
            ("name", "text"),
            ("client_ownership_enabled", "bool"),
            ("created_at", "timestamptz"),
        ],
    )
    firms.add(firm_id, "Bench Firm", True, start)

    users = _Table(
        "users",
        [
            ("id", "uuid"),
            ("firm_id", "uuid"),
            ("name", "text"),
            ("name_folded", "text"),
            ("email", "text"),
            ("email_folded", "text"),
            ("role", "text"),
            ("permissions", "json"),
            ("is_active", "bool"),
            ("created_at", "timestamptz"),
        ],
    )
    people = [(OWNER_NAME, OWNER_EMAIL, "OWNER", [])] + [
        (f"Staff {n:02}", f"staff{n:02}@bench.example", "STAFF", STAFF_RIGHTS[n % 3])
        for n in range(1, STAFF + 1)
    ]
    user_ids, user_names = [], []
    for name, email, role, rights in people:
        user_id = _id()
        user_ids.append(user_id)
        user_names.append(name)
        permissions = sorted({right.value for right in rights})
        users.add(
            user_id,
            firm_id,
            name,
            fold(name),
            email,
            fold(email),
            role,
            _json(permissions),
            True,
            start,
        )
    owner_user_id = user_ids[0]
    staff_ids, staff_names = user_ids[1:], user_names[1:]

    client_owners = _owners_table()
    owner_ids, owner_names = [], []
    for n in range(OWNERS):
        linked = n < USER_OWNERS
        name = user_names[n] if linked else f"External Partner {n:02}"
        owner_id = _id()
        owner_ids.append(owner_id)
        owner_names.append(name)
        client_owners.add(
            owner_id, firm_id, name, fold(name), user_ids[n] if linked else None, start
        )

    accounts = _accounts_table()
    tags = _Table("account_tags", [("firm_id", "uuid"), ("account_id", "uuid"), ("tag", "text")])
    team = _Table(
        "account_team_members",
        [
            ("firm_id", "uuid"),
            ("account_id", "uuid"),
            ("user_id", "uuid"),
            ("assigned_at", "timestamptz"),
        ],
    )
    notifications = _Table(
        "notifications",
        [
            ("id", "uuid"),
            ("firm_id", "uuid"),
            ("user_id", "uuid"),
            ("kind", "text"),
            ("message", "text"),
            ("account_id", "uuid"),
            ("created_at", "timestamptz"),
        ],
    )
    events = _Table(
        "audit_events",
        [
            ("id", "uuid"),
            ("firm_id", "uuid"),
            ("subject_type", "text"),
            ("subject_id", "uuid"),
            ("action", "text"),
            ("actor_id", "uuid"),
            ("actor_name", "text"),
            ("occurred_at", "timestamptz"),
            ("changes", "json"),
        ],
    )

    def event(
        subject_type: str, subject_id: uuid.UUID, action: str, at: datetime, changes: list[Change]
    ) -> None:
        events.add(
            _id(),
            firm_id,
            subject_type,
            subject_id,
            action,
            owner_user_id,
            OWNER_NAME,
            at,
            _changes(changes),
        )

    account_ids: list[uuid.UUID] = []
    for index in range(account_count):
        account_id = _id()
        account_ids.append(account_id)
        name = _account_name(index, account_count)
        number = str(100_000 + index)
        kind = "INDIVIDUAL" if index % 10 == 9 else "COMPANY"
        owner = index % OWNERS
        first_tag = index % len(TAGS)
        second_tag = (first_tag + 1 + (index // len(TAGS)) % (len(TAGS) - 1)) % len(TAGS)
        account_tags = sorted([TAGS[first_tag], TAGS[second_tag]])
        first_member = index % STAFF
        second_member = (first_member + 1 + (index // STAFF) % (STAFF - 1)) % STAFF
        created = start + timedelta(seconds=index * 3)
        assigned = [created + timedelta(seconds=1), created + timedelta(seconds=2)]
        accounts.add(
            account_id,
            firm_id,
            name,
            fold(name),
            number,
            fold(number),
            kind,
            "ACTIVE",
            owner_ids[owner],
            3,
            created,
            assigned[-1],
        )
        for tag in account_tags:
            tags.add(firm_id, account_id, tag)
        values = {
            "name": name,
            "customerNumber": number,
            "type": kind,
            "owner": owner_names[owner],
            "tags": account_tags,
        }
        event("account", account_id, "account.created", created, changes_between({}, values))
        for member, at in zip((first_member, second_member), assigned, strict=True):
            team.add(firm_id, account_id, staff_ids[member], at)
            event(
                "account",
                account_id,
                "account.team_member_added",
                at,
                [Change("teamMember", None, staff_names[member])],
            )
            notifications.add(
                _id(),
                firm_id,
                staff_ids[member],
                "account.assigned",
                message("account.assigned", name),
                account_id,
                at,
            )

    contacts = _Table(
        "contacts",
        [
            ("id", "uuid"),
            ("firm_id", "uuid"),
            ("first_name", "text"),
            ("last_name", "text"),
            ("last_name_folded", "text"),
            ("first_name_folded", "text"),
            ("search_folded", "text"),
            ("phone", "text"),
            ("portal_access", "text"),
            ("version", "int4"),
            ("created_at", "timestamptz"),
            ("updated_at", "timestamptz"),
        ],
    )
    emails = _Table(
        "contact_emails",
        [
            ("firm_id", "uuid"),
            ("contact_id", "uuid"),
            ("email_folded", "text"),
            ("email", "text"),
            ("position", "int4"),
        ],
    )
    contact_ids: list[uuid.UUID] = []
    for index in range(contact_count):
        contact_id = _id()
        contact_ids.append(contact_id)
        first = FIRST_NAMES[index % len(FIRST_NAMES)]
        last = LAST_NAMES[(index // len(FIRST_NAMES)) % len(LAST_NAMES)]
        addresses = [f"{first}.{last}.{index}@example.com".lower()]
        if index % 5 == 0:
            addresses.append(f"{first[0]}{last}{index}@mail.example".lower())
        phone = None if index % 3 == 2 else f"+452{index % 10_000_000:07}"
        created = start + timedelta(milliseconds=index)
        contacts.add(
            contact_id,
            firm_id,
            first,
            last,
            fold(last),
            fold(first),
            fold(" ".join([first, last, *addresses])),
            phone,
            "NONE",
            1,
            created,
            created,
        )
        for position, address in enumerate(addresses):
            emails.add(firm_id, contact_id, fold(address), address, position)
        values = {
            "firstName": first,
            "lastName": last,
            "email": addresses[0],
            "extraEmails": addresses[1:] or None,
            "phone": phone,
            "portalAccess": "NONE",
        }
        event("contact", contact_id, "contact.created", created, changes_between({}, values))

    links = _Table(
        "account_contacts",
        [
            ("firm_id", "uuid"),
            ("account_id", "uuid"),
            ("contact_id", "uuid"),
            ("description", "text"),
            ("is_commercial", "bool"),
            ("is_operational", "bool"),
            ("linked_at", "timestamptz"),
        ],
    )
    for index, account_id in enumerate(account_ids):
        linked = start + timedelta(seconds=index * 3)
        links.add(firm_id, account_id, contact_ids[2 * index], "CEO", True, True, linked)
        links.add(firm_id, account_id, contact_ids[2 * index + 1], None, False, True, linked)
        if index % 2 == 1:
            shared = contact_ids[2 * ((index + 1) % account_count)]
            links.add(firm_id, account_id, shared, "Board member", False, False, linked)

    tables = [
        firms,
        users,
        client_owners,
        accounts,
        tags,
        team,
        notifications,
        contacts,
        emails,
        links,
        events,
    ]
    seeded = Seeded(
        firm_id=firm_id,
        owner_user_id=owner_user_id,
        owner_email=OWNER_EMAIL,
        account_ids=account_ids,
        client_owner_ids=owner_ids,
        detail_account_id=account_ids[1],
        counts={table.name: len(table) for table in tables},
    )
    return seeded, tables


def asyncpg_dsn(url: str) -> str:
    """A libpq URL from a SQLAlchemy one (`postgresql+asyncpg://…`)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _insert(url: str, firm_id: uuid.UUID, tables: list[_Table]) -> None:
    """`tables` in one transaction as the firm, then VACUUM ANALYZE: the statistics, and the
    visibility map that lets a count read an index alone, as autovacuum keeps them on a
    database in use."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        async with connection.transaction():
            await connection.execute("SELECT set_config('app.firm_id', $1, true)", str(firm_id))
            for table in tables:
                await table.insert(connection)
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


async def seed(url: str, scale: float = 1.0) -> Seeded:
    """Insert the firm into the migrated database at `url` (the tables' owner), then VACUUM
    ANALYZE."""
    seeded, tables = build(scale)
    await _insert(url, seeded.firm_id, tables)
    return seeded


async def add_transfer_lanes(
    url: str, seeded: Seeded, prefix: str, lanes: int, accounts: int
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """`lanes` pairs of new client owners, the first of each owning `accounts` new accounts
    (named to sort after the seeded ones, so that the dashboard's page stays the same): the
    owners `transferClients` moves whole books between. `prefix` keeps names and numbers
    unique across runs."""
    owners, books = _owners_table(), _accounts_table()
    now = datetime.now(UTC)
    pairs = []
    for lane in range(lanes):
        pair = (_id(), _id())
        pairs.append(pair)
        for side, owner_id in zip("AB", pair, strict=True):
            name = f"Zz Transfer {prefix} {lane:03} {side}"
            owners.add(owner_id, seeded.firm_id, name, fold(name), None, now)
        for index in range(accounts):
            name = f"Zz Transfer {prefix} {lane:03} account {index:03}"
            number = f"T{prefix}-{lane:03}-{index:03}"
            books.add(
                _id(), seeded.firm_id, name, fold(name), number, fold(number), "COMPANY",
                "ACTIVE", pair[0], 1, now, now,
            )  # fmt: skip
    await _insert(url, seeded.firm_id, [owners, books])
    return pairs


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("url", help="the migrated database, as its owner")
    arguments.add_argument("--scale", type=float, default=1.0, help="1 = 10,000 accounts")
    options = arguments.parse_args()
    started = time.perf_counter()
    seeded = asyncio.run(seed(options.url, options.scale))
    elapsed = time.perf_counter() - started
    print(
        _json(
            {
                "firmId": str(seeded.firm_id),
                "ownerEmail": seeded.owner_email,
                "seconds": round(elapsed, 2),
                "rows": seeded.counts,
            }
        )
    )


if __name__ == "__main__":
    main()
