"""Passwords of staff users: one-time set-password links (e-mailed when a user is created or
an administrator resets the password), setting a password through one, and changing one's own.

A link carries the id of its `password_tokens` row and an HMAC-SHA256 of that id under the
server's secret (`CLIENTGRAPH_SECRET`). The database keeps no form of the link's secret —
neither the row nor the outbox event that e-mails it (the relay signs the link when it renders
the e-mail) — so nothing read from the database opens an account. A link works once, for
LINK_LIFETIME, and only its newest sibling works: a reset voids the earlier ones.

A link that does not work says why (InvalidLink.state) only to whoever holds it signed: a
forged or unknown one is just UNKNOWN."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from clientgraph import links, passwords
from clientgraph.auth.link_tokens import signed_token_id
from clientgraph.auth.viewer import Viewer
from clientgraph.db import models, tenancy
from clientgraph.db.engine import Database
from clientgraph.db.rows import UserRow
from clientgraph.outbox.emails import SET_PASSWORD_KIND
from clientgraph.outbox.queue import enqueue
from clientgraph.resolvers import history
from clientgraph.resolvers.context import Context
from clientgraph.resolvers.enums import UserErrorCode, UserRole
from clientgraph.resolvers.errors import Forbidden, RateLimited, fail
from clientgraph.resolvers.inputs import parse_id
from clientgraph.resolvers.policy import require_admin
from clientgraph.resolvers.read_model import USERS
from clientgraph.resolvers.sign_in import Issued, Lifetimes, new_sign_in, revoke_sign_ins
from clientgraph.resolvers.teams import live_user
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

LINK_LIFETIME = timedelta(hours=72)
PURPOSE = "set-password"
MAX_LINK_LENGTH = 200


LINK_REFUSALS = {
    "UNKNOWN": "This link is not valid. Check that the whole link was copied from the e-mail,"
    " or ask an administrator of your firm for a new one.",
    "USED": "This link was already used to set a password. Sign in with that password, or ask"
    " an administrator of your firm for a new link.",
    "REPLACED": "This link was replaced by a newer one. Use the link in the newest e-mail.",
    "PASSWORD_SET": "This link no longer works: your password was set since it was sent. Sign in"
    " with your password, or ask an administrator of your firm for a new link.",
    "EXPIRED": f"This link has expired: a link works for {LINK_LIFETIME.days * 24} hours. Ask an"
    " administrator of your firm for a new one.",
    "USER_INACTIVE": "This user can no longer sign in. Ask an administrator of your firm.",
}
"""Why a link does not work, in words for the person who opened it."""


class InvalidLink(Exception):
    """The link sets no password; `state` says why (a key of LINK_REFUSALS)."""

    def __init__(self, state: str) -> None:
        super().__init__(LINK_REFUSALS[state])
        self.state = state
        self.message = LINK_REFUSALS[state]


def _token_id(secret: str, token: str) -> uuid.UUID:
    """The row id a link token names, if this server signed it."""
    token_id = signed_token_id(secret, token) if len(token) <= MAX_LINK_LENGTH else None
    if token_id is None:
        raise InvalidLink("UNKNOWN")
    return token_id


@dataclass(frozen=True, slots=True)
class IssuedLink:
    token_id: uuid.UUID
    """The `password_tokens` row: `link_token(secret, token_id)` is the link's secret part."""
    email_id: uuid.UUID | None
    """The outbox event that e-mails the link, if it is e-mailed."""


def issue_link(
    session: AsyncSession,
    user: models.User,
    *,
    reason: str,
    email: bool = True,
    server_url: str | None = None,
) -> IssuedLink:
    """A new set-password link for `user`, in the caller's transaction, and unless `email` is
    False its e-mail through the outbox. `reason` (created, reset) chooses the e-mail's
    wording; `server_url`, the server whose page the link opens unless `CLIENTGRAPH_APP_URL`
    names another (clientgraph.links)."""
    token = models.PasswordToken(
        id=models.new_id(),
        firm_id=user.firm_id,
        user_id=user.id,
        purpose=PURPOSE,
        expires_at=models.utcnow() + LINK_LIFETIME,
    )
    session.add(token)
    if not email:
        return IssuedLink(token.id, None)
    event = enqueue(
        session,
        firm_id=user.firm_id,
        kind=SET_PASSWORD_KIND,
        recipient=user.email,
        payload={
            "tokenId": str(token.id),
            "userId": str(user.id),
            "name": user.name,
            "reason": reason,
            "expiresAt": token.expires_at.isoformat(),
            **({links.SERVER_URL_KEY: server_url} if server_url else {}),
        },
    )
    return IssuedLink(token.id, event.id)


async def _void_links(session: AsyncSession, user: models.User) -> None:
    link = models.PasswordToken
    await session.execute(
        update(link)
        .where(
            link.firm_id == user.firm_id,
            link.user_id == user.id,
            link.used_at.is_(None),
            link.voided_at.is_(None),
        )
        .values(voided_at=models.utcnow())
    )


async def _check_usable(session: AsyncSession, link: models.PasswordToken | None) -> None:
    """InvalidLink unless `link` may set its user's password now."""
    if link is None:
        raise InvalidLink("UNKNOWN")
    if link.used_at is not None:
        raise InvalidLink("USED")
    if link.voided_at is not None:
        raise InvalidLink("REPLACED" if await _has_newer_sibling(session, link) else "PASSWORD_SET")
    if link.expires_at <= models.utcnow():
        raise InvalidLink("EXPIRED")


async def _has_newer_sibling(session: AsyncSession, link: models.PasswordToken) -> bool:
    sibling = models.PasswordToken
    newer = await session.scalar(
        select(sibling.id)
        .where(
            sibling.firm_id == link.firm_id,
            sibling.user_id == link.user_id,
            sibling.created_at > link.created_at,
        )
        .limit(1)
    )
    return newer is not None


async def _firm_of_link(db: Database, token_id: uuid.UUID) -> uuid.UUID:
    """The firm of a link that may be used now, else InvalidLink. The link is found before its
    firm is known (migration 0005's narrow policy, which shows that row alone); its siblings
    are then read as the firm."""
    link = models.PasswordToken

    async def find(session: AsyncSession) -> uuid.UUID | None:
        return await session.scalar(select(link.firm_id).where(link.id == token_id))

    async with db.read_sessions(info=tenancy.for_lookup("password_token_id", token_id)) as session:
        firm_id = await db.read(session, find)
    if firm_id is None:
        raise InvalidLink("UNKNOWN")

    async def check(session: AsyncSession) -> None:
        await _check_usable(session, await session.get(link, token_id))

    async with db.firm_session(firm_id) as session:
        await db.read(session, check)
    return firm_id


async def replace_password(session: AsyncSession, user: models.User, password_hash: str) -> None:
    """`user`'s password becomes the one of `password_hash`: their unused links are voided and
    every sign-in of theirs ends."""
    user.password_hash = password_hash
    await _void_links(session, user)
    await revoke_sign_ins(session, user.firm_id, user.id)


def _self_viewer(user: models.User) -> Viewer:
    """The user as the actor of their own change."""
    return Viewer(user.id, user.firm_id, user.name, UserRole(user.role), frozenset())


async def set_password_with_link(
    db: Database,
    secret: str,
    token: str,
    password: str,
    *,
    sign_in_for: Lifetimes | None = None,
) -> Issued | None:
    """Give the link's user `password` and spend the link; every other link of the user is
    voided and every sign-in ended. With `sign_in_for`, the user is signed in anew (the link
    proves who they are as well as the password would) and that sign-in is returned.

    The link is checked first, then the password's rules (PasswordRejected), so a person
    holding a link that no longer works learns that before choosing a password; and both
    before the password is hashed, so a forged link costs no hashing."""
    token_id = _token_id(secret, token)
    firm_id = await _firm_of_link(db, token_id)
    passwords.check_new_password(password)
    password_hash = await passwords.hash_password(password)

    async def work(session: AsyncSession) -> Issued | None:
        link = await session.get(models.PasswordToken, token_id, with_for_update=True)
        await _check_usable(session, link)
        assert link is not None
        user = await session.get(models.User, link.user_id, with_for_update=True)
        if user is None or user.deleted_at is not None or not user.is_active:
            raise InvalidLink("USER_INACTIVE")
        await replace_password(session, user, password_hash)
        link.used_at = models.utcnow()
        link.voided_at = None
        history.record(
            session,
            _self_viewer(user),
            subject_type="user",
            subject_id=user.id,
            action="user.password_set",
            changes=[],
        )
        if sign_in_for is None:
            return None
        return new_sign_in(session, user.id, user.firm_id, sign_in_for)

    return await db.write(work, firm_id=firm_id)


async def reset_user_password(ctx: Context, *, user_id: str) -> UserRow:
    """Administrators: the user's password stops working, every sign-in of theirs ends, earlier
    links are voided, and a new link is e-mailed. Only an owner may reset an owner's, and
    nobody their own (which would sign them out until the e-mail arrives)."""
    require_admin(ctx.viewer)
    user_uuid = parse_id(user_id, "User", ["userId"], "user")
    if user_uuid == ctx.viewer.user_id:
        raise fail(
            ["userId"], UserErrorCode.INVALID, "Change your own password with changePassword."
        )

    async def work(session: AsyncSession) -> None:
        user = await live_user(session, ctx.viewer.firm_id, user_uuid, lock=True)
        if user.role == UserRole.OWNER and ctx.viewer.role != UserRole.OWNER:
            raise Forbidden("Only an owner of the firm may reset an owner's password.")
        if not user.is_active:
            raise fail(["userId"], UserErrorCode.USER_INACTIVE, "Reactivate the user first.")
        await _void_links(session, user)
        user.password_hash = None
        await revoke_sign_ins(session, user.firm_id, user.id)
        issue_link(session, user, reason="reset", server_url=ctx.server_url)
        history.record(
            session,
            ctx.viewer,
            subject_type="user",
            subject_id=user.id,
            action="user.password_reset",
            changes=[],
        )

    await ctx.write(work)
    row = await ctx.loaders.of(USERS).load(user_uuid)
    assert row is not None
    return row


def _new_password(password: str, field: list[str]) -> str:
    try:
        return passwords.check_new_password(password)
    except passwords.PasswordRejected as rejected:
        raise fail(field, UserErrorCode(rejected.reason), str(rejected)) from rejected


async def change_password(ctx: Context, *, current_password: str, new_password: str) -> UserRow:
    """The caller's own password, given the current one. Every other sign-in of the caller
    ends; the one the request's access token came from (if it came from one) goes on. Wrong
    current passwords are throttled like failed sign-ins (RATE_LIMITED)."""
    viewer = ctx.viewer
    if viewer.api_key_id is not None:
        raise Forbidden("An API key has no password to change.")
    _new_password(new_password, ["newPassword"])
    attempts, attempts_key = ctx.password_attempts, f"change-password:{viewer.user_id}"
    if attempts is not None:
        wait = await attempts.retry_after(attempts_key)
        if wait is not None:
            raise RateLimited(f"Too many wrong passwords; retry in {wait} s.")
    user = models.User
    current_hash = await ctx.scalar(
        select(user.password_hash).where(user.firm_id == viewer.firm_id, user.id == viewer.user_id)
    )
    if not await passwords.verify_password(current_hash, current_password):
        if attempts is not None:
            await attempts.failed(attempts_key)
        raise fail(["currentPassword"], UserErrorCode.INVALID, "The current password is wrong.")
    if attempts is not None:
        await attempts.succeeded(attempts_key)
    new_hash = await passwords.hash_password(new_password)

    async def work(session: AsyncSession) -> None:
        me = await live_user(session, viewer.firm_id, viewer.user_id, lock=True)
        if me.password_hash != current_hash:
            raise fail(
                ["currentPassword"],
                UserErrorCode.INVALID,
                "The password was changed meanwhile; sign in again.",
            )
        me.password_hash = new_hash
        await _void_links(session, me)
        await revoke_sign_ins(session, me.firm_id, me.id, keep_family=viewer.session_id)
        history.record(
            session,
            viewer,
            subject_type="user",
            subject_id=me.id,
            action="user.password_changed",
            changes=[],
        )

    await ctx.write(work)
    row = await ctx.loaders.of(USERS).load(viewer.user_id)
    assert row is not None
    return row
