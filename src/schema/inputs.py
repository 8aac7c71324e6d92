"""Input types: the filter and order of `accounts`, and one input per mutation. Each filter
or order input has one adapter here to what the resolvers take (`account_filter`, …), which
every path that reads the input calls: the generic resolvers, the planner (over
`graphql_core.python_arguments`), the live feed and the CSV export."""

from __future__ import annotations

from datetime import datetime

import strawberry
from clientgraph.resolvers.accounts import AccountFilter, AccountOrder
from clientgraph.resolvers.audit_feed import AuditEventFilter
from clientgraph.resolvers.contacts import ContactFilter
from clientgraph.schema.enums import (
    AccountOrderField,
    AccountStatus,
    AccountType,
    ContactRole,
    CustomFieldEntity,
    CustomFieldType,
    OrderDirection,
    Permission,
    UserRole,
)

UPDATED_SINCE = (
    "Changed at or after this time (`updatedAt >= updatedSince`): for a periodic refresh, ask "
    "again from a little before the newest `updatedAt` you have; `auditEvents` never misses "
    "a change."
)


@strawberry.input(name="AccountFilter")
class AccountFilterInput:
    search: str | None = strawberry.field(
        default=None,
        description="Case-insensitive; matches name, customer number, a linked contact's "
        "name or email.",
    )
    owner_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Owned by any of these address-book entries."
    )
    owned_by_me: bool | None = strawberry.field(
        default=None, description="Owned by the caller's address-book entry (null: false)."
    )
    unowned: bool | None = strawberry.field(
        default=None, description="Without a client owner (null: false)."
    )
    assigned_to_me: bool | None = strawberry.field(
        default=None, description="The caller is on the team or owns the account (null: false)."
    )
    status: list[AccountStatus] | None = strawberry.field(
        default=None, description="Default [ACTIVE]; [] means any status."
    )
    types: list[AccountType] | None = None
    tags: list[str] | None = strawberry.field(default=None, description="All must be present.")
    updated_since: datetime | None = strawberry.field(default=None, description=UPDATED_SINCE)


def account_filter(given: AccountFilterInput | None) -> AccountFilter:
    if given is None:
        return AccountFilter()
    return AccountFilter.given(
        search=given.search,
        owner_ids=given.owner_ids,
        owned_by_me=given.owned_by_me,
        unowned=given.unowned,
        assigned_to_me=given.assigned_to_me,
        status=given.status,
        types=given.types,
        tags=given.tags,
        updated_since=given.updated_since,
    )


@strawberry.input(name="AccountOrder")
class AccountOrderInput:
    field: AccountOrderField
    direction: OrderDirection = OrderDirection.ASC


def account_order(given: AccountOrderInput | None) -> AccountOrder:
    if given is None:
        return AccountOrder()
    return AccountOrder.given(given.field, given.direction)


DRY_RUN = (
    "Check and report what would move (the payload's counts and `preview`), with the same "
    "rights and userErrors as the real run, and write nothing."
)


@strawberry.input
class UpdateFirmSettingsInput:
    client_ownership_enabled: bool | None = strawberry.UNSET
    customer_number_min_length: int | None = strawberry.UNSET
    customer_number_max_length: int | None = strawberry.UNSET


@strawberry.input
class CreateUserInput:
    name: str
    email: str
    role: UserRole = UserRole.STAFF
    permissions: list[Permission] = strawberry.field(default_factory=list)


@strawberry.input
class UpdateUserInput:
    user_id: strawberry.ID
    name: str | None = strawberry.UNSET
    role: UserRole | None = strawberry.UNSET
    permissions: list[Permission] | None = strawberry.UNSET
    is_active: bool | None = strawberry.UNSET


@strawberry.input
class DeleteUserInput:
    user_id: strawberry.ID
    transfer_clients_to: strawberry.ID | None = strawberry.field(
        default=None,
        description="The address-book entry that takes over the user's clients; "
        "without it they become unowned.",
    )
    dry_run: bool = strawberry.field(default=False, description=DRY_RUN)


@strawberry.input
class AddClientOwnerInput:
    user_id: strawberry.ID | None = None
    name: str | None = strawberry.field(
        default=None,
        description="An owner by name only; a name (or email) matching a user links that user.",
    )


@strawberry.input
class AssignClientOwnerInput:
    account_id: strawberry.ID
    owner_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="Required; null clears the owner."
    )


@strawberry.input
class TransferClientsInput:
    from_owner_id: strawberry.ID
    to_owner_id: strawberry.ID
    account_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Only these accounts; all of the owner's when absent."
    )
    dry_run: bool = strawberry.field(default=False, description=DRY_RUN)


@strawberry.input
class RemoveClientOwnerInput:
    owner_id: strawberry.ID
    transfer_clients_to: strawberry.ID | None = None


@strawberry.input(description="A new contact's details.")
class NewContactInput:
    first_name: str
    last_name: str
    email: str | None = strawberry.field(default=None, description="The primary email.")
    extra_emails: list[str] = strawberry.field(default_factory=list)
    phone: str | None = strawberry.field(
        default=None, description='As typed, e.g. "20 12 34 56"; stored in E.164.'
    )
    phone_country: str | None = strawberry.field(
        default=None, description="ISO country code for the phone, e.g. DK."
    )


@strawberry.input(description="A contact of a new account: an existing one or a new one.")
class AccountContactInput:
    contact_id: strawberry.ID | None = None
    new_contact: NewContactInput | None = None
    roles: list[ContactRole] = strawberry.field(
        default_factory=list, description="[] for an ordinary employee of the client."
    )
    description: str | None = None


@strawberry.input
class CreateAccountInput:
    name: str
    customer_number: str | None = None
    type: AccountType = AccountType.COMPANY
    owner_id: strawberry.ID | None = strawberry.field(
        default=None, description="Required while client ownership is enabled."
    )
    tags: list[str] = strawberry.field(default_factory=list)
    contacts: list[AccountContactInput] = strawberry.field(
        default_factory=list, description="Existing or new contacts, with their roles here."
    )


@strawberry.input
class UpdateAccountInput:
    account_id: strawberry.ID
    expected_version: int | None = strawberry.field(
        default=None, description="When given and different from the account's: STALE_VERSION."
    )
    name: str | None = strawberry.UNSET
    customer_number: str | None = strawberry.UNSET
    type: AccountType | None = strawberry.UNSET
    tags: list[str] | None = strawberry.UNSET


@strawberry.input(description="A link to make when creating a contact.")
class ContactLinkInput:
    account_id: strawberry.ID
    roles: list[ContactRole] = strawberry.field(default_factory=list)
    description: str | None = None


@strawberry.input
class CreateContactInput:
    first_name: str
    last_name: str
    email: str | None = None
    extra_emails: list[str] = strawberry.field(default_factory=list)
    phone: str | None = None
    phone_country: str | None = None
    links: list[ContactLinkInput] = strawberry.field(default_factory=list)


@strawberry.input
class UpdateContactInput:
    contact_id: strawberry.ID
    expected_version: int | None = None
    first_name: str | None = strawberry.UNSET
    last_name: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    extra_emails: list[str] | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    phone_country: str | None = strawberry.UNSET


@strawberry.input
class DeleteContactInput:
    contact_id: strawberry.ID


@strawberry.input
class LinkContactInput:
    account_id: strawberry.ID
    contact_id: strawberry.ID
    roles: list[ContactRole] = strawberry.field(default_factory=list)
    description: str | None = None


@strawberry.input
class UpdateAccountContactInput:
    account_id: strawberry.ID
    contact_id: strawberry.ID
    roles: list[ContactRole] | None = strawberry.field(
        default=strawberry.UNSET, description="Changing roles needs EDIT_CLIENT_USER_RIGHTS."
    )
    description: str | None = strawberry.UNSET


@strawberry.input
class UnlinkContactInput:
    account_id: strawberry.ID
    contact_id: strawberry.ID


@strawberry.input
class InviteContactInput:
    contact_id: strawberry.ID
    email: str | None = strawberry.field(
        default=None,
        description="One of the contact's emails to send the invitation to; the primary one "
        "when omitted. The contact signs in to the portal with it.",
    )


@strawberry.input
class RevokePortalAccessInput:
    contact_id: strawberry.ID


@strawberry.input
class DeactivateAccountInput:
    account_id: strawberry.ID


@strawberry.input
class ReactivateAccountInput:
    account_id: strawberry.ID


@strawberry.input
class DeleteAccountInput:
    account_id: strawberry.ID


@strawberry.input
class AssignTeamMemberInput:
    account_id: strawberry.ID
    user_id: strawberry.ID


@strawberry.input
class UnassignTeamMemberInput:
    account_id: strawberry.ID
    user_id: strawberry.ID


@strawberry.input
class DefineCustomFieldInput:
    entity: CustomFieldEntity
    key: str = strawberry.field(description="a-z, 0-9 and _, starting with a letter.")
    label: str
    type: CustomFieldType
    options: list[str] = strawberry.field(
        default_factory=list, description="The choices of a SELECT field."
    )


@strawberry.input
class CustomFieldValueInput:
    key: str
    value: str | None = strawberry.field(description="null clears the value.")


@strawberry.input
class SetCustomFieldValuesInput:
    account_id: strawberry.ID | None = None
    contact_id: strawberry.ID | None = None
    values: list[CustomFieldValueInput] = strawberry.field(default_factory=list)


@strawberry.input
class MarkNotificationsReadInput:
    ids: list[strawberry.ID]


@strawberry.input(name="AuditEventFilter")
class AuditEventFilterInput:
    since: datetime | None = strawberry.field(
        default=None, description="Only events that occurred at or after this time."
    )
    actions: list[str] | None = strawberry.field(
        default=None, description="Only these actions, e.g. `account.created` (at most 50)."
    )
    subject_types: list[str] | None = strawberry.field(
        default=None,
        description="Only events about these kinds of object: account, contact, client_owner, "
        "user, api_key, webhook, email_delivery, firm (at most 50).",
    )


def audit_event_filter(given: AuditEventFilterInput | None) -> AuditEventFilter:
    if given is None:
        return AuditEventFilter()
    return AuditEventFilter(given.since, given.actions, given.subject_types)


@strawberry.input(name="ContactFilter")
class ContactFilterInput:
    search: str | None = strawberry.field(
        default=None, description="Case-insensitive; matches names and emails."
    )
    account_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only the contacts linked to this account."
    )
    updated_since: datetime | None = strawberry.field(default=None, description=UPDATED_SINCE)


def contact_filter(given: ContactFilterInput | None) -> ContactFilter:
    if given is None:
        return ContactFilter()
    return ContactFilter(given.search, given.account_id, given.updated_since)


@strawberry.input
class CreateApiKeyInput:
    name: str = strawberry.field(description="What the key is for, e.g. the partner's name.")
    permissions: list[Permission] = strawberry.field(
        description="Exactly what the key may do; each one a right you hold yourself."
    )
    expires_at: datetime | None = strawberry.field(
        default=None, description="When the key stops working; null for never."
    )
    user_id: strawberry.ID | None = strawberry.field(
        default=None,
        deprecation_reason=(
            "A key acts as nobody but itself; give it `permissions`. Refused unless it names you."
        ),
    )


@strawberry.input
class RevokeApiKeyInput:
    api_key_id: strawberry.ID


@strawberry.input
class RetryEmailDeliveryInput:
    delivery_id: strawberry.ID


@strawberry.input
class ChangePasswordInput:
    current_password: str
    new_password: str = strawberry.field(description="At least 12 characters, at most 256.")


@strawberry.input
class ResetUserPasswordInput:
    user_id: strawberry.ID
