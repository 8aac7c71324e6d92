"""caller changes: PostgreSQL tells every process when a user or an API key changes

Each server process keeps the callers behind the tokens and keys it has recently seen (the
caller cache, auth/caller_cache.py), so that a request need not read its caller first. It may
keep one only while it hears of every change: triggers send `user:<id>` on the channel
`clientgraph_callers` when a column of `users` that makes a caller (firm, name, role,
permissions, active, deleted) is updated or the row is deleted, and `key:<id>` when a column
of `api_keys` that makes one (firm, creator, permissions, secret, expiry, revocation; not its
last use) is updated or the row is deleted, by the service, the CLI or anyone else.
PostgreSQL sends them when the change commits, and not at all if it rolls back. SQLite has no
notifications; there the cache is off.

Revision ID: 0011_caller_changes
Revises: 0010_contact_email_lookup
Create Date: 2026-12-07 03:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011_caller_changes"
down_revision: str | None = "0010_contact_email_lookup"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTIFY_CALLER_CHANGED = """
CREATE FUNCTION notify_caller_changed() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
BEGIN
    PERFORM pg_notify('clientgraph_callers', TG_ARGV[0] || ':' || OLD.id::text);
    RETURN NULL;
END
$$
"""
TRIGGERS = {
    "users": ("user", "firm_id, name, role, permissions, is_active, deleted_at"),
    "api_keys": (
        "key",
        "firm_id, created_by_id, permissions, secret_hash, expires_at, revoked_at",
    ),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(NOTIFY_CALLER_CHANGED)
    for table, (kind, columns) in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {table}_changed AFTER UPDATE OF {columns} OR DELETE ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION notify_caller_changed('{kind}')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TRIGGERS:
        op.execute(f"DROP TRIGGER {table}_changed ON {table}")
    op.execute("DROP FUNCTION notify_caller_changed()")
