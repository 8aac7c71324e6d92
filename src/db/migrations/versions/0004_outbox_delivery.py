"""outbox delivery: each outbox row keeps its delivery state

An outbox row is QUEUED until the relay sends it (SENT, `delivered_at`) or gives up after its
attempts (FAILED, with `last_error`). `attempts` counts the tries so far, `next_attempt_at` is
when the row is next due (backoff after a failure, or the lease of the relay sending it), and
`last_attempt_at` when it was last tried. Rows written before this revision are QUEUED and due.

A partial index holds only the queued rows, by firm and due time: the relay's per-firm claim
reads it, and so does its look across firms, which stays cheap as sent rows pile up.

On PostgreSQL the relay runs as the app role, which row-level security binds to one firm per
transaction. To learn which firms have mail due, it calls `outbox_queued_firms`: a function
owned by the tables' owner (SECURITY DEFINER, reading through the owner's `operator_read`
policy of 0003, whose setting it switches on for its own query and back off before it returns:
a function-level `SET app.all_firms` would need a superuser) that returns firm ids and nothing
else. The relay then claims, renders and
marks each firm's rows in transactions set to that firm, like any request. EXECUTE is revoked
from PUBLIC; `clientgraph migrate` grants it to the app role.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUED_FIRMS = """
CREATE FUNCTION outbox_queued_firms(
    kinds text[], due_before timestamptz, created_after timestamptz
) RETURNS TABLE (firm_id uuid)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
    previous text := coalesce(current_setting('app.all_firms', true), '');
BEGIN
    PERFORM set_config('app.all_firms', 'on', true);
    RETURN QUERY
        SELECT DISTINCT event.firm_id FROM public.outbox_events AS event
        WHERE event.status = 'QUEUED' AND event.kind = ANY(kinds)
          AND event.next_attempt_at <= due_before AND event.created_at > created_after;
    PERFORM set_config('app.all_firms', previous, true);
END
$$
"""
QUEUED_FIRMS_SIGNATURE = "outbox_queued_firms(text[], timestamptz, timestamptz)"


def upgrade() -> None:
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=20), server_default="QUEUED", nullable=False)
        )
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column(
                "next_attempt_at",
                sa.DateTime(timezone=True),
                server_default=sa.text("CURRENT_TIMESTAMP"),
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("last_attempt_at", sa.DateTime(timezone=True)))
        batch_op.add_column(sa.Column("last_error", sa.Text()))
        batch_op.create_index(
            "ix_outbox_events_firm_id_next_attempt_at_queued",
            ["firm_id", "next_attempt_at"],
            unique=False,
            sqlite_where=sa.text("status = 'QUEUED'"),
            postgresql_where=sa.text("status = 'QUEUED'"),
        )
        batch_op.create_index(
            "ix_outbox_events_firm_id_status_created_at",
            ["firm_id", "status", "created_at"],
            unique=False,
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(QUEUED_FIRMS)
        op.execute(f"REVOKE ALL ON FUNCTION {QUEUED_FIRMS_SIGNATURE} FROM PUBLIC")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION {QUEUED_FIRMS_SIGNATURE}")
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_events_firm_id_status_created_at")
        batch_op.drop_index("ix_outbox_events_firm_id_next_attempt_at_queued")
        batch_op.drop_column("last_error")
        batch_op.drop_column("last_attempt_at")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("attempts")
        batch_op.drop_column("status")
