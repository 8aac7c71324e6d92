"""The request's read session (issue 13, point 7): work that comes late (a loader that waited
for the session's lock behind the request's last statement) never opens the session again
once the request has closed it, so no connection is taken by a request that has answered."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from clientgraph.auth.viewer import Viewer
from clientgraph.db.engine import Database
from clientgraph.resolvers.context import Context, PageLimits
from clientgraph.resolvers.enums import UserRole
from clientgraph.resolvers.firms import create_firm
from sqlalchemy import literal, select


async def test_a_read_after_the_request_closed_its_session_does_not_open_it_again(
    database: Database,
) -> None:
    firm_id, user_id = await create_firm(
        database,
        name=f"Firm {uuid.uuid4().hex[:8]}",
        admin_email=f"owner-{uuid.uuid4().hex[:8]}@example.com",
        admin_name="Owner",
    )
    viewer = Viewer(user_id, firm_id, "Owner", UserRole.OWNER, frozenset())
    context = Context.open(database, viewer, PageLimits())
    assert await context.scalar(select(literal(1))) == 1
    await context.close()

    with pytest.raises(asyncio.CancelledError):
        await context.scalar(select(literal(2)))

    assert not context.session.in_transaction()
