"""user e-mail lookup: a request may find the users with one e-mail before it knows the firm

A sign-in proven by someone else (an OIDC identity provider's verified `email` claim) names a
person, not a firm. Like `api_key_lookup` of 0003, a narrow read-only policy lets a
transaction see the rows of `users` whose folded e-mail equals the setting `app.user_email`,
in every firm, and nothing else; the request then sets the firm it chose and reads on behind
the usual wall. The app role never sees another table's rows this way, nor a user by any
other column.

SQLite has no row-level security: nothing happens there.

Revision ID: 0007
Revises: 0004 (the integrator re-chains it after the other sign-in revisions)
Create Date: 2026-11-29 23:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE POLICY user_email_lookup ON users FOR SELECT"
        " USING (email_folded = nullif(current_setting('app.user_email', true), ''))"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP POLICY user_email_lookup ON users")
