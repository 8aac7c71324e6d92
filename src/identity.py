"""The staff user behind an identity someone else has proven: the verified e-mail of an OIDC
identity provider's token, and the firm it names, if any."""

from __future__ import annotations

import uuid

from clientgraph.auth import InvalidToken, load_viewer
from clientgraph.db import models, tenancy
from clientgraph.db.queries import fold
from clientgraph.resolvers.policy import Viewer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession


async def viewer_for_email(session: AsyncSession, email: str, firm_id: uuid.UUID | None) -> Viewer:
    """The active user with `email` (matched as users are everywhere: casefolded) in firm
    `firm_id`, or in the one firm where that e-mail is an active user; from then on `session`
    works for that firm.

    The users are looked up by e-mail before a firm is known: row-level security lets the
    session read the rows of `users` with that one e-mail, in every firm, and nothing else
    (the sign-in lookup of migration 0005), until the firm is set."""
    folded = fold(email.strip())
    session.info.update(tenancy.for_lookup("sign_in_email", folded))
    user = models.User
    query = select(user.id, user.firm_id).where(
        user.email_folded == folded, user.deleted_at.is_(None), user.is_active.is_(True)
    )
    if firm_id is not None:
        query = query.where(user.firm_id == firm_id)
    found = (await session.execute(query.limit(2))).all()
    if not found:
        where = " in the firm of the token's firm claim" if firm_id is not None else ""
        raise InvalidToken(f"no active user has the token's e-mail{where}")
    if len(found) > 1:
        raise InvalidToken(
            "the token's e-mail is a user in several firms; the token must name one in a"
            " 'firm' claim"
        )
    user_id, user_firm_id = found[0]
    await tenancy.set_firm(session, user_firm_id)
    return await load_viewer(session, user_id, user_firm_id)
