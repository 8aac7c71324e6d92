"""How long lists and texts may be: every plain (non-connection) list the API returns, every
list a caller sends, and a search.

The node limit counts each returned list at its maximum before a query runs, so the maximum
must also hold when it runs: loaders return at most this many items, and the mutations that
add to a list refuse to pass it. A list stored longer (before a maximum was lowered) is read
cut at its maximum, in the list's order; nothing stored is removed.

The defaults are what a firm has, not what a database could hold: a page that nests lists
costs their product (50 accounts, times 25 contacts each, times 25 custom fields each), and
the defaults let a dashboard of 50 accounts with its contacts' custom fields, and an account
page with its contacts' other accounts, pass the default node limit (README, "Query cost").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ListLimits:
    related_accounts: int = 50
    """Returned, not stored: the accounts sharing a contact are cut at this many by name."""
    team_members: int = 25
    account_contacts: int = 25
    """Contacts per account, and accounts per contact."""
    contact_emails: int = 10
    """A contact's addresses: the primary one and the extra ones together."""
    tags_per_account: int = 50
    custom_fields: int = 25
    """Definitions per entity (ACCOUNT or CONTACT)."""
    select_options: int = 200
    input_list: int = 250
    search_length: int = 200
    api_keys: int = 100
    """Listed by `apiKeys`, newest first."""
    import_rows: int = 50_000
    """Data rows (records after the header) of one register import."""
    import_bytes: int = 50 * 1024 * 1024
    """Bytes of one register import's upload, refused (413) past this while it streams in."""

    @property
    def audit_changes(self) -> int:
        """Field changes in one audit event: bounded by what one input can change."""
        return self.input_list
