"""The `clientgraph` command of API.md §2, run as a user runs it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory
from clientgraph.app import create_app
from clientgraph.db.engine import Database
from clientgraph.db.migrate import ALEMBIC_INI, head_revisions
from clientgraph.demo import seed_demo
from clientgraph.settings import Settings
from sqlalchemy.engine import make_url

from tests.conftest import DATABASE_URLS
from tests.support import APP_ROLE, SECRET, Api, asyncpg_dsn, new_firm, owner_url
from tests.test_outbox_relay import Inbox, inbox
from tests.test_set_password import (
    APP_URL,
    NEW_PASSWORD,
    link_of,
    set_password,
    token_of,
)

__all__ = ["inbox"]
from tests.test_sign_in import login

CLIENTGRAPH = str(Path(sys.executable).with_name("clientgraph"))


async def run_cli(
    db: Database, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The command run by the operator: DATABASE_URL is the owner of `db`'s tables."""
    return await run_cli_as(owner_url(db), *args, env=env)


async def run_cli_as(
    url: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **{name: value for name, value in os.environ.items() if name != "CLIENTGRAPH_SMTP_URL"},
        "DATABASE_URL": url,
        "CLIENTGRAPH_APP_ROLE": APP_ROLE,
        "CLIENTGRAPH_SECRET": SECRET,
        **(env or {}),
    }
    return await asyncio.to_thread(
        subprocess.run, [CLIENTGRAPH, *args], env=env, capture_output=True, text=True, timeout=60
    )


async def test_create_firm_prints_ids_and_a_working_token_for_its_owner(database: Database) -> None:
    email = f"founder-{uuid.uuid4().hex[:8]}@example.com"

    result = await run_cli(
        database,
        "create-firm",
        "Hansen & Co",
        "--admin-email",
        email,
        "--admin-name",
        "Anna Hansen",
    )

    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert set(created) == {"firmId", "userId", "token", "setPasswordUrl"}
    async with new_firm(database) as api:
        body = await api.data(
            "{ viewer { user { name role } firm { name } } }", token=created["token"]
        )
    assert body["viewer"] == {
        "user": {"name": "Anna Hansen", "role": "OWNER"},
        "firm": {"name": "Hansen & Co"},
    }


async def test_create_firm_prints_a_link_with_which_the_owner_sets_a_password_and_signs_in(
    database: Database,
) -> None:
    email = f"founder-{uuid.uuid4().hex[:8]}@example.com"

    result = await run_cli(
        database,
        "create-firm",
        "Hansen & Co",
        "--admin-email",
        email,
        env={"CLIENTGRAPH_APP_URL": APP_URL},
    )

    assert result.returncode == 0, result.stderr
    link = json.loads(result.stdout)["setPasswordUrl"]
    assert link in result.stderr.splitlines()[2]
    assert "Not e-mailed: CLIENTGRAPH_SMTP_URL is not set." in result.stderr
    async with new_firm(database) as api:
        assert (await login(api.http, email, NEW_PASSWORD)).status_code == 401
        assert (await set_password(api.http, token_of(link), NEW_PASSWORD)).status_code == 204
        signed_in = await login(api.http, email, NEW_PASSWORD)
        again = await set_password(api.http, token_of(link), "another new passphrase")
    assert signed_in.status_code == 200, signed_in.text
    assert again.status_code == 400


async def test_create_firm_with_smtp_emails_the_owner_the_printed_link(
    database: Database, inbox: tuple[Inbox, int]
) -> None:
    received, port = inbox
    email = f"founder-{uuid.uuid4().hex[:8]}@example.com"

    result = await run_cli(
        database,
        "create-firm",
        "Hansen & Co",
        "--admin-email",
        email,
        "--admin-name",
        "Anna Hansen",
        env={"CLIENTGRAPH_SMTP_URL": f"smtp://127.0.0.1:{port}", "CLIENTGRAPH_APP_URL": APP_URL},
    )

    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)["setPasswordUrl"]
    [message] = [message for message in received.messages if message["To"] == email]
    assert message["Subject"] == "Hansen & Co: choose your password"
    assert message.get_content().startswith("Hello Anna Hansen,")
    assert link_of(message) == printed
    assert token_of(printed)
    assert "E-mailed to the owner too." in result.stderr


async def test_create_firm_with_a_bad_email_fails_and_creates_nothing(database: Database) -> None:
    result = await run_cli(database, "create-firm", "Nope", "--admin-email", "not an email")

    assert result.returncode != 0
    assert "cannot create the firm" in result.stderr


async def test_token_prints_a_token_for_a_user_by_email(api: Api) -> None:
    email = f"staff-{uuid.uuid4().hex[:8]}@example.com"
    await api.ok("createUser", {"name": "Sam Staff", "email": email, "role": "STAFF"})

    result = await run_cli(api.db, "token", email.upper())

    assert result.returncode == 0, result.stderr
    data = await api.data("{ viewer { user { email } } }", token=result.stdout.strip())
    assert data["viewer"]["user"]["email"] == email


async def test_token_for_an_unknown_email_fails(database: Database) -> None:
    result = await run_cli(database, "token", "nobody@example.com")

    assert result.returncode != 0
    assert "no user with email" in result.stderr


[HEAD] = head_revisions()
PREVIOUS = ScriptDirectory.from_config(Config(str(ALEMBIC_INI))).get_revision(HEAD).down_revision


VERSION_QUERY = sa.text("SELECT version_num FROM alembic_version")


@contextlib.asynccontextmanager
async def empty_database(database: Database) -> AsyncIterator[str]:
    """The URL of a database of its own without any schema, on `database`'s backend."""
    if database.dialect == "sqlite":
        with tempfile.TemporaryDirectory(prefix="clientgraph-test-") as directory:
            yield f"sqlite+aiosqlite:///{Path(directory) / 'fresh.db'}"
        return
    name = f"clientgraph_empty_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(asyncpg_dsn(owner_url(database)))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield (
                make_url(owner_url(database))
                .set(database=name)
                .render_as_string(hide_password=False)
            )
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def test_migrate_on_an_empty_database_says_it_created_the_schema(database: Database) -> None:
    async with empty_database(database) as url:
        result = await run_cli_as(url, "migrate")

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"created the schema at {HEAD}\n"


async def test_migrate_on_an_up_to_date_database_says_it_is_already_there(
    database: Database,
) -> None:
    result = await run_cli(database, "migrate")

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"already at {HEAD}\n"


async def test_migrate_from_the_previous_revision_names_both(database: Database) -> None:
    async with DATABASE_URLS[database.dialect](revision=PREVIOUS) as url:
        result = await run_cli_as(url, "migrate")
        again = await run_cli_as(url, "migrate")

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{PREVIOUS} → {HEAD}\n"
    assert again.stdout == f"already at {HEAD}\n"


async def test_migrate_on_a_database_of_a_newer_release_fails_and_changes_nothing(
    database: Database,
) -> None:
    async with empty_database(database) as url:
        assert (await run_cli_as(url, "migrate")).returncode == 0
        newer = Database(url)
        try:
            async with newer.engine.begin() as connection:
                await connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
            result = await run_cli_as(url, "migrate")
            async with newer.engine.connect() as connection:
                version = await connection.scalar(
                    sa.text("SELECT version_num FROM alembic_version")
                )
        finally:
            await newer.dispose()

    assert result.returncode != 0
    assert "revision 9999, which this release of clientgraph does not know" in result.stderr
    assert "Traceback" not in result.stderr
    assert version == "9999"


async def test_token_takes_the_firm_as_its_graphql_id(api: Api) -> None:
    email = f"staff-{uuid.uuid4().hex[:8]}@example.com"
    await api.ok("createUser", {"name": "Sam Staff", "email": email, "role": "STAFF"})
    firm_id = (await api.data("{ viewer { firm { id } } }"))["viewer"]["firm"]["id"]

    result = await run_cli(api.db, "token", email, "--firm", firm_id)

    assert result.returncode == 0, result.stderr
    data = await api.data("{ viewer { user { email } } }", token=result.stdout.strip())
    assert data["viewer"]["user"]["email"] == email


async def test_token_with_a_firm_that_is_no_id_fails_cleanly(api: Api) -> None:
    result = await run_cli(api.db, "token", "x@example.com", "--firm", "not-an-id")

    assert result.returncode != 0
    assert "neither a firm id" in result.stderr
    assert "Traceback" not in result.stderr


API_KEY_VIEWER = "{ viewer { user { name } permissions apiKey { name expiresAt } } }"


async def test_create_api_key_prints_a_key_holding_the_given_permissions(api: Api) -> None:
    owner = (await api.data("{ viewer { user { email } } }"))["viewer"]["user"]["email"]

    result = await run_cli(
        api.db,
        "create-api-key",
        owner,
        "--name",
        "Nightly export",
        "--permission",
        "VIEW_ALL_ACCOUNTS,CREATE_ACCOUNTS",
        "--permission",
        "ASSIGN_ACCOUNTS",
        "--expires-at",
        "2999-01-01T00:00:00Z",
    )

    assert result.returncode == 0, result.stderr
    data = await api.data(API_KEY_VIEWER, token=result.stdout.strip())
    assert data["viewer"] == {
        "user": {"name": "Firm Owner"},
        "permissions": ["VIEW_ALL_ACCOUNTS", "CREATE_ACCOUNTS", "ASSIGN_ACCOUNTS"],
        "apiKey": {"name": "Nightly export", "expiresAt": "2999-01-01T00:00:00+00:00"},
    }


REFUSED_KEYS = {
    "a-staff-creator": ("STAFF", [], "Only an owner or administrator"),
    "an-unknown-permission": ("ADMIN", ["--permission", "BE_OWNER"], "unknown permission BE_OWNER"),
    "a-past-expiry": ("ADMIN", ["--expires-at", "2020-01-01T00:00:00Z"], "must be in the future"),
}


@pytest.mark.parametrize("case", list(REFUSED_KEYS))
async def test_create_api_key_refuses_and_makes_nothing(api: Api, case: str) -> None:
    role, extra, says = REFUSED_KEYS[case]
    email = f"creator-{uuid.uuid4().hex[:8]}@example.com"
    await api.ok("createUser", {"name": "Creator", "email": email, "role": role})

    result = await run_cli(
        api.db,
        "create-api-key",
        email,
        "--name",
        "Refused",
        "--permission",
        "VIEW_ALL_ACCOUNTS",
        *extra,
    )

    assert result.returncode != 0
    assert says in result.stderr
    assert "Traceback" not in result.stderr
    assert (await api.data("{ apiKeys { id } }"))["apiKeys"] == []


@contextlib.asynccontextmanager
async def database_owned_by_a_plain_role(database: Database) -> AsyncIterator[str]:
    """A new, empty database owned by a role that is no superuser, may not create roles and
    cannot bypass row-level security: its URL."""
    server = make_url(owner_url(database))
    name = f"clientgraph_plain_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(asyncpg_dsn(owner_url(database)))
    try:
        await admin.execute(f"CREATE ROLE {name} LOGIN NOSUPERUSER NOCREATEROLE NOBYPASSRLS")
        await admin.execute(f'CREATE DATABASE "{name}" OWNER {name}')
        try:
            yield server.set(username=name, password=None, database=name).render_as_string(
                hide_password=False
            )
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.execute(f"DROP ROLE IF EXISTS {name}")
    finally:
        await admin.close()


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_operator_commands_work_when_the_owner_is_not_a_superuser(
    database: Database,
) -> None:
    """Row-level security binds the owner too (FORCE): create-firm, token, create-api-key and
    the demo seeding set the firm of their transactions, or (token without --firm, "is the demo
    there yet") read every firm through the owner's own policy. The server then runs as the app
    role in the same database."""
    async with database_owned_by_a_plain_role(database) as url:
        assert (await run_cli_as(url, "migrate")).returncode == 0
        plain = await asyncpg.connect(asyncpg_dsn(url))
        try:
            walled = await plain.fetchval(
                "SELECT relforcerowsecurity AND has_table_privilege($1, oid, 'SELECT, INSERT,"
                " UPDATE, DELETE') FROM pg_class WHERE oid = 'accounts'::regclass",
                APP_ROLE,
            )
        finally:
            await plain.close()
        assert walled, "migrate forces row-level security and lets the app role use the rows"
        created = await run_cli_as(
            url, "create-firm", "Plain & Co", "--admin-email", "plain@example.com"
        )
        assert created.returncode == 0, created.stderr
        firm_id = json.loads(created.stdout)["firmId"]
        by_email = await run_cli_as(url, "token", "plain@example.com")
        by_firm = await run_cli_as(url, "token", "plain@example.com", "--firm", firm_id)
        key = await run_cli_as(
            url,
            "create-api-key",
            "plain@example.com",
            "--name",
            "Export",
            "--permission",
            "VIEW_ALL_ACCOUNTS",
        )
        assert [by_email.stderr, by_firm.stderr, key.stderr] == ["", "", ""]
        owner = Database(url)
        try:
            demo_admins = {await seed_demo(owner), await seed_demo(owner)}
        finally:
            await owner.dispose()
        assert len(demo_admins) == 1

        app = create_app(Settings(database_url=url, secret=SECRET, app_role=APP_ROLE))
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://test") as http,
        ):
            names = []
            for token in (by_email.stdout, by_firm.stdout, key.stdout):
                response = await http.post(
                    "/graphql",
                    json={"query": "{ viewer { firm { name } } }"},
                    headers={"Authorization": f"Bearer {token.strip()}"},
                )
                names.append(response.json()["data"]["viewer"]["firm"]["name"])

    assert names == ["Plain & Co"] * 3
