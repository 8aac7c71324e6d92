"""The callers behind user tokens and API keys, kept in each server process, so that a request
need not read its caller before its own statements: a user's read saves a round trip, a
user's mutation the transaction it read its caller in, and a partner's request the whole
transaction that looked its key and the key's creator up.

A caller is kept only while the process hears of every change to `users` and `api_keys` (the
triggers of migration 0011_caller_changes, on CHANNEL): a change heard drops that user (and
the keys they made) or that key at once. While the listening connection is down nothing kept
is used, and when it listens again everything kept is dropped, since changes may have gone
unheard meanwhile. A caller read while a change was heard, or across a reconnection, is not
kept: it may be from before the change. What is left is the moment between a change's COMMIT
and its notification reaching the process (a few milliseconds on one machine), in which a
request is answered as if it had come just before the change. A kept key is still checked
against the secret presented and its expiry on every request. An entry also ends after
`ttl_s`; the least recently used go first past `size` of each kind.

SQLite has no notifications: there, and with `ttl_s` 0, nothing is kept."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import replace

from cachetools import TTLCache
from clientgraph.auth.api_keys import KeyCaller
from clientgraph.auth.token_errors import InvalidToken
from clientgraph.auth.viewer import Viewer
from clientgraph.db.listener import listen, listen_dsn

CHANNEL = "clientgraph_callers"
"""Where migration 0011_caller_changes's triggers send `user:<id>` and `key:<id>`."""
APPLICATION_NAME = "clientgraph-callers"
"""The listening connection's name in `pg_stat_activity`."""
SIZE = 10_000


class CallerCache:
    """Viewers of user tokens by user id and callers of API keys by key id (portal contacts
    and identity providers' users are read as before)."""

    def __init__(self, url: str, ttl_s: float, size: int = SIZE) -> None:
        self.dsn = listen_dsn(url) if ttl_s > 0 else None
        self.users: TTLCache[uuid.UUID, Viewer] = TTLCache(size, ttl_s or 1)
        self.keys: TTLCache[uuid.UUID, KeyCaller] = TTLCache(size, ttl_s or 1)
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
        """Taken before reading a caller, handed to `keep_…` after."""
        return self.heard

    def user(
        self, user_id: uuid.UUID, firm_id: uuid.UUID, session_id: uuid.UUID | None
    ) -> Viewer | None:
        """The user as the caller of a token of sign-in `session_id`, if kept."""
        if not self.connected.is_set():
            return None
        known = self.users.get(user_id)
        if known is None or known.firm_id != firm_id:
            return None
        return known if known.session_id == session_id else replace(known, session_id=session_id)

    def key(self, key_id: uuid.UUID, secret: str) -> KeyCaller | None:
        """The caller of a kept key, if `secret` is its secret and it has not expired; None
        otherwise, so that the key is read, and refused as it should be, from the database."""
        if not self.connected.is_set():
            return None
        known = self.keys.get(key_id)
        if known is None:
            return None
        try:
            known.key.check(secret)
        except InvalidToken:
            return None
        return known

    def keep_user(self, viewer: Viewer, mark: int) -> None:
        """Keep a user's viewer read since `mark`, unless a change was heard meanwhile."""
        if self._unchanged_since(mark):
            self.users[viewer.user_id] = viewer

    def keep_key(self, caller: KeyCaller, mark: int) -> None:
        """Keep a key's caller read since `mark`, unless a change was heard meanwhile."""
        if self._unchanged_since(mark):
            self.keys[caller.key.id] = caller

    def _unchanged_since(self, mark: int) -> bool:
        return self.connected.is_set() and mark == self.heard

    def heard_change(self, payload: str) -> None:
        """A user (`user:<id>`) or key (`key:<id>`) changed."""
        self.heard += 1
        kind, _, text = payload.partition(":")
        try:
            changed = uuid.UUID(text)
        except ValueError:
            return
        if kind == "user":
            self.users.pop(changed, None)
            made = [key for key, caller in self.keys.items() if caller.viewer.user_id == changed]
            for key_id in made:
                self.keys.pop(key_id, None)
        elif kind == "key":
            self.keys.pop(changed, None)

    def listening_again(self) -> None:
        """Changes may have gone unheard until now."""
        self.heard += 1
        self.users.clear()
        self.keys.clear()
