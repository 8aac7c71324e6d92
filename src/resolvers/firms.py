"""Firm settings."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from clientgraph.db import models
from clientgraph.db.engine import Database
from clientgraph.db.rows import FirmRow
from clientgraph.resolvers import credentials, history
from clientgraph.resolvers.context import Context
from clientgraph.resolvers.enums import UserErrorCode, UserRole
from clientgraph.resolvers.errors import fail
from clientgraph.resolvers.inputs import required_text
from clientgraph.resolvers.policy import require_admin
from clientgraph.resolvers.read_model import FIRMS
from clientgraph.resolvers.users import clean_email, new_user
from clientgraph.resolvers.validation import checking
from sqlalchemy.ext.asyncio import AsyncSession

SETTING_FIELDS = {
    "client_ownership_enabled": "clientOwnershipEnabled",
    "customer_number_min_length": "customerNumberMinLength",
    "customer_number_max_length": "customerNumberMaxLength",
}


def _check_lengths(minimum: int | None, maximum: int | None) -> None:
    with checking() as check:
        for value, name in (
            (minimum, "customerNumberMinLength"),
            (maximum, "customerNumberMaxLength"),
        ):
            if value is not None and not 1 <= value <= 100:
                check.add([name], UserErrorCode.INVALID, f"{name} must be between 1 and 100.")
    if minimum is not None and maximum is not None and minimum > maximum:
        raise fail(
            ["customerNumberMinLength"],
            UserErrorCode.INVALID,
            "customerNumberMinLength may not exceed customerNumberMaxLength.",
        )


def _given_lengths(changes: dict[str, Any]) -> tuple[int | None, int | None]:
    return changes.get("customer_number_min_length"), changes.get("customer_number_max_length")


async def update_firm_settings(ctx: Context, changes: dict[str, Any]) -> FirmRow:
    """Change the given settings (keys of SETTING_FIELDS); absent keys stay as they are."""
    require_admin(ctx.viewer)
    with checking() as check:
        if changes.get("client_ownership_enabled", False) is None:
            check.add(["clientOwnershipEnabled"], UserErrorCode.REQUIRED, "Pass true or false.")
        check(_check_lengths, *_given_lengths(changes))

    async def work(session: AsyncSession) -> None:
        firm = await session.get_one(models.Firm, ctx.viewer.firm_id, with_for_update=True)
        before = {name: getattr(firm, name) for name in SETTING_FIELDS}
        after = before | changes
        _check_lengths(after["customer_number_min_length"], after["customer_number_max_length"])
        diff = history.changes_between(before, after)
        for change in diff:
            setattr(firm, change.field, change.after)
        if diff:
            history.record(
                session,
                ctx.viewer,
                subject_type="firm",
                subject_id=firm.id,
                action="firm.settings_changed",
                changes=[history.Change(SETTING_FIELDS[c.field], c.before, c.after) for c in diff],
            )

    await ctx.write(work)
    firm_row = await ctx.loaders.of(FIRMS).load(ctx.viewer.firm_id)
    assert firm_row is not None
    return firm_row


@dataclass(frozen=True, slots=True)
class NewFirm:
    firm_id: uuid.UUID
    owner_id: uuid.UUID
    owner_link: credentials.IssuedLink
    """The owner's one-time set-password link."""


async def create_firm(
    db: Database, *, name: str, admin_email: str, admin_name: str | None
) -> tuple[uuid.UUID, uuid.UUID]:
    """A new firm with its first user, an OWNER, who has no password yet: (firm id, user id).
    For operators (the CLI) and the demo, not exposed in the graph. Bad input raises
    UserErrors."""
    work = _firm_with_owner(name, admin_email, admin_name)
    firm_id, owner = await db.write(work, firm_id=work.firm_id)
    return firm_id, owner.id


async def create_firm_with_owner_link(
    db: Database, *, name: str, admin_email: str, admin_name: str | None, email_link: bool
) -> NewFirm:
    """`create_firm`, and in the same transaction a one-time set-password link for the owner,
    whose way in it is; e-mailed through the outbox when `email_link`."""
    work = _firm_with_owner(name, admin_email, admin_name)

    async def with_link(session: AsyncSession) -> NewFirm:
        firm_id, owner = await work(session)
        link = credentials.issue_link(session, owner, reason="created", email=email_link)
        return NewFirm(firm_id, owner.id, link)

    return await db.write(with_link, firm_id=work.firm_id)


@dataclass(frozen=True, slots=True)
class _FirmWithOwner:
    """Writes a new firm and its OWNER in the caller's transaction (input checked first)."""

    firm_id: uuid.UUID
    firm_name: str
    email: str
    user_name: str

    async def __call__(self, session: AsyncSession) -> tuple[uuid.UUID, models.User]:
        firm = models.Firm(id=self.firm_id, name=self.firm_name, client_ownership_enabled=False)
        session.add(firm)
        await session.flush()
        user = new_user(firm.id, self.user_name, self.email, UserRole.OWNER, [])
        session.add(user)
        await session.flush()
        return firm.id, user


def _firm_with_owner(name: str, admin_email: str, admin_name: str | None) -> _FirmWithOwner:
    firm_name = required_text(name, ["name"])
    email = clean_email(admin_email, ["adminEmail"])
    user_name = required_text(admin_name or email.split("@")[0], ["adminName"])
    return _FirmWithOwner(models.new_id(), firm_name, email, user_name)
