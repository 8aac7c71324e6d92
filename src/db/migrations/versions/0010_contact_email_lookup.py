"""contact e-mail look-up: an index from an e-mail to the contacts that have it

- `contact_emails (firm_id, email_folded)`: the register import finds the contacts its file's
  e-mails name with it, a batch at a time, instead of reading every primary e-mail of the firm
  (the primary key leads with the contact, so without it each look-up scanned the firm's
  e-mails).

Revision ID: 0010_contact_email_lookup
Revises: 0009_audit_feed
Create Date: 2026-12-07 00:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010_contact_email_lookup"
down_revision: str | None = "0009_audit_feed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_contact_emails_firm_id_email_folded", "contact_emails", ["firm_id", "email_folded"]
    )


def downgrade() -> None:
    op.drop_index("ix_contact_emails_firm_id_email_folded", table_name="contact_emails")
