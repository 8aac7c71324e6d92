"""The `clientgraph` command of API.md §2, run as a user runs it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from clientgraph.db.engine import Database

from tests.support import APP_ROLE, SECRET, Api, new_firm, owner_url

CLIENTGRAPH = str(Path(sys.executable).with_name("clientgraph"))


async def run_cli(db: Database, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": owner_url(db),
        "CLIENTGRAPH_APP_ROLE": APP_ROLE,
        "CLIENTGRAPH_SECRET": SECRET,
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
    assert set(created) == {"firmId", "userId", "token"}
    async with new_firm(database) as api:
        body = await api.data(
            "{ viewer { user { name role } firm { name } } }", token=created["token"]
        )
    assert body["viewer"] == {
        "user": {"name": "Anna Hansen", "role": "OWNER"},
        "firm": {"name": "Hansen & Co"},
    }


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


async def test_migrate_on_an_up_to_date_database_succeeds(database: Database) -> None:
    result = await run_cli(database, "migrate")

    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout


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
