"""webhooks: partners' endpoints, and the response code of each delivery's last attempt

- `webhooks`: a firm's endpoint (URL, description, the event types it hears of) and the
  secrets that sign its deliveries: the current one and, during a rotation, the previous one
  until its grace period ends;
- `outbox_events.last_response_code`: the HTTP status a receiver answered the last attempt
  with. Webhook deliveries are outbox rows of kind `webhook`, relayed as e-mails are.

On PostgreSQL the new table gets the row-level security of 0003.

Revision ID: 0008_webhooks
Revises: 0006
Create Date: 2026-12-06 08:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_webhooks"
down_revision: str | None = "0007_idempotency_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIRM_SETTING = "nullif(current_setting('app.firm_id', true), '')::uuid"


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
        "webhooks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("previous_secret", sa.String(length=100), nullable=True),
        sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.id"], name=op.f("fk_webhooks_firm_id_firms"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
        sa.UniqueConstraint("firm_id", "id", name=op.f("uq_webhooks_firm_id_id")),
    )
    op.create_index("ix_webhooks_firm_id_created_at", "webhooks", ["firm_id", "created_at"])
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_response_code", sa.Integer(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        _protect("webhooks")


def downgrade() -> None:
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_column("last_response_code")
    op.drop_index("ix_webhooks_firm_id_created_at", table_name="webhooks")
    op.drop_table("webhooks")
