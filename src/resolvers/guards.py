"""Loading a row for change: locked, and only if the caller may see (NOT_FOUND otherwise) and
change it (FORBIDDEN otherwise)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from clientgraph.auth.viewer import Viewer
from clientgraph.db import models
from clientgraph.resolvers.errors import Forbidden, UserErrors
from clientgraph.resolvers.inputs import not_found
from clientgraph.resolvers.policy import (
    editable_accounts,
    editable_contacts,
    visible_accounts,
    visible_contacts,
)
from sqlalchemy import ColumnElement, null, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession


async def _lock(
    session: AsyncSession,
    entity: Any,
    visible: ColumnElement[bool],
    editable: ColumnElement[bool] | None,
    key: uuid.UUID,
    field: list[str],
    noun: str,
    also: ColumnElement[Any] | None = None,
) -> tuple[Any, Any]:
    """The row, and the value of `also` (an expression over it) read with it."""
    query = (
        select(
            entity,
            (editable if editable is not None else true()).label("editable"),
            also if also is not None else null(),
        )
        .where(visible, entity.id == key)
        .with_for_update(of=entity)
    )
    found = (await session.execute(query)).first()
    if found is None:
        raise not_found(field, noun)
    row, may_edit, also_value = found
    if not may_edit:
        raise Forbidden(f"You may see this {noun} but not change it.")
    return row, also_value


async def lock_account(
    session: AsyncSession,
    viewer: Viewer,
    account_id: uuid.UUID,
    field: list[str],
    *,
    need_edit: bool = True,
) -> models.Account:
    """`need_edit=False` for changes that need a right of their own (assigning, deleting)."""
    editable = editable_accounts(viewer) if need_edit else None
    account, _ = await _lock(
        session, models.Account, visible_accounts(viewer), editable, account_id, field, "account"
    )
    return account


_OWNER_NAME = (
    select(models.ClientOwner.name)
    .where(
        models.ClientOwner.firm_id == models.Account.firm_id,
        models.ClientOwner.id == models.Account.owner_id,
    )
    .scalar_subquery()
)


async def lock_account_for_owner_change(
    session: AsyncSession, viewer: Viewer, account_id: uuid.UUID, field: list[str]
) -> tuple[models.Account, str | None]:
    """The account as `lock_account` gives it, with its owner's name (None when it has
    none), read in the same statement: what the history of a change of owner says it was."""
    return await _lock(
        session,
        models.Account,
        visible_accounts(viewer),
        editable_accounts(viewer),
        account_id,
        field,
        "account",
        _OWNER_NAME,
    )


async def lock_contact(
    session: AsyncSession,
    viewer: Viewer,
    contact_id: uuid.UUID,
    field: list[str],
    *,
    need_edit: bool = True,
) -> models.Contact:
    editable = editable_contacts(viewer) if need_edit else None
    contact, _ = await _lock(
        session, models.Contact, visible_contacts(viewer), editable, contact_id, field, "contact"
    )
    return contact


async def flush_unique(
    session: AsyncSession, constraint: str, error: Callable[[], UserErrors]
) -> None:
    """Flush. A concurrent transaction that committed the same unique value first makes the
    flush fail on `constraint` (a fragment of its name or columns): that is the user error
    `error()`, not a 500. A mutation that pre-checks (to report the value beside its other
    errors) leaves this the race; `createAccount` leaves it every taken number whose owner was
    accepted. No savepoint: the error ends the mutation, whose transaction is then rolled back
    whole."""
    try:
        await session.flush()
    except IntegrityError as failure:
        if constraint in str(failure.orig):
            raise error() from failure
        raise
