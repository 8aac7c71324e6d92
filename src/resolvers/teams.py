"""Team members: the users assigned to work on an account (seeds 003, 004). The user, not the
client, is notified of every assignment and unassignment."""

from __future__ import annotations

import uuid

from clientgraph.auth.viewer import Viewer
from clientgraph.db import models
from clientgraph.db.rows import AccountRow
from clientgraph.resolvers import history
from clientgraph.resolvers.context import Context
from clientgraph.resolvers.enums import AccountStatus, Permission, UserErrorCode
from clientgraph.resolvers.errors import fail
from clientgraph.resolvers.guards import lock_account
from clientgraph.resolvers.inputs import not_found, parse_id
from clientgraph.resolvers.notifications import notify
from clientgraph.resolvers.policy import require
from clientgraph.resolvers.read_model import ACCOUNTS
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession


async def live_user(
    session: AsyncSession, firm_id: uuid.UUID, user_id: uuid.UUID, *, lock: bool = False
) -> models.User:
    """A user of the firm who is not deleted, else NOT_FOUND on ["userId"]."""
    user = await session.get(models.User, user_id, with_for_update=lock)
    if user is None or user.firm_id != firm_id or user.deleted_at is not None:
        raise not_found(["userId"], "user")
    return user


async def leave_all_teams(session: AsyncSession, viewer: Viewer, user: models.User) -> int:
    """Take a user off every team, each account recording it (a deleted user is not notified);
    how many teams they left."""
    member = models.AccountTeamMember
    accounts = list(
        await session.scalars(
            select(models.Account)
            .join(
                member,
                (member.firm_id == models.Account.firm_id)
                & (member.account_id == models.Account.id),
            )
            .where(member.firm_id == user.firm_id, member.user_id == user.id)
            .order_by(models.Account.id)
            .with_for_update(of=models.Account)
        )
    )
    for account in accounts:
        await session.execute(
            delete(member).where(
                member.firm_id == account.firm_id,
                member.account_id == account.id,
                member.user_id == user.id,
            )
        )
        _record(
            session,
            viewer,
            account,
            "account.team_member_removed",
            history.Change("teamMember", user.name, None),
        )
    return len(accounts)


def _record(
    session: AsyncSession,
    viewer: Viewer,
    account: models.Account,
    action: str,
    change: history.Change,
) -> None:
    history.record_change(
        session,
        viewer,
        account,
        action,
        [change],
    )


async def _check_team_room(session: AsyncSession, account: models.Account, maximum: int) -> None:
    """The account is locked, so its team cannot grow between this count and the insert."""
    member = models.AccountTeamMember
    size = await session.scalar(
        select(func.count()).where(
            member.firm_id == account.firm_id, member.account_id == account.id
        )
    )
    if (size or 0) >= maximum:
        raise fail(
            ["accountId"],
            UserErrorCode.TOO_LONG,
            f"{account.name} has {size} team members; an account may have at most {maximum}.",
        )


async def assign_team_member(ctx: Context, *, account_id: str, user_id: str) -> AccountRow | None:
    require(ctx.viewer, Permission.ASSIGN_ACCOUNTS)
    account_uuid = parse_id(account_id, "Account", ["accountId"], "account")
    user_uuid = parse_id(user_id, "User", ["userId"], "user")

    async def work(session: AsyncSession) -> None:
        account = await lock_account(
            session, ctx.viewer, account_uuid, ["accountId"], need_edit=False
        )
        user = await live_user(session, ctx.viewer.firm_id, user_uuid)
        if account.status != AccountStatus.ACTIVE:
            raise fail(
                ["accountId"],
                UserErrorCode.ACCOUNT_INACTIVE,
                f"{account.name} is inactive and takes no new team members.",
            )
        if not user.is_active:
            raise fail(["userId"], UserErrorCode.USER_INACTIVE, f"{user.name} is not active.")
        key = (account.firm_id, account.id, user.id)
        if await session.get(models.AccountTeamMember, key) is not None:
            return
        await _check_team_room(session, account, ctx.lists.team_members)
        session.add(
            models.AccountTeamMember(
                firm_id=account.firm_id, account_id=account.id, user_id=user.id
            )
        )
        _record(
            session,
            ctx.viewer,
            account,
            "account.team_member_added",
            history.Change("teamMember", None, user.name),
        )
        notify(session, user, "account.assigned", account)

    return await ctx.write_showing(work, ACCOUNTS, account_uuid)


async def unassign_team_member(ctx: Context, *, account_id: str, user_id: str) -> AccountRow | None:
    require(ctx.viewer, Permission.ASSIGN_ACCOUNTS)
    account_uuid = parse_id(account_id, "Account", ["accountId"], "account")
    user_uuid = parse_id(user_id, "User", ["userId"], "user")

    async def work(session: AsyncSession) -> None:
        account = await lock_account(
            session, ctx.viewer, account_uuid, ["accountId"], need_edit=False
        )
        user = await live_user(session, ctx.viewer.firm_id, user_uuid)
        member = await session.get(models.AccountTeamMember, (account.firm_id, account.id, user.id))
        if member is None:
            raise fail(
                ["userId"], UserErrorCode.NOT_LINKED, f"{user.name} is not on this account's team."
            )
        await session.delete(member)
        _record(
            session,
            ctx.viewer,
            account,
            "account.team_member_removed",
            history.Change("teamMember", user.name, None),
        )
        notify(session, user, "account.unassigned", account)

    return await ctx.write_showing(work, ACCOUNTS, account_uuid)
