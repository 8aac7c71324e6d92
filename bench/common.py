"""Shared setup for the benchmarks: a throwaway SQLite database (or BENCH_DATABASE_URL) with
a firm of N accounts, each with an owner, tags, a team member and a contact."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from pathlib import Path

import httpx
from clientgraph.app import create_app
from clientgraph.auth import issue_token
from clientgraph.db import models
from clientgraph.db.engine import Database
from clientgraph.db.migrate import upgrade
from clientgraph.db.queries import fold
from clientgraph.resolvers.firms import create_firm
from clientgraph.settings import Settings
from sqlalchemy import text

SECRET = "bench-secret-0123456789abcdef0123456789"
DASHBOARD = """
query($first: Int!) {
  accounts(first: $first) {
    totalCount
    nodes {
      name customerNumber
      owner { name user { email } }
      tags
      teamMembers { name }
      contacts { roles contact { fullName email } }
    }
  }
}
"""


def database_url() -> str:
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        return url
    directory = tempfile.mkdtemp(prefix="clientgraph-bench-")
    return f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"


async def seed_firm(db: Database, accounts: int) -> tuple[uuid.UUID, uuid.UUID]:
    """A new firm of `accounts` accounts on a migrated database: (firm id, admin user id)."""
    firm_id, admin_id = await create_firm(
        db,
        name=f"Bench {uuid.uuid4().hex[:6]}",
        admin_email="bench@example.com",
        admin_name="Bench Admin",
    )

    async def seed(session) -> None:  # type: ignore[no-untyped-def]
        owner = models.ClientOwner(
            firm_id=firm_id, name="Bench Admin", name_folded="bench admin", user_id=admin_id
        )
        session.add(owner)
        await session.flush()
        for index in range(accounts):
            account = models.Account(
                id=uuid.uuid4(),
                firm_id=firm_id,
                name=f"Account {index:05}",
                name_folded=f"account {index:05}",
                customer_number=str(10000 + index),
                customer_number_folded=str(10000 + index),
                type="COMPANY",
                owner_id=owner.id,
            )
            contact = models.Contact(
                id=uuid.uuid4(),
                firm_id=firm_id,
                first_name="Ann",
                last_name=f"Person {index}",
                first_name_folded="ann",
                last_name_folded=fold(f"Person {index}"),
                search_folded=f"ann person {index}",
            )
            session.add_all([account, contact])
            await session.flush()
            session.add_all(
                [
                    models.AccountTag(firm_id=firm_id, account_id=account.id, tag="vip"),
                    models.AccountTeamMember(
                        firm_id=firm_id, account_id=account.id, user_id=admin_id
                    ),
                    models.ContactEmail(
                        firm_id=firm_id,
                        contact_id=contact.id,
                        email=f"ann{index}@example.com",
                        email_folded=f"ann{index}@example.com",
                        position=0,
                    ),
                    models.AccountContact(
                        firm_id=firm_id,
                        account_id=account.id,
                        contact_id=contact.id,
                        is_commercial=True,
                    ),
                ]
            )

    await db.write(seed, firm_id=firm_id)
    if db.dialect == "postgresql":
        async with db.engine.connect() as connection:
            await connection.execute(text("ANALYZE"))
    return firm_id, admin_id


async def seeded_client(url: str, accounts: int) -> tuple[httpx.AsyncClient, Database, str]:
    """An HTTP client on the app, the database, and an admin token for a seeded firm."""
    await asyncio.to_thread(upgrade, url)
    db = Database(url, pool_size=20)
    firm_id, admin_id = await seed_firm(db, accounts)
    # A benchmark measures the server, not the per-caller budget that would throttle its one token.
    settings = Settings(database_url=url, secret=SECRET, rate_limit_nodes_per_minute=10**12)
    app = create_app(settings, db)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
    token = issue_token(SECRET, user_id=admin_id, firm_id=firm_id, ttl_seconds=3600)
    return client, db, token
