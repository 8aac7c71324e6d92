"""Staff users of the firm: the list, create, update, delete (with their clients' fate)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from clientgraph.auth.viewer import Viewer
from clientgraph.db import models, orders
from clientgraph.db.queries import fold
from clientgraph.db.relation import Listing
from clientgraph.db.rows import UserRow
from clientgraph.resolvers import credentials, history
from clientgraph.resolvers.context import Context
from clientgraph.resolvers.enums import Permission, UserErrorCode, UserRole
from clientgraph.resolvers.errors import Forbidden, UserErrors, fail
from clientgraph.resolvers.guards import flush_unique
from clientgraph.resolvers.inputs import parse_id, required_text, search_text
from clientgraph.resolvers.owners import (
    OWNER_NOUN,
    Release,
    assignable,
    lock_owners,
    release_owner,
)
from clientgraph.resolvers.pagination import Page, PageRequest, paginate
from clientgraph.resolvers.policy import require_admin
from clientgraph.resolvers.read_model import USERS, live_users
from clientgraph.resolvers.teams import leave_all_teams, live_user
from clientgraph.resolvers.validation import checking
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

USER_NOUN = "user"


@dataclass(frozen=True, slots=True)
class UserDeletion:
    deleted_user_id: uuid.UUID
    release: Release
    team_count: int
    """How many account teams the user left."""


def clean_email(value: str, field: list[str]) -> str:
    """The address normalised by email-validator; bad syntax is INVALID on `field`."""
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise fail(field, UserErrorCode.INVALID, str(error)) from error


def _guard_owner_role(viewer: Viewer, *roles: str | None) -> None:
    """Only an OWNER may create, change or delete an OWNER, or make someone one."""
    if UserRole.OWNER in roles and viewer.role != UserRole.OWNER:
        raise Forbidden("Only an owner of the firm may manage owners.")


def _email_taken() -> UserErrors:
    return fail(["email"], UserErrorCode.TAKEN, "Another user of the firm has this email.")


async def _require_email_free(session: AsyncSession, firm_id: uuid.UUID, email: str) -> None:
    taken = select(models.User.id).where(
        models.User.firm_id == firm_id,
        models.User.email_folded == fold(email),
        models.User.deleted_at.is_(None),
    )
    if (await session.scalars(taken)).first() is not None:
        raise _email_taken()


async def _other_active_owners(session: AsyncSession, user: models.User) -> int:
    query = select(func.count()).where(
        models.User.firm_id == user.firm_id,
        models.User.role == UserRole.OWNER.value,
        models.User.is_active.is_(True),
        models.User.deleted_at.is_(None),
        models.User.id != user.id,
    )
    return int((await session.execute(query)).scalar_one())


def _user_values(user: models.User) -> dict[str, Any]:
    return {
        "name": user.name,
        "email": user.email,
        "role": user.role,
        "permissions": sorted(user.permissions),
        "isActive": user.is_active,
    }


def new_user(
    firm_id: uuid.UUID, name: str, email: str, role: UserRole, permissions: list[Permission]
) -> models.User:
    return models.User(
        id=models.new_id(),
        firm_id=firm_id,
        name=name,
        name_folded=fold(name),
        email=email,
        email_folded=fold(email),
        role=role.value,
        permissions=sorted({permission.value for permission in permissions}),
        is_active=True,
    )


async def create_user(
    ctx: Context,
    *,
    name: str,
    email: str,
    role: UserRole,
    permissions: list[Permission],
    password_hash: str | None = None,
) -> UserRow:
    """A new user, who is e-mailed a one-time link to choose a password; with
    `password_hash` (the demo's staff, whose password README names) the user has that password
    from the start and no link is made or e-mailed."""
    require_admin(ctx.viewer)
    _guard_owner_role(ctx.viewer, role)
    with checking() as check:
        clean_name = check(required_text, name, ["name"])
        clean = check(clean_email, email, ["email"])

    async def work(session: AsyncSession) -> uuid.UUID:
        await _require_email_free(session, ctx.viewer.firm_id, clean)
        user = new_user(ctx.viewer.firm_id, clean_name, clean, role, permissions)
        user.password_hash = password_hash
        session.add(user)
        await flush_unique(session, "email_folded", _email_taken)
        if password_hash is None:
            credentials.issue_link(session, user, reason="created", server_url=ctx.server_url)
        history.record(
            session,
            ctx.viewer,
            subject_type="user",
            subject_id=user.id,
            action="user.created",
            changes=history.changes_between({}, _user_values(user)),
        )
        return user.id

    return await _reload(ctx, await ctx.write(work))


async def _reload(ctx: Context, user_id: uuid.UUID) -> UserRow:
    row = await ctx.loaders.of(USERS).load(user_id)
    assert row is not None
    return row


async def update_user(ctx: Context, *, user_id: str, changes: dict[str, Any]) -> UserRow:
    """Apply the given changes (`name`, `role`, `permissions`, `is_active`)."""
    require_admin(ctx.viewer)
    with checking() as check:
        user_uuid = check(parse_id, user_id, "User", ["userId"], USER_NOUN)
        clean_name = (
            check(required_text, changes["name"] or "", ["name"]) if "name" in changes else None
        )
        for key, field in (
            ("role", "role"),
            ("permissions", "permissions"),
            ("is_active", "isActive"),
        ):
            if key in changes and changes[key] is None:
                check.add([field], UserErrorCode.REQUIRED, f"{field} must not be null.")

    async def work(session: AsyncSession) -> None:
        user = await live_user(session, ctx.viewer.firm_id, user_uuid, lock=True)
        before = _user_values(user)
        _guard_owner_role(ctx.viewer, user.role, changes.get("role"))
        if clean_name is not None:
            user.name, user.name_folded = clean_name, fold(clean_name)
            owners = await session.scalars(
                select(models.ClientOwner).where(
                    models.ClientOwner.firm_id == user.firm_id,
                    models.ClientOwner.user_id == user.id,
                )
            )
            for owner in owners:
                owner.name, owner.name_folded = clean_name, fold(clean_name)
        if "role" in changes:
            user.role = UserRole(changes["role"]).value
        if "permissions" in changes:
            user.permissions = sorted({Permission(p).value for p in changes["permissions"]})
        if "is_active" in changes:
            user.is_active = bool(changes["is_active"])
        losing_ownership = before["role"] == UserRole.OWNER and (
            user.role != UserRole.OWNER or not user.is_active
        )
        if losing_ownership and await _other_active_owners(session, user) == 0:
            field = "role" if user.role != UserRole.OWNER else "isActive"
            raise fail([field], UserErrorCode.INVALID, "The firm must keep an active owner.")
        diff = history.changes_between(before, _user_values(user))
        if diff:
            history.record(
                session,
                ctx.viewer,
                subject_type="user",
                subject_id=user.id,
                action="user.updated",
                changes=diff,
            )

    await ctx.write(work)
    return await _reload(ctx, user_uuid)


async def delete_user(
    ctx: Context, *, user_id: str, transfer_clients_to: str | None, dry_run: bool = False
) -> UserDeletion:
    """Remove a user: out of every team and the address book (their accounts transferred or
    left unowned); the row stays, marked deleted, so history keeps their name. A dry run does
    the same and rolls it back: the same rights, user errors and accounts."""
    require_admin(ctx.viewer)
    with checking() as check:
        user_uuid = check(parse_id, user_id, "User", ["userId"], USER_NOUN)
        target_uuid = (
            check(parse_id, transfer_clients_to, "ClientOwner", ["transferClientsTo"], OWNER_NOUN)
            if transfer_clients_to is not None
            else None
        )
        if user_uuid == ctx.viewer.user_id:
            check.add(["userId"], UserErrorCode.INVALID, "You cannot delete yourself.")

    async def work(session: AsyncSession) -> tuple[Release, int]:
        firm_id = ctx.viewer.firm_id
        user = await live_user(session, firm_id, user_uuid, lock=True)
        entry_id = (
            await session.scalars(
                select(models.ClientOwner.id).where(
                    models.ClientOwner.firm_id == firm_id,
                    models.ClientOwner.user_id == user.id,
                )
            )
        ).first()
        locked = await lock_owners(
            session, firm_id, [i for i in (entry_id, target_uuid) if i is not None]
        )
        _guard_owner_role(ctx.viewer, user.role)
        if user.role == UserRole.OWNER and await _other_active_owners(session, user) == 0:
            raise fail(["userId"], UserErrorCode.INVALID, "The firm must keep an active owner.")
        target = None
        if target_uuid is not None:
            target = assignable(locked, target_uuid, ["transferClientsTo"])
            if target.user_id == user.id:
                raise fail(
                    ["transferClientsTo"],
                    UserErrorCode.SAME_OWNER,
                    "Transfer the clients to someone other than the user being deleted.",
                )
        release = Release(0, 0)
        if entry_id is not None and entry_id in locked:
            release = await release_owner(session, ctx.viewer, locked[entry_id][0], target)
        team_count = await leave_all_teams(session, ctx.viewer, user)
        user.deleted_at = models.utcnow()
        user.is_active = False
        history.record(
            session,
            ctx.viewer,
            subject_type="user",
            subject_id=user.id,
            action="user.deleted",
            changes=[history.Change("name", user.name, None)],
        )
        return release, team_count

    release, team_count = await (ctx.rehearse(work) if dry_run else ctx.write(work))
    return UserDeletion(user_uuid, release, team_count)


def listed_users(viewer: Viewer, search: str | None, *, search_length: int) -> Listing:
    """What `users` lists, on both read paths: the firm's users who are not deleted, matching
    `search` by name or e-mail, by name. A search longer than `search_length` is TOO_LONG."""
    user = models.User
    criteria = [live_users(viewer, user)]
    text = search_text(search, search_length)
    if text is not None:
        term = fold(text)
        criteria.append(
            user.name_folded.contains(term, autoescape=True)
            | user.email_folded.contains(term, autoescape=True)
        )
    return Listing(user, tuple(criteria), orders.users_by_name(user))


async def users(ctx: Context, *, search: str | None, page: PageRequest) -> Page[UserRow]:
    listing = listed_users(ctx.viewer, search, search_length=ctx.lists.search_length)
    return await paginate(ctx, listing.rows(UserRow), listing.order, request=page, row_type=UserRow)
