"""Mutations of contacts and their links to accounts."""

from __future__ import annotations

from typing import Any

import strawberry
from clientgraph.ids import encode_id
from clientgraph.resolvers import contacts
from clientgraph.resolvers.contacts import CONTACT_FIELDS, LinkSpec
from clientgraph.schema.inputs import (
    CreateContactInput,
    DeleteContactInput,
    LinkContactInput,
    UnlinkContactInput,
    UpdateAccountContactInput,
    UpdateContactInput,
)
from clientgraph.schema.mutations.arguments import given
from clientgraph.schema.payloads import (
    CreateContactPayload,
    DeleteContactPayload,
    LinkContactPayload,
    UnlinkContactPayload,
    UpdateAccountContactPayload,
    UpdateContactPayload,
    respond,
)
from clientgraph.schema.types import Account, AccountContact, Contact, Info


def contact_payload(row: Any) -> dict[str, Any]:
    return {"contact": Contact.from_row(row) if row is not None else None}


def _link(row: Any) -> dict[str, Any]:
    return {"account_contact": AccountContact.from_row(row)}


@strawberry.type
class ContactMutation:
    @strawberry.mutation(description="Create a contact, optionally linked to accounts.")
    async def create_contact(self, info: Info, input: CreateContactInput) -> CreateContactPayload:
        return await respond(
            CreateContactPayload,
            contacts.create_contact(
                info.context,
                values=given(input, *CONTACT_FIELDS),
                links=[
                    LinkSpec(str(link.account_id), link.roles, link.description)
                    for link in input.links
                ],
            ),
            contact_payload,
        )

    @strawberry.mutation(description="Change a contact; omitted fields stay as they are.")
    async def update_contact(self, info: Info, input: UpdateContactInput) -> UpdateContactPayload:
        return await respond(
            UpdateContactPayload,
            contacts.update_contact(
                info.context,
                contact_id=str(input.contact_id),
                expected_version=input.expected_version,
                values=given(input, *CONTACT_FIELDS),
            ),
            contact_payload,
        )

    @strawberry.mutation(description="Delete a contact that is no account's last contact.")
    async def delete_contact(self, info: Info, input: DeleteContactInput) -> DeleteContactPayload:
        return await respond(
            DeleteContactPayload,
            contacts.delete_contact(info.context, contact_id=str(input.contact_id)),
            lambda deleted: {"deleted_contact_id": encode_id("Contact", deleted)},
        )

    @strawberry.mutation(description="Link a contact to an account with roles and a description.")
    async def link_contact(self, info: Info, input: LinkContactInput) -> LinkContactPayload:
        return await respond(
            LinkContactPayload,
            contacts.link_contact(
                info.context,
                account_id=str(input.account_id),
                contact_id=str(input.contact_id),
                roles=input.roles,
                description=input.description,
            ),
            _link,
        )

    @strawberry.mutation(description="Change the roles or description of a link.")
    async def update_account_contact(
        self, info: Info, input: UpdateAccountContactInput
    ) -> UpdateAccountContactPayload:
        return await respond(
            UpdateAccountContactPayload,
            contacts.update_account_contact(
                info.context,
                account_id=str(input.account_id),
                contact_id=str(input.contact_id),
                changes=given(input, "roles", "description"),
            ),
            _link,
        )

    @strawberry.mutation(description="Unlink a contact; an account keeps at least one.")
    async def unlink_contact(self, info: Info, input: UnlinkContactInput) -> UnlinkContactPayload:
        return await respond(
            UnlinkContactPayload,
            contacts.unlink_contact(
                info.context, account_id=str(input.account_id), contact_id=str(input.contact_id)
            ),
            lambda row: {"account": Account.from_row(row) if row is not None else None},
        )
