"""How long lists and texts may be: every plain (non-connection) list the API returns, every
list a caller sends, and a search.

The node limit counts each returned list at its maximum before a query runs, so the maximum
must also hold when it runs: loaders return at most this many items, and the mutations that
add to a list refuse to pass it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ListLimits:
    related_accounts: int = 100
    team_members: int = 100
    account_contacts: int = 250
    """Contacts per account, and accounts per contact."""
    tags_per_account: int = 50
    custom_fields: int = 100
    """Definitions per entity (ACCOUNT or CONTACT)."""
    select_options: int = 200
    input_list: int = 250
    search_length: int = 200
    api_keys: int = 100
    """Listed by `apiKeys`, newest first."""

    @property
    def contact_emails(self) -> int:
        """The primary email and at most one input list of extra ones."""
        return 1 + self.input_list

    @property
    def audit_changes(self) -> int:
        """Field changes in one audit event: bounded by what one input can change."""
        return self.input_list
