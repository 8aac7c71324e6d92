"""The object types of the graph. Each wraps a row from the read side; nested fields load
through the request's DataLoaders."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

import strawberry
from clientgraph.db.rows import (
    AccountContactRow,
    AccountRow,
    ApiKeyRow,
    AuditEventRow,
    ClientOwnerRow,
    ContactRow,
    CustomFieldDefinitionRow,
    CustomFieldValueRow,
    EmailDeliveryRow,
    FirmRow,
    NotificationRow,
    UserRow,
)
from clientgraph.ids import encode_id
from clientgraph.resolvers import audit_feed, notifications
from clientgraph.resolvers.contacts import full_name, role_names
from clientgraph.resolvers.context import Context
from clientgraph.resolvers.pagination import PageRequest, related_page
from clientgraph.resolvers.policy import effective_permissions, given_permissions
from clientgraph.resolvers.read_model import (
    ACCOUNT_CONTACTS,
    ACCOUNT_CUSTOM_FIELDS,
    ACCOUNTS,
    API_KEYS,
    CONTACT_CUSTOM_FIELDS,
    CONTACT_EMAILS,
    CONTACT_LINKS,
    HISTORY,
    LIVE_USERS,
    NOTIFICATIONS,
    OWNED_ACCOUNTS,
    OWNER_OF_USER,
    OWNERS,
    RELATED_ACCOUNTS,
    TAGS,
    TEAM_MEMBERS,
    USERS,
    unread,
)
from clientgraph.schema.connections import Connection
from clientgraph.schema.enums import (
    AccountStatus,
    AccountType,
    ContactRole,
    CustomFieldEntity,
    CustomFieldType,
    EmailDeliveryStatus,
    Permission,
    PortalAccess,
    UserRole,
)
from clientgraph.schema.related import related
from strawberry import relay
from strawberry.dataloader import DataLoader

Info = strawberry.Info[Context, None]
RowT = TypeVar("RowT")
WrappedT = TypeVar("WrappedT")


async def load_optional(
    loader: DataLoader[uuid.UUID, RowT | None],
    key: uuid.UUID | None,
    wrap: Callable[[RowT], WrappedT],
) -> WrappedT | None:
    """The object a nullable reference points at, if there is one you may see."""
    if key is None:
        return None
    row = await loader.load(key)
    return wrap(row) if row is not None else None


@strawberry.type(description="A custom field the firm defined for accounts or contacts.")
class CustomFieldDefinition:
    entity: CustomFieldEntity
    key: str
    label: str
    type: CustomFieldType
    row: strawberry.Private[CustomFieldDefinitionRow]

    @classmethod
    def from_row(cls, row: CustomFieldDefinitionRow) -> CustomFieldDefinition:
        return cls(
            entity=CustomFieldEntity(row.entity),
            key=row.key,
            label=row.label,
            type=CustomFieldType(row.type),
            row=row,
        )

    @strawberry.field(description="The choices of a SELECT field.")
    def options(self, info: Info) -> list[str]:
        return list(self.row.options[: info.context.lists.select_options])


@strawberry.type(description="A custom field of an account or contact, with its value.")
class CustomFieldValue:
    key: str
    label: str
    type: CustomFieldType
    value: str | None = strawberry.field(
        description="As text: decimals for NUMBER, YYYY-MM-DD for DATE, true/false for BOOLEAN."
    )

    @classmethod
    def from_row(cls, row: CustomFieldValueRow) -> CustomFieldValue:
        return cls(key=row.key, label=row.label, type=CustomFieldType(row.type), value=row.value)


@strawberry.type(description="The firm's settings.")
class FirmSettings:
    client_ownership_enabled: bool
    customer_number_min_length: int | None
    customer_number_max_length: int | None


@strawberry.type(description="A firm: the tenant that keeps accounts.")
class Firm(relay.Node):
    id: relay.NodeID[str]
    name: str
    settings: FirmSettings

    @classmethod
    def from_row(cls, row: FirmRow) -> Firm:
        return cls(
            id=str(row.id),
            name=row.name,
            settings=FirmSettings(
                client_ownership_enabled=row.client_ownership_enabled,
                customer_number_min_length=row.customer_number_min_length,
                customer_number_max_length=row.customer_number_max_length,
            ),
        )


@strawberry.type(description="A member of the firm's staff.")
class User(relay.Node):
    id: relay.NodeID[str]
    name: str
    email: str
    role: UserRole
    is_active: bool
    row: strawberry.Private[UserRow]

    @classmethod
    def from_row(cls, row: UserRow) -> User:
        return cls(
            id=str(row.id),
            name=row.name,
            email=row.email,
            role=UserRole(row.role),
            is_active=row.is_active,
            row=row,
        )

    @strawberry.field(description="Every right the user holds (OWNER and ADMIN hold all).")
    def permissions(self) -> list[Permission]:
        return effective_permissions(self.row.role, self.row.permissions)

    client_owner = related(
        OWNER_OF_USER,
        "ClientOwner",
        description="The user's entry in the address book of client owners.",
    )


@strawberry.type(description="An entry of the address book: a user, or a person by name only.")
class ClientOwner(relay.Node):
    id: relay.NodeID[str]
    name: str
    row: strawberry.Private[ClientOwnerRow]

    @classmethod
    def from_row(cls, row: ClientOwnerRow) -> ClientOwner:
        return cls(id=str(row.id), name=row.name, row=row)

    user = related(
        LIVE_USERS,
        "User",
        via="user_id",
        description="The user behind this entry; null for an owner by name only.",
    )

    @strawberry.field(description="How many accounts you can see that this owner owns.")
    async def account_count(self, info: Info) -> int:
        return await info.context.loaders.count_of(OWNED_ACCOUNTS).load(self.row.id)

    @strawberry.field(description="The accounts this owner owns (any status), by name.")
    async def accounts(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Account]:
        request = PageRequest(first=first, after=after, last=last, before=before)
        page = await related_page(info.context, OWNED_ACCOUNTS, self.row.id, request)
        return Connection.of(page, Account.from_row)


@strawberry.type(description="A change to one field: its value before and after, as text.")
class FieldChange:
    field: str
    from_: str | None = strawberry.field(name="from")
    to: str | None


@strawberry.type(description="One change made by someone, as kept in the history.")
class AuditEvent(relay.Node):
    id: relay.NodeID[str]
    action: str
    occurred_at: datetime
    row: strawberry.Private[AuditEventRow]

    @classmethod
    def from_row(cls, row: AuditEventRow) -> AuditEvent:
        return cls(id=str(row.id), action=row.action, occurred_at=row.occurred_at, row=row)

    @strawberry.field(
        description="What kind of object changed: account, contact, client_owner, user, "
        "api_key, webhook, email_delivery or firm."
    )
    def subject_type(self) -> str:
        return self.row.subject_type

    @strawberry.field(
        description="The id of the object that changed (it may have been deleted since)."
    )
    def subject_id(self) -> strawberry.ID:
        return strawberry.ID(
            encode_id(audit_feed.SUBJECT_TYPES[self.row.subject_type], self.row.subject_id)
        )

    actor = related(
        USERS,
        "User",
        via="actor_id",
        description="Who made the change (for a change made through an API key, its creator); "
        "kept (with their name) if deleted since.",
    )
    api_key = related(
        API_KEYS,
        "ApiKey",
        via="actor_api_key_id",
        description="The API key the change was made through; null if none.",
    )

    @strawberry.field(description="The fields changed, with their values before and after.")
    def changes(self, info: Info) -> list[FieldChange]:
        return [
            FieldChange(field=change["field"], from_=change["from"], to=change["to"])
            for change in self.row.changes[: info.context.lists.audit_changes]
        ]


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

    custom_fields = related(CONTACT_CUSTOM_FIELDS, "CustomFieldValue")

    @strawberry.field(description="Every change to this contact, newest first.")
    async def history(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[AuditEvent]:
        request = PageRequest(first=first, after=after, last=last, before=before)
        page = await related_page(info.context, HISTORY, self.row.id, request)
        return Connection.of(page, AuditEvent.from_row)

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

    account = related(ACCOUNTS, "Account", via="account_id", required=True)


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
    )
    team_members = related(
        TEAM_MEMBERS, "User", description="Users assigned to work on this account."
    )
    tags = related(TAGS, "str", description="Sorted.")
    contacts = related(
        ACCOUNT_CONTACTS,
        "AccountContact",
        description="Alphabetical by the contact's last, then first name.",
    )

    @strawberry.field(description="Every change to this account, newest first.")
    async def history(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[AuditEvent]:
        request = PageRequest(first=first, after=after, last=last, before=before)
        page = await related_page(info.context, HISTORY, self.row.id, request)
        return Connection.of(page, AuditEvent.from_row)

    related_accounts = related(
        RELATED_ACCOUNTS,
        "Account",
        description="Other accounts you can see that share a contact with this one.",
    )

    custom_fields = related(ACCOUNT_CUSTOM_FIELDS, "CustomFieldValue")


@strawberry.type(description="A message to a user, e.g. that they were assigned to an account.")
class Notification(relay.Node):
    id: relay.NodeID[str]
    kind: str = strawberry.field(description="account.assigned or account.unassigned.")
    created_at: datetime
    read_at: datetime | None
    row: strawberry.Private[NotificationRow]

    @classmethod
    def from_row(cls, row: NotificationRow) -> Notification:
        return cls(
            id=str(row.id),
            kind=row.kind,
            created_at=row.created_at,
            read_at=row.read_at,
            row=row,
        )

    @strawberry.field(description="Names the account only if you may see it.")
    async def message(self, info: Info) -> str:
        account = await load_optional(
            info.context.loaders.of(ACCOUNTS), self.row.account_id, lambda row: row
        )
        return notifications.shown(
            self.row.kind, self.row.message, account.name if account else None
        )

    account = related(
        ACCOUNTS,
        "Account",
        via="account_id",
        description="The account it is about, if it still exists for you.",
    )


@strawberry.type(
    description="A partner API key: a principal of its own with exactly its permissions, never "
    "a role. Its secret is shown only when it is made."
)
class ApiKey(relay.Node):
    id: relay.NodeID[str]
    name: str
    created_at: datetime
    expires_at: datetime | None = strawberry.field(description="Null: the key does not expire.")
    last_used_at: datetime | None = strawberry.field(
        description="When the key was last used, to the minute; null if never."
    )
    revoked_at: datetime | None
    row: strawberry.Private[ApiKeyRow]

    @classmethod
    def from_row(cls, row: ApiKeyRow) -> ApiKey:
        return cls(
            id=str(row.id),
            name=row.name,
            created_at=row.created_at,
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
            row=row,
        )

    @strawberry.field(description="What the key was given; it never does more than its creator.")
    def permissions(self) -> list[Permission]:
        return given_permissions(self.row.permissions)

    created_by = related(
        USERS,
        "User",
        via="created_by_id",
        required=True,
        description="The user who made the key; it reaches only their accounts.",
    )
    user = related(
        USERS,
        "User",
        via="created_by_id",
        description="The user who made the key.",
        deprecation_reason="A key acts as nobody; use `createdBy`.",
    )


@strawberry.type(
    description="An e-mail the service sends (a portal invitation, …), and how its delivery "
    "went. Administrators only."
)
class EmailDelivery(relay.Node):
    id: relay.NodeID[str]
    kind: str = strawberry.field(description="What it is, e.g. contact.portal_invitation.")
    recipient: str
    status: EmailDeliveryStatus
    attempts: int = strawberry.field(description="Tries so far; a retry counts afresh.")
    created_at: datetime = strawberry.field(description="When it was queued.")
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None = strawberry.field(
        description="When it is next tried; null unless QUEUED."
    )
    last_error: str | None = strawberry.field(
        description="What the mail server (or the relay) said when the last try failed."
    )
    sent_at: datetime | None

    @classmethod
    def from_row(cls, row: EmailDeliveryRow) -> EmailDelivery:
        return cls(
            id=str(row.id),
            kind=row.kind,
            recipient=row.recipient,
            status=EmailDeliveryStatus(row.status),
            attempts=row.attempts,
            created_at=row.created_at,
            last_attempt_at=row.last_attempt_at,
            next_attempt_at=row.next_attempt_at,
            last_error=row.last_error,
            sent_at=row.delivered_at,
        )


@strawberry.type(description="The calling user, their firm and their rights.")
class Viewer:
    user: User = strawberry.field(description="You; for an API key, the user who made it.")
    firm: Firm
    permissions: list[Permission]
    api_key: ApiKey | None = strawberry.field(
        description="The API key you are calling with; null for a user's token."
    )

    @strawberry.field(description="Your notifications, newest first.")
    async def notifications(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        unread_only: bool | None = None,
    ) -> Connection[Notification]:
        viewer = info.context.viewer
        page = await related_page(
            info.context,
            NOTIFICATIONS,
            viewer.user_id,
            PageRequest(first=first, after=after, last=last, before=before),
            narrow=unread if unread_only else None,
            batched=False,
        )
        return Connection.of(page, Notification.from_row)
