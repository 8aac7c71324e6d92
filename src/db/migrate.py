"""Apply Alembic migrations to a database URL, and on PostgreSQL make the app role."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from clientgraph.db.roles import ensure_app_role
from clientgraph.settings import Settings
from sqlalchemy.engine import make_url

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")


def alembic_config(url: str) -> Config:
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def ensure_sqlite_directory(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def upgrade(
    url: str,
    revision: str = "head",
    *,
    app_role: str | None = None,
    app_role_password: str | None = None,
) -> None:
    """Bring the database to `revision` (the newest schema by default) and, on PostgreSQL, let
    `app_role` use it. Blocking: call it from a thread in async code. `url` is the tables'
    owner."""
    ensure_sqlite_directory(url)
    command.upgrade(alembic_config(url), revision)
    if app_role is not None and make_url(url).get_backend_name() == "postgresql":
        asyncio.run(ensure_app_role(url, app_role, app_role_password))


def head_revisions() -> frozenset[str]:
    """The revisions a fully migrated database is at (what `alembic_version` then holds)."""
    config = Config(str(ALEMBIC_INI))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def upgrade_for_server(settings: Settings) -> None:
    """Migrate as the tables' owner (`DATABASE_URL`) and let the role the server connects as
    (the user of `CLIENTGRAPH_APP_DATABASE_URL`, else `CLIENTGRAPH_APP_ROLE`) use the tables."""
    upgrade(
        settings.database_url,
        app_role=make_url(settings.server_database_url()).username,
        app_role_password=settings.app_role_password,
    )
