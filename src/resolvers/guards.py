"""Loading a row for change: locked, and only if the caller may see (NOT_FOUND otherwise) and
change it (FORBIDDEN otherwise)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from clientgraph.db import models
from clientgraph.resolvers.errors import Forbidden, UserErrors
from clientgraph.resolvers.inputs import not_found
from clientgraph.resolvers.policy import (
    Viewer,
    editable_accounts,
    editable_contacts,
    visible_accounts,
    visible_contacts,
)
from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession


async def _lock(
    session: AsyncSession,
    entity: Any,
    visible: ColumnElement[bool],
    editable: ColumnElement[bool],
    key: uuid.UUID,
    field: list[str],
    noun: str,
) -> Any:
    query = (
        select(entity, editable.label("editable"))
        .where(visible, entity.id == key)
        .with_for_update(of=entity)
    )
    found = (await session.execute(query)).first()
    if found is None:
        raise not_found(field, noun)
    row, may_edit = found
    if not may_edit:
        raise Forbidden(f"You may see this {noun} but not change it.")
    return row


async def lock_editable_account(
    session: AsyncSession, viewer: Viewer, account_id: uuid.UUID, field: list[str]
) -> models.Account:
    return await _lock(
        session,
        models.Account,
        visible_accounts(viewer),
        editable_accounts(viewer),
        account_id,
        field,
        "account",
    )


async def lock_visible_account(
    session: AsyncSession, viewer: Viewer, account_id: uuid.UUID, field: list[str]
) -> models.Account:
    """For changes that need a right of their own (assigning, deleting), not the edit right."""
    return await _lock(
        session,
        models.Account,
        visible_accounts(viewer),
        visible_accounts(viewer),
        account_id,
        field,
        "account",
    )


async def lock_editable_contact(
    session: AsyncSession, viewer: Viewer, contact_id: uuid.UUID, field: list[str]
) -> models.Contact:
    return await _lock(
        session,
        models.Contact,
        visible_contacts(viewer),
        editable_contacts(viewer),
        contact_id,
        field,
        "contact",
    )


async def lock_visible_contact(
    session: AsyncSession, viewer: Viewer, contact_id: uuid.UUID, field: list[str]
) -> models.Contact:
    return await _lock(
        session,
        models.Contact,
        visible_contacts(viewer),
        visible_contacts(viewer),
        contact_id,
        field,
        "contact",
    )


async def flush_unique(
    session: AsyncSession, constraint: str, error: Callable[[], UserErrors]
) -> None:
    """Flush in a savepoint. A concurrent transaction that committed the same unique value
    first makes the flush fail on `constraint` (a fragment of its name or columns): that is the
    user error `error()`, not a 500. A pre-check catches the common case; this, the race."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as failure:
        if constraint in str(failure.orig):
            raise error() from failure
        raise
