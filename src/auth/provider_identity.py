"""The staff user behind an identity someone else has proven: the verified e-mail of an OIDC
identity provider's token, and the firm it names, if any."""

from __future__ import annotations

import uuid

from clientgraph.auth.access_tokens import load_viewer
from clientgraph.auth.token_errors import PROVIDER_TOKEN, Reason
from clientgraph.auth.viewer import Viewer
from clientgraph.db import models, tenancy
from clientgraph.db.queries import fold
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
        where = " in the firm its `firm` claim names" if firm_id is not None else ""
        raise PROVIDER_TOKEN.refused(
            Reason.REVOKED,
            f"names an e-mail that is no active user{where}",
            "ask an administrator of your firm to add you as a user (or to reactivate you)",
        )
    if len(found) > 1:
        raise PROVIDER_TOKEN.refused(
            Reason.MALFORMED,
            "names an e-mail that is a user in several firms, and no firm",
            "have your identity provider name the firm in a `firm` claim",
        )
    user_id, user_firm_id = found[0]
    await tenancy.set_firm(session, user_firm_id)
    return await load_viewer(session, user_id, user_firm_id)
