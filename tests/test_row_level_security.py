"""Row-level security on PostgreSQL (issue 7, point 10): the second wall between firms, seen
from psql's point of view — plain SQL over asyncpg as the role the server runs as."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest
from clientgraph.db.engine import Database
from clientgraph.db.models import Base
from clientgraph.ids import decode_id

from tests.portal_support import accept, queued_tokens
from tests.support import APP_ROLE, Api, asyncpg_dsn, new_firm, owner_url
from tests.test_bad_input import build_world
from tests.test_sign_in import PASSWORD, give_password

pytestmark = pytest.mark.parametrize("database", ["postgresql"], indirect=True)

TABLES = [table.name for table in Base.metadata.sorted_tables]


def firm_column(table: str) -> str:
    return "firm_id" if "firm_id" in Base.metadata.tables[table].c else "id"


@dataclass(frozen=True)
class TwoFirms:
    a: uuid.UUID
    b: uuid.UUID
    b_api_key: uuid.UUID
    app_dsn: str
    owner_dsn: str


KEPT_RENAME = (
    'mutation($id: ID!) { updateAccount(input: {accountId: $id, name: "Kept"}) '
    "{ userErrors { code } } }"
)
"""A mutation sent with an Idempotency-Key, whose answer is kept (idempotency_keys)."""


async def fill_every_table(api: Api) -> uuid.UUID:
    """Rows of this firm in every table; the id of its API key."""
    world = await build_world(api)
    await api.ok("updateAccount", {"accountId": world["account"], "tags": ["vip"]})
    await api.ok(
        "setCustomFieldValues",
        {"accountId": world["account"], "values": [{"key": "tier", "value": "gold"}]},
    )
    await api.ok(
        "createWebhook", {"url": "https://partner.example/hook", "events": ["account.created"]}
    )
    await api.ok("inviteContact", {"contactId": world["contact"]})
    token = (await queued_tokens(api, world["contact"]))[-1]
    assert (await accept(api, token)).status_code == 204
    email = await give_password(api.db, api.firm_id, api.user_id, PASSWORD)
    signed_in = await api.http.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    kept = await api.http.post(
        "/graphql",
        json={"query": KEPT_RENAME, "variables": {"id": world["account"]}},
        headers={"Authorization": f"Bearer {api.token}", "Idempotency-Key": "fill-1"},
    )
    assert kept.json()["data"]["updateAccount"]["userErrors"] == [], kept.text
    key = decode_id(world["api_key"], "ApiKey")
    assert key is not None
    return key


@pytest.fixture(scope="module")
async def firms(database: Database) -> AsyncIterator[TwoFirms]:
    async with new_firm(database) as a, new_firm(database) as b:
        await fill_every_table(a)
        b_key = await fill_every_table(b)
        yield TwoFirms(
            a.firm_id, b.firm_id, b_key, asyncpg_dsn(database.url), asyncpg_dsn(owner_url(database))
        )


@contextlib.asynccontextmanager
async def connect(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(dsn)
    try:
        yield connection
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def app_transaction(firms: TwoFirms, **settings: str) -> AsyncIterator[asyncpg.Connection]:
    """A transaction as the app role, with `app.<name>` settings set for it alone."""
    async with connect(firms.app_dsn) as connection, connection.transaction():
        for name, value in settings.items():
            await connection.execute("SELECT set_config($1, $2, true)", f"app.{name}", value)
        yield connection


async def rows_per_firm(dsn: str, table: str, firms: TwoFirms) -> tuple[int, int]:
    column = firm_column(table)
    async with connect(dsn) as connection:
        counts = await connection.fetchrow(
            f"SELECT count(*) FILTER (WHERE {column} = $1), count(*) FILTER (WHERE {column} = $2)"
            f" FROM {table}",
            firms.a,
            firms.b,
        )
    return counts[0], counts[1]


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize(
    "settings",
    [{}, {"all_firms": "on"}, {"firm_id": ""}],
    ids=["nothing set", "all_firms set", "firm_id empty"],
)
async def test_a_transaction_without_a_firm_sees_no_rows(
    firms: TwoFirms, table: str, settings: dict[str, str]
) -> None:
    a_rows, b_rows = await rows_per_firm(firms.owner_dsn, table, firms)
    assert a_rows > 0 and b_rows > 0, "the owner, past the wall, sees rows of both firms"

    async with app_transaction(firms, **settings) as connection:
        count = await connection.fetchval(f"SELECT count(*) FROM {table}")

    assert count == 0


@pytest.mark.parametrize("table", TABLES)
async def test_with_firm_a_set_no_row_of_firm_b_is_visible(firms: TwoFirms, table: str) -> None:
    column = firm_column(table)
    async with app_transaction(firms, firm_id=str(firms.a)) as connection:
        seen = await connection.fetch(f"SELECT DISTINCT {column} AS firm FROM {table}")

    assert [row["firm"] for row in seen] == [firms.a]


@pytest.mark.parametrize("table", TABLES)
async def test_with_firm_a_set_rows_of_firm_b_cannot_be_changed(
    firms: TwoFirms, table: str
) -> None:
    column = firm_column(table)
    async with app_transaction(firms, firm_id=str(firms.a)) as connection:
        updated = await connection.execute(
            f"UPDATE {table} SET {column} = {column} WHERE {column} = $1", firms.b
        )
        deleted = await connection.execute(f"DELETE FROM {table} WHERE {column} = $1", firms.b)

    assert (updated, deleted) == ("UPDATE 0", "DELETE 0")
    assert (await rows_per_firm(firms.owner_dsn, table, firms))[1] > 0


@pytest.mark.parametrize("table", TABLES)
async def test_with_firm_a_set_a_row_cannot_be_moved_to_firm_b(firms: TwoFirms, table: str) -> None:
    column = firm_column(table)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        async with app_transaction(firms, firm_id=str(firms.a)) as connection:
            await connection.execute(
                f"UPDATE {table} SET {column} = $1 WHERE {column} = $2", firms.b, firms.a
            )


async def test_with_firm_a_set_a_row_of_firm_b_cannot_be_inserted(firms: TwoFirms) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        async with app_transaction(firms, firm_id=str(firms.a)) as connection:
            await connection.execute(
                "INSERT INTO firms (id, name, client_ownership_enabled, created_at)"
                " VALUES ($1, 'Intruder', false, now())",
                uuid.uuid4(),
            )
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        async with app_transaction(firms, firm_id=str(firms.a)) as connection:
            await connection.execute(
                "INSERT INTO account_tags (firm_id, account_id, tag)"
                " SELECT $1, account_id, 'planted' FROM account_tags LIMIT 1",
                firms.b,
            )


async def test_an_api_key_id_shows_that_key_and_nothing_else(firms: TwoFirms) -> None:
    """How a request finds the firm of an API key before it knows the firm."""
    async with app_transaction(firms, api_key_id=str(firms.b_api_key)) as connection:
        keys = await connection.fetch("SELECT id, firm_id FROM api_keys")
        users = await connection.fetchval("SELECT count(*) FROM users")
        changed = await connection.execute("UPDATE api_keys SET name = 'x'")

    assert [(row["id"], row["firm_id"]) for row in keys] == [(firms.b_api_key, firms.b)]
    assert users == 0
    assert changed == "UPDATE 0"


async def _one_of(firms: TwoFirms, query: str) -> asyncpg.Record:
    async with connect(firms.owner_dsn) as connection:
        found = await connection.fetchrow(query, firms.b)
    assert found is not None
    return found


async def test_a_sign_in_email_shows_its_live_users_and_their_firms_and_nothing_else(
    firms: TwoFirms,
) -> None:
    """How a sign-in finds the users of an e-mail, and their firms' names, before it knows
    the firm."""
    owner = await _one_of(
        firms, "SELECT id, email_folded FROM users WHERE firm_id = $1 AND role = 'OWNER'"
    )
    async with app_transaction(firms, sign_in_email=owner["email_folded"]) as connection:
        users = await connection.fetch("SELECT id FROM users")
        seen_firms = await connection.fetch("SELECT id FROM firms")
        accounts = await connection.fetchval("SELECT count(*) FROM accounts")
        changed = await connection.execute("UPDATE users SET name = 'x'")

    assert [row["id"] for row in users] == [owner["id"]]
    assert [row["id"] for row in seen_firms] == [firms.b]
    assert (accounts, changed) == (0, "UPDATE 0")


@pytest.mark.parametrize(
    ("setting", "table", "column"),
    [
        ("refresh_token_hash", "refresh_tokens", "token_hash"),
        ("password_token_id", "password_tokens", "id"),
    ],
)
async def test_a_token_lookup_shows_that_token_and_nothing_else(
    firms: TwoFirms, setting: str, table: str, column: str
) -> None:
    token = await _one_of(firms, f"SELECT id, {column} AS key FROM {table} WHERE firm_id = $1")
    async with app_transaction(firms, **{setting: str(token["key"])}) as connection:
        rows = await connection.fetch(f"SELECT id FROM {table}")
        users = await connection.fetchval("SELECT count(*) FROM users")
        changed = await connection.execute(f"UPDATE {table} SET firm_id = firm_id")

    assert [row["id"] for row in rows] == [token["id"]]
    assert (users, changed) == (0, "UPDATE 0")


async def test_the_app_role_owns_no_table_and_cannot_bypass_the_wall(firms: TwoFirms) -> None:
    async with connect(firms.app_dsn) as connection:
        role = await connection.fetchrow(
            "SELECT current_user AS name, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb"
            " FROM pg_roles WHERE rolname = current_user"
        )
        owned = await connection.fetchval(
            "SELECT count(*) FROM pg_tables WHERE tableowner = current_user"
        )
        may_create = await connection.fetchval(
            "SELECT has_schema_privilege(current_user, 'public', 'CREATE')"
        )

    assert dict(role) == {
        "name": APP_ROLE,
        "rolsuper": False,
        "rolbypassrls": False,
        "rolcreaterole": False,
        "rolcreatedb": False,
    }
    assert owned == 0
    assert may_create is False


@pytest.mark.parametrize("table", TABLES)
async def test_every_tenant_table_forces_row_level_security(firms: TwoFirms, table: str) -> None:
    async with connect(firms.owner_dsn) as connection:
        flags = await connection.fetchrow(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = $1::regclass",
            table,
        )

    assert tuple(flags) == (True, True)
