"""Apply Alembic migrations to a database URL, and on PostgreSQL make the app role."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from clientgraph.db.roles import ensure_app_role
from clientgraph.settings import Settings
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

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


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(Config(str(ALEMBIC_INI)))


@functools.cache
def head_revisions() -> frozenset[str]:
    """The revisions a fully migrated database is at (what `alembic_version` then holds)."""
    return frozenset(_scripts().get_heads())


class UnknownRevision(Exception):
    """The database is at a revision this release has no migration for (a newer release
    migrated it)."""


def upgrade_for_server(settings: Settings) -> None:
    """Migrate as the tables' owner (`DATABASE_URL`) and let the role the server connects as
    (the user of `CLIENTGRAPH_APP_DATABASE_URL`, else `CLIENTGRAPH_APP_ROLE`) use the tables."""
    upgrade(
        settings.database_url,
        app_role=make_url(settings.server_database_url()).username,
        app_role_password=settings.app_role_password,
    )


@dataclass(frozen=True, slots=True)
class Migration:
    """The revisions a database was at before a migration and after it (none: no schema)."""

    before: tuple[str, ...]
    after: tuple[str, ...]

    def describe(self) -> str:
        after = _revisions_text(self.after)
        if not self.before:
            return f"created the schema at {after}"
        if set(self.before) == set(self.after):
            return f"already at {after}"
        return f"{_revisions_text(self.before)} → {after}"


def _revisions_text(revisions: tuple[str, ...]) -> str:
    return ", ".join(sorted(revisions)) or "no revision"


def _heads_of(connection: Connection) -> tuple[str, ...]:
    return tuple(MigrationContext.configure(connection).get_current_heads())


async def _current_revisions(url: str) -> tuple[str, ...]:
    engine = create_async_engine(url, hide_parameters=True)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_heads_of)
    finally:
        await engine.dispose()


def current_revisions(url: str) -> tuple[str, ...]:
    """The revisions the database at `url` is at: none for a database without the schema.
    Blocking."""
    ensure_sqlite_directory(url)
    return asyncio.run(_current_revisions(url))


def migrate_reporting(settings: Settings) -> Migration:
    """`upgrade_for_server`, and the revisions before and after it (for `clientgraph
    migrate`, which says what it did)."""
    before = current_revisions(settings.database_url)
    known = {script.revision for script in _scripts().walk_revisions()}
    unknown = tuple(set(before) - known)
    if unknown:
        newest = _revisions_text(tuple(head_revisions()))
        raise UnknownRevision(
            f"the database is at revision {_revisions_text(unknown)}, which this release of"
            f" clientgraph does not know (its newest is {newest}); a newer release migrated it."
            " Nothing changed."
        )
    upgrade_for_server(settings)
    return Migration(before, current_revisions(settings.database_url))
