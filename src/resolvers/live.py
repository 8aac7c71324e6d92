"""Live updates (subscriptions): every event read again with the subscriber's rights as they
are when it is delivered, so an assigned-only user stops hearing of an account the moment it
is taken from them, and a deactivated user or an expired token hears nothing more."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

from clientgraph.auth.token_errors import InvalidToken
from clientgraph.db import models
from clientgraph.db.live import LiveEvent
from clientgraph.db.rows import AccountRow, NotificationRow
from clientgraph.resolvers.accounts import AccountFilter, filtered_accounts
from clientgraph.resolvers.context import Context
from clientgraph.resolvers.enums import Permission
from clientgraph.resolvers.inputs import search_text
from clientgraph.resolvers.notifications import own_notifications

DELETED = "account.deleted"
MAX_TOLD = 10_000
"""Accounts a subscription remembers telling of (for their deletion), the most recently told
kept: a long-lived subscription's memory stays bounded."""


@dataclass(frozen=True, slots=True)
class AccountChange:
    account_id: uuid.UUID
    action: str
    row: AccountRow | None
    """None when the account was deleted."""


async def _events(ctx: Context, subject_type: str) -> AsyncIterator[LiveEvent]:
    """The events about `subject_type` in the caller's firm, from now on; the read
    transaction is ended while waiting, and the caller renewed before each event. They end
    (the subscription completes) once the caller's token or user is no longer valid. Each
    holds one of the process's live slots (SubscriptionLimitReached when none is free)."""
    with ctx.live_slots.hold(ctx.viewer.user_id):
        async with ctx.db.live.subscription(ctx.viewer.firm_id, subject_type) as queue:
            while True:
                await ctx.end_read()
                live_event = await queue.get()
                try:
                    await ctx.renew()
                except InvalidToken:
                    return
                yield live_event


async def account_changes(ctx: Context, spec: AccountFilter) -> AsyncIterator[AccountChange]:
    """Changes of the accounts the caller sees that match `spec` (of any status unless `spec`
    names some). A deletion cannot be checked against rights any more: it is told to callers
    who see every account, and to a subscription that was told of that account before and
    has not since lost sight of it."""
    spec = replace(
        spec,
        search=search_text(spec.search, ctx.lists.search_length),
        status=[] if spec.status is None else spec.status,
    )
    told: OrderedDict[uuid.UUID, None] = OrderedDict()
    async for live_event in _events(ctx, "account"):
        account_id = live_event.subject_id
        if live_event.action == DELETED:
            if account_id in told or ctx.viewer.has(Permission.VIEW_ALL_ACCOUNTS):
                told.pop(account_id, None)
                yield AccountChange(account_id, live_event.action, None)
            continue
        rows = await ctx.rows(
            filtered_accounts(ctx.viewer, spec).where(models.Account.id == account_id)
        )
        if not rows:
            told.pop(account_id, None)
            continue
        told[account_id] = None
        told.move_to_end(account_id)
        if len(told) > MAX_TOLD:
            told.popitem(last=False)
        yield AccountChange(account_id, live_event.action, AccountRow(*rows[0]))


async def notifications_added(ctx: Context) -> AsyncIterator[NotificationRow]:
    """The caller's own new notifications."""
    async for live_event in _events(ctx, "notification"):
        if live_event.user_id != ctx.viewer.user_id:
            continue
        rows = await ctx.rows(
            own_notifications(ctx.viewer).where(models.Notification.id == live_event.subject_id)
        )
        if rows:
            yield NotificationRow(*rows[0])
