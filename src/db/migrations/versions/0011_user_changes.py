"""user changes: PostgreSQL tells every process when a user's row changes

Each server process keeps the users behind the tokens it has recently seen (the user cache,
auth/user_cache.py), so that a request need not read its caller's row first. It may keep one
only while it hears of every change: a trigger on `users` sends the changed user's id on the
channel `clientgraph_users` whenever a column that makes a caller (firm, name, role,
permissions, active, deleted) is updated, or the row is deleted, by the service, the CLI or
anyone else. PostgreSQL sends it when the change commits, and not at all if it rolls back.
SQLite has no notifications; there the cache is off.

Revision ID: 0011_user_changes
Revises: 0010_contact_email_lookup
Create Date: 2026-12-07 03:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011_user_changes"
down_revision: str | None = "0010_contact_email_lookup"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTIFY_USER_CHANGED = """
CREATE FUNCTION notify_user_changed() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
BEGIN
    PERFORM pg_notify('clientgraph_users', OLD.id::text);
    RETURN NULL;
END
$$
"""
USERS_CHANGED = """
CREATE TRIGGER users_changed
AFTER UPDATE OF firm_id, name, role, permissions, is_active, deleted_at OR DELETE ON users
FOR EACH ROW EXECUTE FUNCTION notify_user_changed()
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(NOTIFY_USER_CHANGED)
        op.execute(USERS_CHANGED)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER users_changed ON users")
        op.execute("DROP FUNCTION notify_user_changed()")
