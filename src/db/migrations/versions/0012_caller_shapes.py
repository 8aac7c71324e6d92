"""caller shapes: what kinds of caller exist, without who they are

A server plans the registered persisted documents at start-up for every kind of caller that
can send them (web/plans_ahead.py): a plan depends on the caller's role and rights, never on
their ids. The app role sees one firm per transaction, so it learns the kinds across firms from
a SECURITY DEFINER function that answers those and nothing else (as 0004's
`outbox_queued_firms`): `caller_shapes(most)`, the distinct (role, user's permissions, key's
permissions) of live callers, a user's with NULL key permissions, the most common first, at
most `most` of them. Live: a user neither deleted nor deactivated; a key neither revoked nor
expired whose creator is live. EXECUTE is revoked from PUBLIC; `clientgraph migrate` grants
it to the app role.

Revision ID: 0012_caller_shapes
Revises: 0011_caller_changes
Create Date: 2026-12-07 06:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_caller_shapes"
down_revision: str | None = "0011_caller_changes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CALLER_SHAPES = """
CREATE FUNCTION caller_shapes(most integer)
RETURNS TABLE (role_name text, user_permissions jsonb, key_permissions jsonb)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
    previous text := coalesce(current_setting('app.all_firms', true), '');
BEGIN
    PERFORM set_config('app.all_firms', 'on', true);
    RETURN QUERY
        SELECT shape.role_name, shape.user_permissions, shape.key_permissions
        FROM (
            SELECT live.role::text AS role_name, live.permissions::jsonb AS user_permissions,
                   NULL::jsonb AS key_permissions
            FROM public.users AS live
            WHERE live.is_active AND live.deleted_at IS NULL
            UNION ALL
            SELECT creator.role::text, creator.permissions::jsonb, api_key.permissions::jsonb
            FROM public.api_keys AS api_key
            JOIN public.users AS creator
              ON creator.firm_id = api_key.firm_id AND creator.id = api_key.created_by_id
            WHERE api_key.revoked_at IS NULL
              AND (api_key.expires_at IS NULL OR api_key.expires_at > now())
              AND creator.is_active AND creator.deleted_at IS NULL
        ) AS shape
        GROUP BY shape.role_name, shape.user_permissions, shape.key_permissions
        ORDER BY count(*) DESC
        LIMIT most;
    PERFORM set_config('app.all_firms', previous, true);
END
$$
"""
FUNCTION = "caller_shapes(integer)"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(CALLER_SHAPES)
    op.execute(f"REVOKE ALL ON FUNCTION {FUNCTION} FROM PUBLIC")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION {FUNCTION}")
