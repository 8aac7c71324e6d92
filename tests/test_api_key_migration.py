"""Migration 0002 on both databases: keys made before API keys were principals keep working,
with the permissions of the user they acted as, capped to STAFF rights (a list, never a role);
and the models match the migrated schema."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from clientgraph.app import create_app
from clientgraph.db.engine import Database
from clientgraph.db.migrate import upgrade
from clientgraph.db.models import Base
from sqlalchemy.engine import Connection

from tests.conftest import DATABASE_URLS
from tests.support import EVERY_PERMISSION, settings_for

UUID, JSON, TEXT, FLAG, TIME = sa.Uuid(), sa.JSON(), sa.String(), sa.Boolean(), sa.DateTime(True)


def _table(table_name: str, /, **columns: Any) -> sa.TableClause:
    return sa.table(table_name, *(sa.column(column, kind) for column, kind in columns.items()))


# The tables as revision 0001 made them.
FIRMS = _table("firms", id=UUID, name=TEXT, client_ownership_enabled=FLAG, created_at=TIME)
USERS = _table(
    "users",
    id=UUID,
    firm_id=UUID,
    name=TEXT,
    name_folded=TEXT,
    email=TEXT,
    email_folded=TEXT,
    role=TEXT,
    permissions=JSON,
    is_active=FLAG,
    created_at=TIME,
)
API_KEYS = _table(
    "api_keys", id=UUID, firm_id=UUID, user_id=UUID, name=TEXT, secret_hash=TEXT, created_at=TIME
)

VIEWER = "{ viewer { user { name } permissions apiKey { name createdBy { name } } } }"


@pytest.fixture(params=list(DATABASE_URLS))
async def at_0001(request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    """A database of its own, migrated only as far as revision 0001."""
    async with DATABASE_URLS[request.param](revision="0001") as url:
        db = Database(url)
        yield db
        await db.dispose()


class OldFirm:
    """A firm written with the 0001 schema: users, and keys that act as one of them."""

    def __init__(self) -> None:
        self.id = uuid.uuid4()
        self.rows: list[tuple[sa.TableClause, dict[str, Any]]] = [
            (FIRMS, {"id": self.id, "name": "Old Firm", "client_ownership_enabled": False})
        ]

    def user(self, name: str, role: str, *permissions: str) -> uuid.UUID:
        user_id, email = uuid.uuid4(), f"{uuid.uuid4().hex[:8]}@example.com"
        values = {"id": user_id, "firm_id": self.id, "name": name, "name_folded": name.casefold()}
        values |= {"email": email, "email_folded": email, "role": role}
        values |= {"permissions": list(permissions), "is_active": True}
        self.rows.append((USERS, values))
        return user_id

    def key(self, user_id: uuid.UUID, name: str) -> str:
        key_id, secret = uuid.uuid4(), uuid.uuid4().hex
        secret_hash = hashlib.sha256(secret.encode()).hexdigest()
        values = {"id": key_id, "firm_id": self.id, "user_id": user_id, "name": name}
        self.rows.append((API_KEYS, values | {"secret_hash": secret_hash}))
        return f"cgk_{key_id.hex}_{secret}"

    async def write(self, db: Database) -> None:
        now = datetime.now(UTC)
        async with db.engine.begin() as connection:
            for table, values in self.rows:
                await connection.execute(table.insert().values(created_at=now, **values))


ADDED_SINCE_0002 = ("READ_AUDIT_FEED",)
"""Rights made after 0002 wrote each old key's rights out: an old key does not gain them."""

PROMOTE = """mutation {
  updateFirmSettings(input: {clientOwnershipEnabled: true}) { userErrors { code } }
}"""


async def _run(db: Database, key: str, document: str) -> dict[str, Any]:
    """The body of one request with `key`, to an app on `db`."""
    transport = httpx.ASGITransport(app=create_app(settings_for(db.url), db))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.post(
            "/graphql", json={"query": document}, headers={"Authorization": f"Bearer {key}"}
        )
    assert response.status_code == 200, response.text
    return response.json()


async def test_keys_made_before_0002_keep_their_users_rights_capped_to_staff(
    at_0001: Database,
) -> None:
    firm = OldFirm()
    staff = firm.user("Sam Staff", "STAFF", "VIEW_ASSIGNED_ACCOUNTS", "CREATE_ACCOUNTS", "GONE")
    admin = firm.user("Ada Admin", "ADMIN")
    staff_key, admin_key = firm.key(staff, "Staff feed"), firm.key(admin, "Admin feed")
    await firm.write(at_0001)

    await asyncio.to_thread(upgrade, at_0001.url)

    staff_view = await _run(at_0001, staff_key, VIEWER)
    admin_view = await _run(at_0001, admin_key, VIEWER)
    admin_promotes = await _run(at_0001, admin_key, PROMOTE)
    assert staff_view["data"]["viewer"] == {
        "user": {"name": "Sam Staff"},
        "permissions": ["VIEW_ASSIGNED_ACCOUNTS", "CREATE_ACCOUNTS"],
        "apiKey": {"name": "Staff feed", "createdBy": {"name": "Sam Staff"}},
    }
    assert admin_view["data"]["viewer"] == {
        "user": {"name": "Ada Admin"},
        "permissions": [right for right in EVERY_PERMISSION if right not in ADDED_SINCE_0002],
        "apiKey": {"name": "Admin feed", "createdBy": {"name": "Ada Admin"}},
    }
    assert [error["extensions"]["code"] for error in admin_promotes["errors"]] == ["FORBIDDEN"]


def _differences(connection: Connection) -> list[Any]:
    return compare_metadata(MigrationContext.configure(connection), Base.metadata)


async def test_the_models_match_the_migrated_schema(database: Database) -> None:
    async with database.engine.connect() as connection:
        assert await connection.run_sync(_differences) == []
