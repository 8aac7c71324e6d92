"""Shared setup for the memory benchmark: a firm of N accounts, each with an owner, tags, a
team member and a contact, written through the app's own models (`make bench` seeds its
larger firm with bulk SQL in bench/seed.py)."""

from __future__ import annotations

import uuid

from clientgraph.db import models
from clientgraph.db.engine import Database
from clientgraph.db.queries import fold
from clientgraph.resolvers.firms import create_firm
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
