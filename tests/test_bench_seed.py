"""The benchmark's seed (bench/seed.py, issue 8 point 6), at a small scale: the promised firm,
rows that follow the app's own rules, and data the API serves as the benchmark reads it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from clientgraph.app import create_app
from clientgraph.auth.access_tokens import issue_token
from clientgraph.db.engine import Database
from clientgraph.db.queries import fold

from bench.operations import reads
from bench.seed import Seeded, seed
from tests.conftest import postgresql_url
from tests.support import SECRET, asyncpg_dsn, settings_for

SCALE = 0.01


@pytest.fixture(scope="module")
async def seeded_db() -> AsyncIterator[tuple[str, Seeded]]:
    async with postgresql_url() as url:
        yield url, await seed(url, SCALE)


async def _rows(url: str, query: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return await connection.fetch(query)
    finally:
        await connection.close()


async def _per_account(url: str, table: str, column: str = "account_id") -> set[int]:
    rows = await _rows(
        url,
        f"SELECT count(x.{column}) AS n FROM accounts a "
        f"LEFT JOIN {table} x ON x.{column} = a.id GROUP BY a.id",
    )
    return {row["n"] for row in rows}


async def test_seed_makes_the_promised_firm_at_a_small_scale(
    seeded_db: tuple[str, Seeded],
) -> None:
    url, seeded = seeded_db
    counts = {
        table: (await _rows(url, f"SELECT count(*) AS n FROM {table}"))[0]["n"]
        for table in ("firms", "accounts", "client_owners", "contacts", "users")
    }
    assert counts == {
        "firms": 1,
        "accounts": 100,
        "client_owners": 20,
        "contacts": 250,
        "users": 11,
    }
    linked_owners = await _rows(
        url, "SELECT count(*) AS n FROM client_owners WHERE user_id IS NOT NULL"
    )
    assert 0 < linked_owners[0]["n"] < 20
    assert await _per_account(url, "account_tags") == {2}
    assert await _per_account(url, "account_team_members") == {2}
    assert await _per_account(url, "account_contacts") == {2, 3}
    assert await _per_account(url, "audit_events", "subject_id") == {3}
    without_email = await _rows(
        url,
        "SELECT count(*) AS n FROM contacts c WHERE NOT EXISTS "
        "(SELECT 1 FROM contact_emails e WHERE e.contact_id = c.id AND e.position = 0)",
    )
    assert without_email[0]["n"] == 0
    assert seeded.counts["accounts"] == 100


async def test_seeded_rows_follow_the_app_rules(seeded_db: tuple[str, Seeded]) -> None:
    url, _ = seeded_db
    for table, pairs in {
        "accounts": [("name", "name_folded"), ("customer_number", "customer_number_folded")],
        "users": [("name", "name_folded"), ("email", "email_folded")],
        "client_owners": [("name", "name_folded")],
        "contacts": [("first_name", "first_name_folded"), ("last_name", "last_name_folded")],
        "contact_emails": [("email", "email_folded")],
    }.items():
        for row in await _rows(url, f"SELECT * FROM {table}"):
            for plain, folded in pairs:
                assert row[folded] == fold(row[plain]), (table, plain, row[plain])
    versions = await _rows(
        url,
        "SELECT a.version, count(e.id) FILTER (WHERE e.action <> 'account.created') AS changes "
        "FROM accounts a JOIN audit_events e ON e.subject_id = a.id GROUP BY a.id",
    )
    assert {row["version"] - row["changes"] for row in versions} == {1}
    for row in await _rows(url, "SELECT id, search_folded FROM contacts"):
        emails = await _rows(
            url,
            f"SELECT email FROM contact_emails WHERE contact_id = '{row['id']}' ORDER BY position",
        )
        assert all(fold(email["email"]) in row["search_folded"] for email in emails)


async def test_seeded_firm_is_read_by_the_benchmark_operations(
    seeded_db: tuple[str, Seeded],
) -> None:
    url, seeded = seeded_db
    settings = settings_for(url)
    db = Database(settings.server_database_url())
    token = issue_token(
        SECRET, user_id=seeded.owner_user_id, firm_id=seeded.firm_id, ttl_seconds=600
    )
    app = create_app(settings, db)
    operations = reads(seeded, None)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench"
        ) as http:
            answers = {
                name: (
                    await http.post(
                        "/graphql", json=ours.body, headers={"Authorization": f"Bearer {token}"}
                    )
                ).json()
                for name, (ours, _) in operations.items()
            }
    finally:
        await db.dispose()
    assert "errors" not in answers["dashboard"], answers["dashboard"]
    page = answers["dashboard"]["data"]["accounts"]
    assert page["totalCount"] == 100
    assert len(page["nodes"]) == 50
    assert all(len(node["tags"]) == 2 and len(node["teamMembers"]) == 2 for node in page["nodes"])
    account = answers["account page"]["data"]["account"]
    assert len(account["contacts"]) == 3
    assert len(account["relatedAccounts"]) == 1
    assert len(account["history"]["nodes"]) == 3
