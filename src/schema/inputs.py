"""Input types: the filter and order of `accounts`, and one input per mutation."""

from __future__ import annotations

import strawberry
from clientgraph.schema.enums import (
    AccountOrderField,
    AccountStatus,
    AccountType,
    OrderDirection,
    Permission,
    UserRole,
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
    owned_by_me: bool = strawberry.field(
        default=False, description="Owned by the caller's address-book entry."
    )
    unowned: bool = strawberry.field(default=False, description="Without a client owner.")
    assigned_to_me: bool = strawberry.field(
        default=False, description="The caller is on the team or owns the account."
    )
    status: list[AccountStatus] | None = strawberry.field(
        default=None, description="Default [ACTIVE]; [] means any status."
    )
    types: list[AccountType] | None = None
    tags: list[str] | None = strawberry.field(default=None, description="All must be present.")


@strawberry.input(name="AccountOrder")
class AccountOrderInput:
    field: AccountOrderField
    direction: OrderDirection = OrderDirection.ASC


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


@strawberry.input
class RemoveClientOwnerInput:
    owner_id: strawberry.ID
    transfer_clients_to: strawberry.ID | None = None


@strawberry.input
class CreateAccountInput:
    name: str
    customer_number: str | None = None
    type: AccountType = AccountType.COMPANY
    owner_id: strawberry.ID | None = strawberry.field(
        default=None, description="Required while client ownership is enabled."
    )
    tags: list[str] = strawberry.field(default_factory=list)


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
