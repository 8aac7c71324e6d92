"""row-level security: a second wall between firms on PostgreSQL

Every tenant table (every table with `firm_id`, and `firms` by its id) shows a transaction only
the rows of the firm in the setting `app.firm_id`, and accepts only rows of that firm. `FORCE`
binds the tables' owner too. A transaction without the setting sees nothing. Two narrower
policies, for reading only:

- `api_key_lookup`: the one row of `api_keys` named by `app.api_key_id`, so a request can find
  its key (and through it its firm) before it knows the firm;
- `operator_read`: for the role that runs this migration (the tables' owner, which could switch
  row-level security off anyway) every row when it sets `app.all_firms` to `on`, for operator
  commands that search every firm (`clientgraph token EMAIL`). The app role never matches it.

SQLite has no row-level security: nothing happens there.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-29 21:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIRM_SETTING = "nullif(current_setting('app.firm_id', true), '')::uuid"
TENANT_TABLES = (
    "users",
    "client_owners",
    "accounts",
    "account_tags",
    "account_team_members",
    "contacts",
    "contact_emails",
    "account_contacts",
    "audit_events",
    "notifications",
    "outbox_events",
    "custom_field_definitions",
    "custom_field_values",
    "api_keys",
)
"""Tables whose rows belong to the firm in their `firm_id`; `firms` is keyed by `id`."""


def _protect(table: str, firm_column: str) -> None:
    same_firm = f"{firm_column} = {FIRM_SETTING}"
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
    if op.get_bind().dialect.name != "postgresql":
        return
    _protect("firms", "id")
    for table in TENANT_TABLES:
        _protect(table, "firm_id")
    op.execute(
        "CREATE POLICY api_key_lookup ON api_keys FOR SELECT"
        " USING (id = nullif(current_setting('app.api_key_id', true), '')::uuid)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP POLICY api_key_lookup ON api_keys")
    for table in ("firms", *TENANT_TABLES):
        op.execute(f"DROP POLICY operator_read ON {table}")
        op.execute(f"DROP POLICY firm_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
