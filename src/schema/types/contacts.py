"""Contacts, and their links to accounts (`AccountContact`: the links are the contacts'
area, as in `db.models.contacts`)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from clientgraph.db.rows import AccountContactRow, ContactRow
from clientgraph.resolvers.contacts import full_name, role_names
from clientgraph.resolvers.read_model import (
    ACCOUNTS,
    CONTACT_CUSTOM_FIELDS,
    CONTACT_EMAILS,
    CONTACT_LINKS,
    HISTORY,
)
from clientgraph.schema.enums import ContactRole, PortalAccess
from clientgraph.schema.related import related, related_pages
from clientgraph.schema.types.audit import AuditEvent
from clientgraph.schema.types.base import TYPES
from strawberry import relay


@strawberry.type(description="A person at a client.")
class Contact(relay.Node):
    id: relay.NodeID[str]
    first_name: str
    last_name: str
    phone: str | None = strawberry.field(description="E.164, e.g. +4520123456.")
    portal_access: PortalAccess
    row: strawberry.Private[ContactRow]

    @classmethod
    def from_row(cls, row: ContactRow) -> Contact:
        return cls(
            id=str(row.id),
            first_name=row.first_name,
            last_name=row.last_name,
            phone=row.phone,
            portal_access=PortalAccess(row.portal_access),
            row=row,
        )

    @strawberry.field
    def full_name(self) -> str:
        return full_name(self.first_name, self.last_name)

    email = related(CONTACT_EMAILS, "str", many=False, description="The primary email.")
    emails = related(CONTACT_EMAILS, "str", description="The primary email first, then the others.")
    accounts = related(
        CONTACT_LINKS,
        "AccountContact",
        description="The contact's links to the accounts you can see.",
    )

    custom_fields = related(CONTACT_CUSTOM_FIELDS, "CustomFieldValue", module=TYPES)

    history = related_pages(
        HISTORY, AuditEvent, description="Every change to this contact, newest first."
    )

    @strawberry.field(description="+1 on every change; see expectedVersion.")
    def version(self) -> int:
        return self.row.version

    @strawberry.field(description="When the contact last signed in to the client portal.")
    def last_login_at(self) -> datetime | None:
        return self.row.last_login_at


@strawberry.type(description="The link of a contact to an account; its fields belong to it.")
class AccountContact:
    description: str | None
    linked_at: datetime
    row: strawberry.Private[AccountContactRow]

    @classmethod
    def from_row(cls, row: AccountContactRow) -> AccountContact:
        return cls(description=row.description, linked_at=row.linked_at, row=row)

    @strawberry.field(description="[] means an ordinary employee of the client.")
    def roles(self) -> list[ContactRole]:
        return role_names(self.row.is_commercial, self.row.is_operational)

    @strawberry.field
    def contact(self) -> Contact:
        return Contact.from_row(self.row.contact)

    account = related(ACCOUNTS, "Account", via="account_id", required=True, module=TYPES)
