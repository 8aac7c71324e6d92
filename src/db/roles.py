"""The role the server's requests run as on PostgreSQL: it may log in and read and write the
tables' rows, and nothing else. It is no superuser, cannot bypass row-level security, and owns
nothing, so the policies of migration 0003 always bind it."""

from __future__ import annotations

from clientgraph.db.migration_lock import take_migration_lock
from clientgraph.db.models import Base
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

RIGHTS = "SELECT, INSERT, UPDATE, DELETE"
FUNCTIONS = (
    "outbox_queued_firms(text[], timestamptz, timestamptz)",
    "portal_invitation_firm(uuid)",
    "portal_sign_in_firms(text)",
    "caller_shapes(integer)",
)
"""Functions of the migrations the app role may call (EXECUTE is revoked from PUBLIC)."""

_CREATE = """
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = current_setting('clientgraph.app_role'))
    THEN
        EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE',
                       current_setting('clientgraph.app_role'));
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- made meanwhile by a concurrent migration
END $$
"""
_PASSWORD = """
DO $$ BEGIN
    EXECUTE format('ALTER ROLE %I PASSWORD %L', current_setting('clientgraph.app_role'),
                   current_setting('clientgraph.app_role_password'));
END $$
"""
_GRANT = """
DO $$ BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', current_setting('clientgraph.app_role'));
    EXECUTE format('GRANT {rights} ON {tables} TO %I', current_setting('clientgraph.app_role'));
    EXECUTE format('GRANT SELECT ON alembic_version TO %I',
                   current_setting('clientgraph.app_role'));
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {rights} ON TABLES TO %I',
                   current_setting('clientgraph.app_role'));
END $$
"""
_EXECUTE = """
DO $$ BEGIN
    IF to_regprocedure('{function}') IS NOT NULL THEN
        EXECUTE format('GRANT EXECUTE ON FUNCTION {function} TO %I',
                       current_setting('clientgraph.app_role'));
    END IF;
END $$
"""
_EXISTING_TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
"""The models' tables a database at an older revision lacks are granted when they are made
(ALTER DEFAULT PRIVILEGES)."""
_CHECK = """
SELECT rolsuper OR rolbypassrls,
       EXISTS (SELECT FROM pg_class
               WHERE relowner = pg_roles.oid AND relkind = 'r' AND relpersistence <> 't')
FROM pg_roles WHERE rolname = :role
"""
"""Whether the role bypasses row-level security or owns a table (whose owner it would not
bind). Its own temporary tables, which live for one transaction of a request (db/scratch_set),
are no tenant tables."""


class UnsafeAppRole(RuntimeError):
    """The app role exists but row-level security would not bind it."""


async def ensure_app_role(url: str, role: str, password: str | None = None) -> None:
    """Create `role` unless it exists, set its password if one is configured, and grant it
    SELECT, INSERT, UPDATE and DELETE on the tables the database has (a database migrated to
    an older revision lacks some) and on tables later migrations create,
    and SELECT on `alembic_version`, so that a readiness check can see the schema's revision,
    and EXECUTE on the migrations' FUNCTIONS.

    Runs as the tables' owner (`DATABASE_URL`), which needs CREATEROLE only while the role does
    not exist yet. Refuses a role that is a superuser, has BYPASSRLS or owns a table."""
    engine = create_async_engine(url, hide_parameters=True)
    try:
        async with engine.begin() as connection:
            await _apply(connection, role, password)
    finally:
        await engine.dispose()


async def _apply(connection: AsyncConnection, role: str, password: str | None) -> None:
    await connection.execute(take_migration_lock())
    await connection.execute(
        text(
            "SELECT set_config('clientgraph.app_role', :role, true),"
            " set_config('clientgraph.app_role_password', :password, true)"
        ),
        {"role": role, "password": password or ""},
    )
    await connection.exec_driver_sql(_CREATE)
    bypasses, owns = (await connection.execute(text(_CHECK), {"role": role})).one()
    if bypasses or owns:
        raise UnsafeAppRole(
            f"the app role {role!r} is a superuser, has BYPASSRLS or owns tables, so row-level "
            "security would not bind it; choose another CLIENTGRAPH_APP_ROLE"
        )
    if password is not None:
        await connection.exec_driver_sql(_PASSWORD)
    existing = set(await connection.scalars(text(_EXISTING_TABLES)))
    tables = ", ".join(
        f'"{table.name}"' for table in Base.metadata.sorted_tables if table.name in existing
    )
    await connection.exec_driver_sql(_GRANT.format(rights=RIGHTS, tables=tables))
    for function in FUNCTIONS:
        await connection.exec_driver_sql(_EXECUTE.format(function=function))
