"""The address book of client owners, and who owns which account (seeds 000/001).

Ownership moves lock rows in one fixed order — the address-book entries involved, sorted by
id, then the accounts, sorted by id — so concurrent moves queue instead of deadlocking, and
each re-reads the owner under its lock, so no update is lost.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from clientgraph.auth.viewer import Viewer
from clientgraph.db import models, orders
from clientgraph.db.one_of import one_of, one_of_parameter
from clientgraph.db.queries import fold
from clientgraph.db.relation import Listing
from clientgraph.db.rows import AccountRow, ClientOwnerRow
from clientgraph.resolvers import history
from clientgraph.resolvers.context import Context
from clientgraph.resolvers.enums import UserErrorCode
from clientgraph.resolvers.errors import UserError, UserErrors, fail
from clientgraph.resolvers.guards import flush_unique, lock_account_for_owner_change
from clientgraph.resolvers.inputs import (
    not_found,
    not_found_error,
    parse_id,
    required_text,
    search_text,
)
from clientgraph.resolvers.pagination import Page, PageRequest, paginate
from clientgraph.resolvers.policy import require_admin, visible_accounts
from clientgraph.resolvers.read_model import ACCOUNTS, OWNERS
from clientgraph.resolvers.teams import live_user
from clientgraph.resolvers.validation import checking
from sqlalchemy import Select, Uuid, and_, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

OWNER_TYPE = "ClientOwner"
OWNER_NOUN = "client owner"


@dataclass(frozen=True, slots=True)
class Release:
    """What happened to the accounts of an owner leaving the address book."""

    transferred_count: int
    unassigned_count: int
    moved: tuple[uuid.UUID, ...] = ()
    """The accounts that left the owner, by id: to `target_id`, or unowned when it is None."""
    target_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class Transfer:
    """What `transferClients` moved (or, in a dry run, would move)."""

    moved: list[uuid.UUID]
    accounts: list[AccountRow]
    """The first `input_list` of the moved accounts (the payload's list has a maximum)."""
    target_id: uuid.UUID


async def require_ownership_enabled(
    session: AsyncSession, firm_id: uuid.UUID, field: list[str] | None = None
) -> models.Firm:
    firm = await session.get_one(models.Firm, firm_id)
    if not firm.client_ownership_enabled:
        raise _ownership_disabled(field)
    return firm


def _ownership_disabled(field: list[str] | None) -> UserErrors:
    return fail(
        field,
        UserErrorCode.OWNERSHIP_DISABLED,
        "Client ownership is switched off in the firm settings.",
    )


_OWNER_ACTIVE = or_(
    models.ClientOwner.user_id.is_(None),
    and_(models.User.is_active.is_(True), models.User.deleted_at.is_(None)),
).label("owner_active")
"""Whether an owner may receive accounts: an owner by name only, or one whose user is active
and not deleted."""

LockedOwners = dict[uuid.UUID, tuple[models.ClientOwner, bool]]
"""Owners by id, each with whether it may receive accounts (`_OWNER_ACTIVE`)."""


def _locking(*columns: Any) -> Select[Any]:
    """The firm's owners among parameter `owner_ids` (the firm parameter `firm_id`), each with
    its `_OWNER_ACTIVE` and `columns`, locked in id order, as every move of owners locks them.
    Built once: building a statement and its cache key cost as much as running it."""
    return (
        select(models.ClientOwner, _OWNER_ACTIVE, *columns)
        .select_from(models.ClientOwner)
        .outerjoin(models.User, models.User.id == models.ClientOwner.user_id)
        .where(
            models.ClientOwner.firm_id == bindparam("firm_id", type_=Uuid),
            one_of_parameter(models.ClientOwner.id, "owner_ids"),
        )
        .order_by(models.ClientOwner.id)
        .with_for_update(of=models.ClientOwner)
    )


_LOCK_OWNERS = _locking()
_LOCK_ASSIGNABLE_OWNERS = _locking(models.Firm).join(
    models.Firm, models.Firm.id == models.ClientOwner.firm_id
)


def _owners_of(firm_id: uuid.UUID, ids: list[uuid.UUID]) -> dict[str, Any]:
    return {"firm_id": firm_id, "owner_ids": ids}


async def lock_owners(
    session: AsyncSession, firm_id: uuid.UUID, ids: list[uuid.UUID]
) -> LockedOwners:
    if not ids:
        return {}
    rows = await session.execute(_LOCK_OWNERS, _owners_of(firm_id, ids))
    return {owner.id: (owner, active) for owner, active in rows}


def _owner_inactive(owner: models.ClientOwner, field: list[str]) -> UserErrors:
    return fail(field, UserErrorCode.USER_INACTIVE, f"{owner.name} is no longer active.")


async def lock_assignable_owners(
    session: AsyncSession,
    firm_id: uuid.UUID,
    owner_ids: list[uuid.UUID],
    ownership_field: list[str] | None,
) -> tuple[models.Firm, LockedOwners]:
    """The firm, and `lock_owners`' owners `owner_ids`, in one statement; OWNERSHIP_DISABLED
    (at `ownership_field`) while client ownership is off in the firm. Only when no owner is
    found is the firm read again, to tell OWNERSHIP_DISABLED from a missing owner."""
    rows = (await session.execute(_LOCK_ASSIGNABLE_OWNERS, _owners_of(firm_id, owner_ids))).all()
    if not rows:
        return await require_ownership_enabled(session, firm_id, ownership_field), {}
    firm = rows[0][2]
    if not firm.client_ownership_enabled:
        raise _ownership_disabled(ownership_field)
    return firm, {owner.id: (owner, active) for owner, active, _ in rows}


def _locked(
    owners: LockedOwners, owner_id: uuid.UUID, field: list[str]
) -> tuple[models.ClientOwner, bool]:
    found = owners.get(owner_id)
    if found is None:
        raise not_found(field, OWNER_NOUN)
    return found


def locked_owner(owners: LockedOwners, owner_id: uuid.UUID, field: list[str]) -> models.ClientOwner:
    """Owner `owner_id` of locked `owners`; NOT_FOUND at `field`."""
    return _locked(owners, owner_id, field)[0]


def assignable(owners: LockedOwners, owner_id: uuid.UUID, field: list[str]) -> models.ClientOwner:
    """Owner `owner_id` of locked `owners` when it may receive accounts; NOT_FOUND or
    USER_INACTIVE at `field`."""
    owner, active = _locked(owners, owner_id, field)
    if not active:
        raise _owner_inactive(owner, field)
    return owner


async def require_assignable_owner(
    session: AsyncSession,
    firm_id: uuid.UUID,
    owner_id: uuid.UUID,
    field: list[str],
    ownership_field: list[str] | None,
) -> tuple[models.Firm, models.ClientOwner]:
    """The firm, and its owner `owner_id` locked, when accounts may be given to it: what
    `require_ownership_enabled` (its error at `ownership_field`), `lock_owners` and
    `assignable` ask in turn, with their errors in that order, in one statement."""
    firm, owners = await lock_assignable_owners(session, firm_id, [owner_id], ownership_field)
    return firm, assignable(owners, owner_id, field)


def set_owner(
    session: AsyncSession,
    viewer: Viewer,
    account: models.Account,
    previous_name: str | None,
    new: models.ClientOwner | None,
) -> None:
    account.owner_id = new.id if new else None
    history.record_change(
        session,
        viewer,
        account,
        "account.owner_changed",
        [history.Change("owner", previous_name, new and new.name)],
    )


async def move_accounts(
    session: AsyncSession,
    viewer: Viewer,
    source: models.ClientOwner,
    target: models.ClientOwner | None,
    only: list[uuid.UUID] | None = None,
) -> list[uuid.UUID]:
    """Give the accounts of `source` (all, or those in `only`) to `target` (None: unowned); the
    ids of those moved, in id order. One UPDATE, locking them in id order as any change of
    owners does; an event per account, written together."""
    account = models.Account
    chosen = (
        select(account.id)
        .where(account.firm_id == viewer.firm_id, account.owner_id == source.id)
        .order_by(account.id)
        .with_for_update()
    )
    if only is not None:
        chosen = chosen.where(one_of(account.id, only))
    moved = sorted(
        await session.scalars(
            update(account)
            .where(account.firm_id == viewer.firm_id, account.id.in_(chosen.scalar_subquery()))
            .values(
                owner_id=target.id if target else None,
                version=history.bulk_version(session, account),
                updated_at=models.utcnow(),
            )
            .returning(account.id)
            .execution_options(synchronize_session="fetch")
        )
    )
    history.versioned_already(session, set(moved))
    change = [history.Change("owner", source.name, target and target.name)]
    await history.record_all(
        session,
        [
            history.new_event(
                viewer,
                subject_type="account",
                subject_id=account_id,
                action="account.owner_changed",
                changes=change,
            )
            for account_id in moved
        ],
    )
    if moved and target is not None:
        history.record(
            session,
            viewer,
            subject_type="client_owner",
            subject_id=target.id,
            action="clients.transferred",
            changes=[
                history.Change("from", source.name, None),
                history.Change("accounts", None, len(moved)),
            ],
        )
    return moved


async def release_owner(
    session: AsyncSession,
    viewer: Viewer,
    owner: models.ClientOwner,
    target: models.ClientOwner | None,
) -> Release:
    """Take `owner` out of the address book; its accounts go to `target` or become unowned."""
    moved = await move_accounts(session, viewer, owner, target)
    history.record(
        session,
        viewer,
        subject_type="client_owner",
        subject_id=owner.id,
        action="client_owner.removed",
        changes=[history.Change("name", owner.name, None)],
    )
    await session.flush()
    await session.delete(owner)
    moved_count = len(moved)
    return Release(
        moved_count if target else 0,
        0 if target else moved_count,
        tuple(moved),
        target.id if target else None,
    )


async def _lock_pair(
    session: AsyncSession,
    firm_id: uuid.UUID,
    owner_id: uuid.UUID,
    target_id: uuid.UUID | None,
    owner_field: list[str],
    target_field: list[str],
) -> tuple[models.ClientOwner, models.ClientOwner | None]:
    locked = await lock_owners(session, firm_id, [owner_id, *([target_id] if target_id else [])])
    owner = locked_owner(locked, owner_id, owner_field)
    target = assignable(locked, target_id, target_field) if target_id is not None else None
    return owner, target


def _same_owner(field: list[str]) -> UserErrors:
    return fail(field, UserErrorCode.SAME_OWNER, "Pick a different client owner to transfer to.")


async def _matching_user(
    session: AsyncSession, firm_id: uuid.UUID, name: str
) -> models.User | None:
    """The one live user whose email, or else whose name, equals `name` (case-insensitively)."""
    folded = fold(name)
    users = list(
        await session.scalars(
            select(models.User).where(
                models.User.firm_id == firm_id,
                models.User.deleted_at.is_(None),
                or_(models.User.email_folded == folded, models.User.name_folded == folded),
            )
        )
    )
    by_email = [user for user in users if user.email_folded == folded]
    candidates = by_email or users
    return candidates[0] if len(candidates) == 1 else None


async def add_client_owner(
    ctx: Context, *, user_id: str | None, name: str | None
) -> ClientOwnerRow:
    require_admin(ctx.viewer)
    if (user_id is None) == (name is None):
        raise fail(["userId"], UserErrorCode.REQUIRED, "Give exactly one of userId or name.")
    user_uuid = parse_id(user_id, "User", ["userId"], "user") if user_id is not None else None
    owner_name = required_text(name, ["name"]) if name is not None else None
    firm_id = ctx.viewer.firm_id

    async def work(session: AsyncSession) -> uuid.UUID:
        await require_ownership_enabled(session, firm_id)
        if user_uuid is not None:
            user = await live_user(session, firm_id, user_uuid, lock=True)
            field = ["userId"]
        else:
            assert owner_name is not None
            user = await _matching_user(session, firm_id, owner_name)
            field = ["name"]
        if user is not None and not user.is_active:
            raise fail(field, UserErrorCode.USER_INACTIVE, f"{user.name} is not active.")
        duplicate = select(models.ClientOwner.id).where(models.ClientOwner.firm_id == firm_id)
        if user is not None:
            duplicate = duplicate.where(models.ClientOwner.user_id == user.id)
        else:
            duplicate = duplicate.where(
                models.ClientOwner.user_id.is_(None),
                models.ClientOwner.name_folded == fold(owner_name or ""),
            )

        def already_in_book() -> UserErrors:
            return fail(
                field, UserErrorCode.ALREADY_IN_ADDRESS_BOOK, "Already in the address book."
            )

        if (await session.scalars(duplicate)).first() is not None:
            raise already_in_book()
        display_name = user.name if user is not None else owner_name
        assert display_name is not None
        owner = models.ClientOwner(
            firm_id=firm_id,
            name=display_name,
            name_folded=fold(display_name),
            user_id=user.id if user else None,
        )
        session.add(owner)
        await flush_unique(session, "user_id", already_in_book)
        history.record(
            session,
            ctx.viewer,
            subject_type="client_owner",
            subject_id=owner.id,
            action="client_owner.added",
            changes=[history.Change("name", None, display_name)],
        )
        return owner.id

    owner_id = await ctx.write(work)
    row = await ctx.loaders.of(OWNERS).load(owner_id)
    assert row is not None
    return row


async def remove_client_owner(
    ctx: Context, *, owner_id: str, transfer_clients_to: str | None
) -> tuple[uuid.UUID, Release]:
    require_admin(ctx.viewer)
    owner_uuid = parse_id(owner_id, OWNER_TYPE, ["ownerId"], OWNER_NOUN)
    target_uuid = (
        parse_id(transfer_clients_to, OWNER_TYPE, ["transferClientsTo"], OWNER_NOUN)
        if transfer_clients_to is not None
        else None
    )
    if owner_uuid == target_uuid:
        raise _same_owner(["transferClientsTo"])

    async def work(session: AsyncSession) -> Release:
        owner, target = await _lock_pair(
            session,
            ctx.viewer.firm_id,
            owner_uuid,
            target_uuid,
            ["ownerId"],
            ["transferClientsTo"],
        )
        if target is not None:
            await require_ownership_enabled(session, ctx.viewer.firm_id)
        return await release_owner(session, ctx.viewer, owner, target)

    return owner_uuid, await ctx.write(work)


async def transfer_clients(
    ctx: Context,
    *,
    from_owner_id: str,
    to_owner_id: str,
    account_ids: list[str] | None,
    dry_run: bool = False,
) -> Transfer:
    """Move all accounts of one owner, or the chosen ones, to another; all or nothing. A dry
    run does the same and rolls it back: the same rights, user errors and accounts."""
    require_admin(ctx.viewer)
    with checking() as check:
        source_uuid = check(parse_id, from_owner_id, OWNER_TYPE, ["fromOwnerId"], OWNER_NOUN)
        target_uuid = check(parse_id, to_owner_id, OWNER_TYPE, ["toOwnerId"], OWNER_NOUN)
        if source_uuid is not None and source_uuid == target_uuid:
            check.extend(_same_owner(["toOwnerId"]))
        chosen = (
            [
                check(parse_id, value, "Account", ["accountIds", str(index)], "account")
                for index, value in enumerate(account_ids)
            ]
            if account_ids is not None
            else None
        )

    async def work(session: AsyncSession) -> list[uuid.UUID]:
        _, owners = await lock_assignable_owners(
            session, ctx.viewer.firm_id, [source_uuid, target_uuid], None
        )
        source = locked_owner(owners, source_uuid, ["fromOwnerId"])
        target = assignable(owners, target_uuid, ["toOwnerId"])
        moved = await move_accounts(session, ctx.viewer, source, target, chosen)
        if chosen is not None:
            await _check_chosen(session, ctx.viewer, source, chosen, set(moved))
        return moved

    if dry_run:
        moved_ids = await ctx.rehearse(work)
        rows = await ctx.loaders.of(ACCOUNTS).load_many(moved_ids[: ctx.lists.input_list])
    else:
        moved_ids, (rows, _) = await ctx.write_and_show(
            work,
            lambda moved: [(ACCOUNTS, moved[: ctx.lists.input_list]), (OWNERS, [target_uuid])],
        )
    return Transfer(moved_ids, [row for row in rows if row is not None], target_uuid)


async def _check_chosen(
    session: AsyncSession,
    viewer: Viewer,
    source: models.ClientOwner,
    chosen: list[uuid.UUID],
    moved: set[uuid.UUID],
) -> None:
    """Every chosen account must have moved: unknown ones are NOT_FOUND, others INVALID."""
    left = [account_id for account_id in chosen if account_id not in moved]
    if not left:
        return
    existing = set(
        await session.scalars(
            select(models.Account.id).where(visible_accounts(viewer), models.Account.id.in_(left))
        )
    )
    errors = []
    for index, account_id in enumerate(chosen):
        if account_id in moved:
            continue
        field = ["accountIds", str(index)]
        if account_id in existing:
            message = f"This account is not owned by {source.name}."
            errors.append(UserError(field, UserErrorCode.INVALID, message))
        else:
            errors.append(not_found_error(field, "account"))
    raise UserErrors(errors)


async def assign_client_owner(
    ctx: Context, *, account_id: str, owner_id: str | None
) -> AccountRow | None:
    """Set, change or (with None) clear the owner of one account; None when the caller can no
    longer see it (an assigned-only user who gave their own account away)."""
    account_uuid = parse_id(account_id, "Account", ["accountId"], "account")
    owner_uuid = (
        parse_id(owner_id, OWNER_TYPE, ["ownerId"], OWNER_NOUN) if owner_id is not None else None
    )

    async def work(session: AsyncSession) -> None:
        new_owner = None
        if owner_uuid is None:
            await require_ownership_enabled(session, ctx.viewer.firm_id)
        else:
            _, new_owner = await require_assignable_owner(
                session, ctx.viewer.firm_id, owner_uuid, ["ownerId"], None
            )
        account, previous_name = await lock_account_for_owner_change(
            session, ctx.viewer, account_uuid, ["accountId"]
        )
        if account.owner_id == owner_uuid:
            return
        set_owner(session, ctx.viewer, account, previous_name, new_owner)

    also = [(OWNERS, owner_uuid)] if owner_uuid is not None else []
    return await ctx.write_showing(work, ACCOUNTS, account_uuid, also=also)


def listed_owners(viewer: Viewer, search: str | None, *, search_length: int) -> Listing:
    """What `clientOwners` lists, on both read paths: the firm's address book, matching
    `search` by name, by name. A search longer than `search_length` is TOO_LONG."""
    owner = models.ClientOwner
    criteria = [owner.firm_id == viewer.firm_id]
    text = search_text(search, search_length)
    if text is not None:
        criteria.append(owner.name_folded.contains(fold(text), autoescape=True))
    return Listing(owner, tuple(criteria), orders.owners_by_name(owner))


async def client_owners(
    ctx: Context, *, search: str | None, page: PageRequest
) -> Page[ClientOwnerRow]:
    listing = listed_owners(ctx.viewer, search, search_length=ctx.lists.search_length)
    return await paginate(
        ctx, listing.rows(ClientOwnerRow), listing.order, request=page, row_type=ClientOwnerRow
    )
