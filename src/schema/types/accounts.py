"""The firm's clients."""

from __future__ import annotations

from datetime import datetime

import strawberry
from clientgraph.db.rows import AccountRow
from clientgraph.resolvers.read_model import (
    ACCOUNT_CONTACTS,
    ACCOUNT_CUSTOM_FIELDS,
    HISTORY,
    OWNERS,
    RELATED_ACCOUNTS,
    TAGS,
    TEAM_MEMBERS,
)
from clientgraph.schema.enums import AccountStatus, AccountType
from clientgraph.schema.related import related, related_pages
from clientgraph.schema.types.audit import AuditEvent
from clientgraph.schema.types.base import TYPES
from strawberry import relay


@strawberry.type(description="A client of the firm.")
class Account(relay.Node):
    id: relay.NodeID[str]
    name: str
    customer_number: str | None
    type: AccountType
    status: AccountStatus
    version: int = strawberry.field(description="+1 on every change; see expectedVersion.")
    created_at: datetime
    updated_at: datetime
    row: strawberry.Private[AccountRow]

    @classmethod
    def from_row(cls, row: AccountRow) -> Account:
        return cls(
            id=str(row.id),
            name=row.name,
            customer_number=row.customer_number,
            type=AccountType(row.type),
            status=AccountStatus(row.status),
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
            row=row,
        )

    owner = related(
        OWNERS,
        "ClientOwner",
        via="owner_id",
        description="The client owner; null means no owner assigned.",
        module=TYPES,
    )
    team_members = related(
        TEAM_MEMBERS,
        "User",
        description="Users assigned to work on this account.",
        module=TYPES,
    )
    tags = related(TAGS, "str", description="Sorted.")
    contacts = related(
        ACCOUNT_CONTACTS,
        "AccountContact",
        description="Alphabetical by the contact's last, then first name.",
        module=TYPES,
    )

    history = related_pages(
        HISTORY, AuditEvent, description="Every change to this account, newest first."
    )

    related_accounts = related(
        RELATED_ACCOUNTS,
        "Account",
        description="Other accounts you can see that share a contact with this one.",
    )

    custom_fields = related(ACCOUNT_CUSTOM_FIELDS, "CustomFieldValue", module=TYPES)
