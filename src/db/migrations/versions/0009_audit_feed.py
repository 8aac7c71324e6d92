"""audit feed: where each event's transaction falls in commit order

- `audit_events.transaction_order`: the writing transaction's id on PostgreSQL, a counter on
  SQLite (see `models.WritingTransaction`); 0 for events recorded before, which the firm-wide
  feed (`auditEvents`) gives first, by time.
  On PostgreSQL the column's default is the writing transaction's id as well.
- an index on (firm_id, transaction_order, occurred_at, id), the feed's order, and one on
  transaction_order alone, for SQLite's next value.

Revision ID: 0009_audit_feed
Revises: 0008_webhooks
Create Date: 2026-12-06 19:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_audit_feed"
down_revision: str | None = "0008_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WRITING_TRANSACTION_POSTGRESQL = "CAST(CAST(pg_current_xact_id() AS TEXT) AS BIGINT)"
"""The column's default on PostgreSQL, so that rows written by other means than the models
(which send `models.WritingTransaction` themselves) are placed in commit order too."""


def upgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(
            sa.Column("transaction_order", sa.BigInteger(), server_default="0", nullable=False)
        )
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "audit_events",
            "transaction_order",
            server_default=sa.text(WRITING_TRANSACTION_POSTGRESQL),
        )
    op.create_index(
        "ix_audit_events_firm_id_transaction_order_occurred_at_id",
        "audit_events",
        ["firm_id", "transaction_order", "occurred_at", "id"],
    )
    op.create_index("ix_audit_events_transaction_order", "audit_events", ["transaction_order"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_transaction_order", table_name="audit_events")
    op.drop_index(
        "ix_audit_events_firm_id_transaction_order_occurred_at_id", table_name="audit_events"
    )
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("transaction_order")
