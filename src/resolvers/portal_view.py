"""What a client contact signed in to the portal reads of themselves: their name and
addresses, and the firm's active accounts they are linked to, with their roles and the
description of each link. Nothing else of the firm is reachable with a portal token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from clientgraph.db import models, orders
from clientgraph.db.queries import select_rows, to_row
from clientgraph.db.rows import ContactRow
from clientgraph.resolvers.context import Context
from clientgraph.resolvers.enums import AccountStatus
from clientgraph.resolvers.errors import Forbidden
from sqlalchemy import select


@dataclass(frozen=True, slots=True)
class PortalLinkRow:
    account_id: uuid.UUID
    account_name: str
    description: str | None
    is_commercial: bool
    is_operational: bool


def portal_contact_id(ctx: Context) -> uuid.UUID:
    """The signed-in contact; FORBIDDEN for staff and API keys, which have no portal."""
    if ctx.viewer.contact_id is None:
        raise Forbidden("Only a client signed in to the portal (a portal token) may read this.")
    return ctx.viewer.contact_id


async def portal_contact(ctx: Context) -> ContactRow:
    contact_id = portal_contact_id(ctx)
    found = await ctx.rows(
        select_rows(ContactRow).where(
            models.Contact.firm_id == ctx.viewer.firm_id, models.Contact.id == contact_id
        )
    )
    if not found:
        raise Forbidden("The contact signed in is gone.")
    return to_row(ContactRow, found[0])


async def portal_links(ctx: Context) -> list[PortalLinkRow]:
    """The contact's links to the firm's active accounts, by account name."""
    contact_id = portal_contact_id(ctx)
    link, account = models.AccountContact, models.Account
    rows = await ctx.rows(
        select(
            account.id,
            account.name,
            link.description,
            link.is_commercial,
            link.is_operational,
        )
        .join(account, (account.firm_id == link.firm_id) & (account.id == link.account_id))
        .where(
            link.firm_id == ctx.viewer.firm_id,
            link.contact_id == contact_id,
            account.status == AccountStatus.ACTIVE.value,
        )
        .order_by(*orders.accounts_by_name().clauses())
        .limit(ctx.lists.account_contacts)
    )
    return [PortalLinkRow(*row) for row in rows]
