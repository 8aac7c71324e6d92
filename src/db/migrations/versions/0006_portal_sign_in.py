"""portal sign-in: contacts' invitations, credentials and last sign-in

- `portal_invitations`: one-time links to the client portal (a SHA-256 of the secret only),
  spent when accepted, void when replaced or revoked, dead after their expiry;
- `portal_credentials`: a contact's sign-in address and argon2id password hash; an address
  signs in to at most one contact of a firm;
- `contacts.last_login_at`: when the contact last signed in to the portal.

On PostgreSQL both new tables get the row-level security of 0003. Two requests arrive before
their firm is known, and each learns it from a SECURITY DEFINER function that answers firm
ids and nothing else (as 0004's `outbox_queued_firms`): accepting an invitation
(`portal_invitation_firm`, by the invitation's id inside the token) and signing in
(`portal_sign_in_firms`, by the folded e-mail address). The request then reads the row itself
in a transaction set to that firm. EXECUTE is revoked from PUBLIC; `clientgraph migrate`
grants it to the app role.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 23:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIRM_SETTING = "nullif(current_setting('app.firm_id', true), '')::uuid"
NEW_TABLES = ("portal_invitations", "portal_credentials")

INVITATION_FIRM = """
CREATE FUNCTION portal_invitation_firm(invitation uuid) RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
    previous text := coalesce(current_setting('app.all_firms', true), '');
    found uuid;
BEGIN
    PERFORM set_config('app.all_firms', 'on', true);
    SELECT pending.firm_id INTO found FROM public.portal_invitations AS pending
    WHERE pending.id = invitation;
    PERFORM set_config('app.all_firms', previous, true);
    RETURN found;
END
$$
"""
SIGN_IN_FIRMS = """
CREATE FUNCTION portal_sign_in_firms(address text) RETURNS TABLE (firm_id uuid)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
    previous text := coalesce(current_setting('app.all_firms', true), '');
BEGIN
    PERFORM set_config('app.all_firms', 'on', true);
    RETURN QUERY
        SELECT DISTINCT credential.firm_id FROM public.portal_credentials AS credential
        WHERE credential.email_folded = address;
    PERFORM set_config('app.all_firms', previous, true);
END
$$
"""
FUNCTIONS = ("portal_invitation_firm(uuid)", "portal_sign_in_firms(text)")


def _folded() -> sa.Text:
    return sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


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
        "portal_invitations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("invited_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["firm_id", "contact_id"],
            ["contacts.firm_id", "contacts.id"],
            name=op.f("fk_portal_invitations_firm_id_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_invitations")),
        sa.UniqueConstraint("firm_id", "id", name=op.f("uq_portal_invitations_firm_id_id")),
    )
    op.create_index(
        "ix_portal_invitations_firm_id_contact_id",
        "portal_invitations",
        ["firm_id", "contact_id"],
    )
    op.create_table(
        "portal_credentials",
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("email_folded", _folded(), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id", "contact_id"],
            ["contacts.firm_id", "contacts.id"],
            name=op.f("fk_portal_credentials_firm_id_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("firm_id", "contact_id", name=op.f("pk_portal_credentials")),
        sa.UniqueConstraint("id", name=op.f("uq_portal_credentials_id")),
        sa.UniqueConstraint(
            "firm_id", "email_folded", name=op.f("uq_portal_credentials_firm_id_email_folded")
        ),
    )
    op.create_index("ix_portal_credentials_email_folded", "portal_credentials", ["email_folded"])
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_login_at", sa.DateTime(timezone=True)))
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in NEW_TABLES:
        _protect(table)
    op.execute(INVITATION_FIRM)
    op.execute(SIGN_IN_FIRMS)
    for function in FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for function in FUNCTIONS:
            op.execute(f"DROP FUNCTION {function}")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("last_login_at")
    op.drop_index("ix_portal_credentials_email_folded", table_name="portal_credentials")
    op.drop_table("portal_credentials")
    op.drop_index("ix_portal_invitations_firm_id_contact_id", table_name="portal_invitations")
    op.drop_table("portal_invitations")
