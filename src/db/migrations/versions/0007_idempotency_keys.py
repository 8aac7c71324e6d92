"""idempotency keys: a caller's `Idempotency-Key` on a mutation and the answer it replays

One row per firm, principal (`user:<id>` or `key:<id>`) and key: the request's hash, its
state (IN_PROGRESS while the mutation runs, DONE with the answer's status and body), when it
was made and when it expires. The primary key is what a claim's INSERT conflicts on, so two
requests with one key never both run. On PostgreSQL the table gets the row-level security of
0003.

Revision ID: 0007_idempotency_keys
Revises: 0006
Create Date: 2026-12-06 08:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_idempotency_keys"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIRM_SETTING = "nullif(current_setting('app.firm_id', true), '')::uuid"
TABLE = "idempotency_keys"


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


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        sa.Column("principal", sa.String(length=80), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_idempotency_keys_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("firm_id", "principal", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index("ix_idempotency_keys_firm_id_expires_at", TABLE, ["firm_id", "expires_at"])
    if op.get_bind().dialect.name == "postgresql":
        _protect(TABLE)


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_firm_id_expires_at", table_name=TABLE)
    op.drop_table(TABLE)
