"""The client portal's view, the only thing a portal token reads. Types of its own, not
Contact and Account: those carry fields (history, custom fields, other contacts, portal access)
that are the firm's business, not the client's."""

from __future__ import annotations

import strawberry
from clientgraph.db.rows import ContactRow
from clientgraph.ids import encode_id
from clientgraph.resolvers import portal_view
from clientgraph.resolvers.contacts import role_names
from clientgraph.resolvers.portal_view import PortalLinkRow
from clientgraph.resolvers.read_model import CONTACT_EMAILS
from clientgraph.schema.enums import ContactRole
from clientgraph.schema.types import Info


@strawberry.type(description="The signed-in client contact, as they see themselves.")
class PortalContact:
    first_name: str
    last_name: str
    row: strawberry.Private[ContactRow]

    @strawberry.field(description="The primary email first, then the others.")
    async def emails(self, info: Info) -> list[str]:
        return await info.context.loaders.of(CONTACT_EMAILS).load(self.row.id)


@strawberry.type(description="An account of the firm, as its client contact sees it.")
class PortalAccount:
    id: strawberry.ID = strawberry.field(description="The same id staff see for the account.")
    name: str


@strawberry.type(description="The contact's link to one account: their roles and description.")
class PortalAccountLink:
    account: PortalAccount
    description: str | None
    row: strawberry.Private[PortalLinkRow]

    @strawberry.field(description="[] means an ordinary employee of the client.")
    def roles(self) -> list[ContactRole]:
        return role_names(self.row.is_commercial, self.row.is_operational)

    @classmethod
    def from_row(cls, row: PortalLinkRow) -> PortalAccountLink:
        return cls(
            account=PortalAccount(
                id=strawberry.ID(encode_id("Account", row.account_id)), name=row.account_name
            ),
            description=row.description,
            row=row,
        )


@strawberry.type(
    description="What a client signed in to the portal may read: themselves and the firm's "
    "active accounts they are linked to."
)
class Portal:
    @strawberry.field
    async def contact(self, info: Info) -> PortalContact:
        row = await portal_view.portal_contact(info.context)
        return PortalContact(first_name=row.first_name, last_name=row.last_name, row=row)

    @strawberry.field(description="By account name.")
    async def accounts(self, info: Info) -> list[PortalAccountLink]:
        return [
            PortalAccountLink.from_row(row) for row in await portal_view.portal_links(info.context)
        ]


async def portal(info: Info) -> Portal:
    """The `portal` root field: FORBIDDEN to anyone but a portal token's contact."""
    portal_view.portal_contact_id(info.context)
    return Portal()
