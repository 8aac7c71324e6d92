"""Mutation payloads: the changed objects, and `userErrors` for what the caller can fix."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry
from clientgraph.resolvers import errors
from clientgraph.schema.enums import UserErrorCode
from clientgraph.schema.previews import ClientMovePreview
from clientgraph.schema.types import (
    Account,
    AccountContact,
    ApiKey,
    ClientOwner,
    Contact,
    CustomFieldDefinition,
    EmailDelivery,
    FirmSettings,
    Notification,
    User,
)

T = TypeVar("T")
PayloadT = TypeVar("PayloadT")


@strawberry.type(description="A problem with the input that the caller can fix.")
class UserError:
    field: list[str] | None = strawberry.field(description="Path to the input field, if any.")
    code: UserErrorCode
    message: str


def _user_errors(failure: errors.UserErrors) -> list[UserError]:
    return [
        UserError(field=error.field, code=UserErrorCode(error.code), message=error.message)
        for error in failure.errors
    ]


async def respond(
    payload_type: Callable[..., PayloadT],
    outcome: Awaitable[T],
    fields: Callable[[T], dict[str, Any]],
) -> PayloadT:
    """The payload of a finished mutation, or one holding its user errors."""
    try:
        result = await outcome
    except errors.UserErrors as failure:
        return payload_type(user_errors=_user_errors(failure))
    return payload_type(**fields(result))


@strawberry.type
class UpdateFirmSettingsPayload:
    settings: FirmSettings | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CreateUserPayload:
    user: User | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class UpdateUserPayload:
    user: User | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeleteUserPayload:
    deleted_user_id: strawberry.ID | None = strawberry.field(
        default=None, description="null after a dry run: nobody was deleted."
    )
    transferred_count: int | None = None
    unassigned_count: int | None = None
    team_count: int | None = strawberry.field(
        default=None, description="How many account teams the user left (would leave)."
    )
    preview: ClientMovePreview | None = strawberry.field(
        default=None, description="With dryRun: what would move. null otherwise."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class AddClientOwnerPayload:
    client_owner: ClientOwner | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class AssignClientOwnerPayload:
    account: Account | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class TransferClientsPayload:
    transferred_count: int | None = None
    accounts: list[Account] | None = None
    preview: ClientMovePreview | None = strawberry.field(
        default=None, description="With dryRun: what would move. null otherwise."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RemoveClientOwnerPayload:
    removed_owner_id: strawberry.ID | None = None
    transferred_count: int | None = None
    unassigned_count: int | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CreateAccountPayload:
    account: Account | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class UpdateAccountPayload:
    account: Account | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeactivateAccountPayload:
    account: Account | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ReactivateAccountPayload:
    account: Account | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeleteAccountPayload:
    deleted_account_id: strawberry.ID | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class AssignTeamMemberPayload:
    account: Account | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class UnassignTeamMemberPayload:
    account: Account | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CreateContactPayload:
    contact: Contact | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class UpdateContactPayload:
    contact: Contact | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeleteContactPayload:
    deleted_contact_id: strawberry.ID | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class LinkContactPayload:
    account_contact: AccountContact | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class UpdateAccountContactPayload:
    account_contact: AccountContact | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class UnlinkContactPayload:
    account: Account | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class InviteContactPayload:
    contact: Contact | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RevokePortalAccessPayload:
    contact: Contact | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DefineCustomFieldPayload:
    definition: CustomFieldDefinition | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SetCustomFieldValuesPayload:
    account: Account | None = None
    contact: Contact | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class MarkNotificationsReadPayload:
    notifications: list[Notification] | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CreateApiKeyPayload:
    api_key: ApiKey | None = None
    key: str | None = strawberry.field(
        default=None, description="The bearer token; shown this once and never again."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RevokeApiKeyPayload:
    api_key: ApiKey | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RetryEmailDeliveryPayload:
    delivery: EmailDelivery | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ChangePasswordPayload:
    user: User | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ResetUserPasswordPayload:
    user: User | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
