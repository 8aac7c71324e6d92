"""Why a user can or cannot see and edit an account (issue 16 point 8), for administrators
reviewing rights. The answer comes from the predicates that enforce access (`policy`): the
target user becomes a Viewer exactly as their token would make them, and the account is read
through `visible_accounts` and `editable_accounts` for that Viewer; the reasons name the
`Reach` those predicates are built from."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from clientgraph.auth.viewer import Viewer, user_viewer
from clientgraph.db import models
from clientgraph.db.queries import on_team_of, owned_through
from clientgraph.ids import decode_id
from clientgraph.resolvers.context import Context
from clientgraph.resolvers.policy import (
    Reach,
    edit_reach,
    editable_accounts,
    require_admin,
    view_reach,
    visible_accounts,
)
from sqlalchemy import Row, and_, select

REASONS = 3
"""At most: the role and rights, why they may (not) see, why they may (not) edit."""


@dataclass(frozen=True, slots=True)
class AccessExplanation:
    can_view: bool
    can_edit: bool
    reasons: list[str]


@dataclass(frozen=True, slots=True)
class _Facts:
    account_name: str
    can_view: bool
    can_edit: bool
    on_team: bool
    owns: bool


async def explain_access(
    ctx: Context, *, account_id: str, user_id: str
) -> AccessExplanation | None:
    """None when the account or the user is not one of the firm's (or was deleted)."""
    require_admin(ctx.viewer)
    account_uuid = decode_id(account_id, "Account")
    user_uuid = decode_id(user_id, "User")
    if account_uuid is None or user_uuid is None:
        return None
    user = await _live_user(ctx, user_uuid)
    if user is None:
        return None
    target = user_viewer(user.id, user.firm_id, user.name, user.role, user.permissions)
    facts = await _facts(ctx, target, account_uuid)
    if facts is None:
        return None
    if not user.is_active:
        reason = f"{user.name} is deactivated: their tokens and keys no longer work."
        return AccessExplanation(can_view=False, can_edit=False, reasons=[reason])
    return AccessExplanation(
        can_view=facts.can_view, can_edit=facts.can_edit, reasons=_reasons(target, facts)
    )


async def _live_user(ctx: Context, user_uuid: uuid.UUID) -> Row[Any] | None:
    user = models.User
    rows = await ctx.rows(
        select(user.id, user.firm_id, user.name, user.role, user.permissions, user.is_active).where(
            user.id == user_uuid, user.firm_id == ctx.viewer.firm_id, user.deleted_at.is_(None)
        )
    )
    return rows[0] if rows else None


async def _facts(ctx: Context, target: Viewer, account_uuid: uuid.UUID) -> _Facts | None:
    """The account as `target` would reach it, read through the caller's own visibility."""
    account = models.Account
    visible = visible_accounts(target)
    rows = await ctx.rows(
        select(
            account.name,
            visible.label("can_view"),
            and_(visible, editable_accounts(target)).label("can_edit"),
            on_team_of(target.user_id).label("on_team"),
            owned_through(target.user_id).label("owns"),
        ).where(visible_accounts(ctx.viewer), account.id == account_uuid)
    )
    if not rows:
        return None
    name, can_view, can_edit, on_team, owns = rows[0]
    return _Facts(name, bool(can_view), bool(can_edit), bool(on_team), bool(owns))


def _reasons(target: Viewer, facts: _Facts) -> list[str]:
    if target.is_admin:
        role = f"Role {target.role.value}: an owner or administrator holds every right."
    else:
        held = ", ".join(permission.value for permission in target.permissions) or "none"
        role = f"Role STAFF: holds exactly the rights granted to them ({held})."
    reasons = [role]
    reasons.append(_reach_reason("see", view_reach(target), facts))
    editing = edit_reach(target)
    edit = _reach_reason("edit", editing, facts)
    assigned = facts.on_team or facts.owns
    if not facts.can_view and (editing.everywhere or (editing.right is not None and assigned)):
        edit += " But an account they cannot see, they cannot edit."
    reasons.append(edit)
    return reasons


def _reach_reason(verb: str, reach: Reach, facts: _Facts) -> str:
    name = facts.account_name
    if reach.right is None:
        rights = (
            "VIEW_ALL_ACCOUNTS nor VIEW_ASSIGNED_ACCOUNTS"
            if verb == "see"
            else "EDIT_ALL_ACCOUNTS nor EDIT_ASSIGNED_ACCOUNTS"
        )
        return f"May not {verb} {name}: holds neither {rights}."
    if reach.everywhere:
        return f"May {verb} {name} through {reach.right.value}: every account of the firm."
    ways = [
        way
        for way, holds in (("a team member", facts.on_team), ("its client owner", facts.owns))
        if holds
    ]
    if ways:
        return (
            f"May {verb} {name} through {reach.right.value}: it is assigned to them as "
            f"{' and as '.join(ways)}."
        )
    return (
        f"May not {verb} {name}: {reach.right.value} reaches only assigned accounts, and they "
        "are neither on its team nor its client owner."
    )
