"""staff sign-in: passwords, refresh tokens, set-password links

`users.password_hash` (argon2id, null until set). `refresh_tokens`: one row per refresh token
(only its SHA-256), grouped in families (one sign-in), spent when rotated, revoked on logout or
when a spent one is presented again. `password_tokens`: one-time set-password links; the
database keeps no form of a link's secret (the link is the row id signed with the server's
secret).

Row-level security as 0003 gives the firm tables, and three narrow read-only policies for the
lookups a sign-in makes before it knows its firm, each bound to one transaction-local setting
(`clientgraph.db.tenancy`):

- `sign_in_lookup` on `users`: the live users whose folded e-mail is `app.sign_in_email`;
  on `firms`: the firms of those users (their names, for the choice of firm);
- `refresh_token_lookup` on `refresh_tokens`: the row whose hash is `app.refresh_token_hash`;
- `password_token_lookup` on `password_tokens`: the row whose id is `app.password_token_id`.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 23:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIRM_SETTING = "nullif(current_setting('app.firm_id', true), '')::uuid"
SIGN_IN_EMAIL = "nullif(current_setting('app.sign_in_email', true), '')"
NEW_TABLES = ("refresh_tokens", "password_tokens")


def _protect(table: str) -> None:
    same_firm = f"firm_id = {FIRM_SETTING}"
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY firm_isolation ON {table} USING ({same_firm}) WITH CHECK ({same_firm})"
    )
    op.execute(
        f"CREATE POLICY operator_read ON {table} FOR SELECT TO CURRENT_USER"
        " USING (current_setting('app.all_firms', true) = 'on')"
    )


def _firm_columns() -> list[sa.Column]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
    ]


def _user_key(table: str) -> list[sa.Constraint]:
    return [
        sa.ForeignKeyConstraint(
            ["firm_id", "user_id"],
            ["users.firm_id", "users.id"],
            name=op.f(f"fk_{table}_firm_id_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("firm_id", "id", name=op.f(f"uq_{table}_firm_id_id")),
    ]


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password_hash", sa.String(length=200), nullable=True))
    op.create_table(
        "refresh_tokens",
        *_firm_columns(),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("session_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        *_user_key("refresh_tokens"),
        sa.UniqueConstraint("token_hash", name=op.f("uq_refresh_tokens_token_hash")),
    )
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.create_index(
            "ix_refresh_tokens_firm_id_family_id", ["firm_id", "family_id"], unique=False
        )
        batch_op.create_index(
            "ix_refresh_tokens_firm_id_user_id", ["firm_id", "user_id"], unique=False
        )
    op.create_table(
        "password_tokens",
        *_firm_columns(),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        *_user_key("password_tokens"),
    )
    with op.batch_alter_table("password_tokens", schema=None) as batch_op:
        batch_op.create_index(
            "ix_password_tokens_firm_id_user_id", ["firm_id", "user_id"], unique=False
        )
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in NEW_TABLES:
        _protect(table)
    op.execute(
        "CREATE POLICY sign_in_lookup ON users FOR SELECT"
        f" USING (email_folded = {SIGN_IN_EMAIL} AND deleted_at IS NULL)"
    )
    op.execute(
        "CREATE POLICY sign_in_lookup ON firms FOR SELECT USING (id IN ("
        f"SELECT firm_id FROM users WHERE email_folded = {SIGN_IN_EMAIL} AND deleted_at IS NULL))"
    )
    op.execute(
        "CREATE POLICY refresh_token_lookup ON refresh_tokens FOR SELECT"
        " USING (token_hash = nullif(current_setting('app.refresh_token_hash', true), ''))"
    )
    op.execute(
        "CREATE POLICY password_token_lookup ON password_tokens FOR SELECT"
        " USING (id = nullif(current_setting('app.password_token_id', true), '')::uuid)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP POLICY sign_in_lookup ON firms")
        op.execute("DROP POLICY sign_in_lookup ON users")
    op.drop_table("password_tokens")
    op.drop_table("refresh_tokens")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("password_hash")
