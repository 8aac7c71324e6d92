"""The users behind user tokens, kept in each server process, so that a request need not read
its caller's row before its own statements: a read saves a round trip, a mutation the whole
transaction it read its caller in.

A user is kept only while the process hears of every change to `users` (the trigger of
migration 0011_user_changes, on CHANNEL): a change heard drops that user at once. While the
listening connection is down nothing kept is used, and when it listens again everything kept
is dropped, since changes may have gone unheard meanwhile. A row read while a change was
heard, or across a reconnection, is not kept: it may be the row from before the change. What
is left is the moment between a change's COMMIT and its notification reaching the process (a
few milliseconds on one machine), in which a request is answered as if it had come just before
the change. An entry also ends after `ttl_s`; the least recently used go first past `size`.

SQLite has no notifications: there, and with `ttl_s` 0, nothing is kept."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import replace

from cachetools import TTLCache
from clientgraph.auth.viewer import Viewer
from clientgraph.db.listener import listen, listen_dsn

CHANNEL = "clientgraph_users"
"""Where migration 0011_user_changes's trigger sends the id of a changed user."""
APPLICATION_NAME = "clientgraph-users"
"""The listening connection's name in `pg_stat_activity`."""
SIZE = 10_000


class UserCache:
    """Viewers of user tokens by user id (API keys, portal contacts and identity providers'
    users are read as before)."""

    def __init__(self, url: str, ttl_s: float, size: int = SIZE) -> None:
        self.dsn = listen_dsn(url) if ttl_s > 0 else None
        self.kept: TTLCache[uuid.UUID, Viewer] = TTLCache(size, ttl_s or 1)
        self.heard = 0
        """Changes heard and reconnections so far: a read begun at another count is not kept."""
        self.connected = asyncio.Event()
        self.listening: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Listen for changes (a no-op where nothing is kept)."""
        if self.dsn is not None and self.listening is None:
            self.listening = asyncio.create_task(
                listen(
                    self.dsn,
                    CHANNEL,
                    self.heard_change,
                    connected=self.connected,
                    application_name=APPLICATION_NAME,
                    on_listening=self.listening_again,
                )
            )

    async def stop(self) -> None:
        if self.listening is not None:
            self.listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.listening
            self.listening = None

    def mark(self) -> int:
        """Taken before reading a user, handed to `keep` after."""
        return self.heard

    def get(
        self, user_id: uuid.UUID, firm_id: uuid.UUID, session_id: uuid.UUID | None
    ) -> Viewer | None:
        """The user as the caller of a token of sign-in `session_id`, if kept."""
        if not self.connected.is_set():
            return None
        known = self.kept.get(user_id)
        if known is None or known.firm_id != firm_id:
            return None
        return known if known.session_id == session_id else replace(known, session_id=session_id)

    def keep(self, viewer: Viewer, mark: int) -> None:
        """Keep a user's viewer read since `mark`, unless a change was heard meanwhile."""
        if self.connected.is_set() and mark == self.heard:
            self.kept[viewer.user_id] = viewer

    def heard_change(self, payload: str) -> None:
        """A user changed (`payload` is their id)."""
        self.heard += 1
        with contextlib.suppress(ValueError):
            self.kept.pop(uuid.UUID(payload), None)

    def listening_again(self) -> None:
        """Changes may have gone unheard until now."""
        self.heard += 1
        self.kept.clear()
