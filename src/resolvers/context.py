"""The per-request context every resolver receives."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from clientgraph import metrics
from clientgraph.auth.viewer import Viewer
from clientgraph.db import tenancy
from clientgraph.db.engine import CommitOutcomeUnknown, Database, DatabaseUnavailable
from clientgraph.db.loaders import (
    DataLoader,
    Loaders,
    columns_on,
    keyed_loader,
    load_relation,
    on_session,
)
from clientgraph.db.relation import Relation
from clientgraph.db.replica import Replica
from clientgraph.list_limits import ListLimits
from clientgraph.outbox.webhook_urls import WebhookPolicy
from clientgraph.resolvers import webhook_events
from clientgraph.resolvers.errors import RateLimited, RequestTimeout
from sqlalchemy import Row, Select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PageLimits:
    default: int = 50
    maximum: int = 100


@dataclass(frozen=True, slots=True)
class Cost:
    """What a request costs in nodes: `requested_nodes` as counted before execution (what a
    rate limit charges), `actual_nodes` the list items the response really holds."""

    requested_nodes: int = 0
    actual_nodes: int = 0


class PasswordAttempts(Protocol):
    """Counts the passwords signed-in callers type, from the request's client address, as
    sign-ins are counted (web/sign_in_throttle.py), so that a stolen access token cannot be
    used to guess its user's password."""

    async def retry_after(self, subject: str) -> int | None:
        """Seconds until `subject` may be tried again; None while it may."""

    async def failed(self, subject: str) -> None: ...

    async def succeeded(self, subject: str) -> None: ...


class SubscriptionLimitReached(RateLimited):
    """A caller or this process holds as many live subscriptions as it may: RATE_LIMITED."""


@dataclass
class LiveSlots:
    """The live subscriptions this process runs, counted per user and in all, so that no user
    (with any number of connections) and no crowd of them can hold more than the limits."""

    per_user: int = 200
    """`CLIENTGRAPH_LIVE_MAX_SUBSCRIPTIONS_PER_USER`."""
    per_process: int = 5000
    """`CLIENTGRAPH_LIVE_MAX_SUBSCRIPTIONS_PER_PROCESS`."""
    by_user: dict[uuid.UUID, int] = field(default_factory=dict)
    total: int = 0

    @contextlib.contextmanager
    def hold(self, user_id: uuid.UUID) -> Iterator[None]:
        """One slot while the block runs; SubscriptionLimitReached when none is free."""
        if self.total >= self.per_process:
            raise SubscriptionLimitReached(
                f"This server runs {self.per_process} subscriptions, the most it takes; "
                "try again later or on another server."
            )
        held = self.by_user.get(user_id, 0)
        if held >= self.per_user:
            raise SubscriptionLimitReached(
                f"You hold {self.per_user} subscriptions on this server, the most one user "
                "may; end one first."
            )
        self.by_user[user_id] = held + 1
        self.total += 1
        try:
            yield
        finally:
            self.total -= 1
            left = self.by_user[user_id] - 1
            if left:
                self.by_user[user_id] = left
            else:
                del self.by_user[user_id]


@dataclass
class Context:
    """One read session shared by the request's loaders (guarded by `lock`), the caller,
    and a way to run a mutation in its own transaction.

    `unavailable` keeps the first DatabaseUnavailable any resolver met, and `may_have_written`
    whether a mutation of this request may have committed: the request is answered 503 only
    when the database failed it and nothing was changed, so that sending it again is safe.
    """

    db: Database
    viewer: Viewer
    limits: PageLimits
    session: AsyncSession
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    lists: ListLimits = field(default_factory=ListLimits)
    cost: Cost = field(default_factory=Cost)
    deadline: float | None = None
    """`time.monotonic()` past which the request's work stops (see `clientgraph.web.deadline`)."""
    password_attempts: PasswordAttempts | None = None
    server_url: str | None = None
    """The address of the server answering (its listening socket): the pages of the links a
    mutation e-mails, where the settings name none (clientgraph.links)."""
    webhooks: WebhookPolicy = field(default_factory=WebhookPolicy)
    live_slots: LiveSlots = field(default_factory=LiveSlots)
    """The process's live subscriptions, which a subscription holds one of while it runs."""
    replica: Replica | None = None
    """The read replica, when one is configured: told of the request's writes, so that the
    caller reads from the primary until it shows them (db/replica.py)."""
    on_replica: bool = False
    """Whether `session` reads from `replica`: the HTTP layer chose it for a query. A read the
    replica fails is run again on the primary, where the request reads on."""
    reauthenticate: Callable[[AsyncSession], Awaitable[Viewer]] | None = None
    """On a websocket, which outlives its token's checks: the caller loaded again (raising
    InvalidToken once the token or its user is no longer valid), before each live event."""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _loaders: Loaders | None = field(init=False, default=None)
    _named_loaders: dict[str, DataLoader[Any, Any]] = field(init=False, default_factory=dict)
    unavailable: DatabaseUnavailable | None = field(init=False, default=None)
    may_have_written: bool = field(init=False, default=False)
    closed: bool = field(init=False, default=False)

    @property
    def loaders(self) -> Loaders:
        """The request's loaders, made on first use: a request the planned read path answers
        never needs them."""
        if self._loaders is None:
            self._loaders = self._new_loaders()
        return self._loaders

    def loader(
        self, name: str, load: Callable[[list[Any]], Awaitable[list[Any]]]
    ) -> DataLoader[Any, Any]:
        """The request's loader called `name`, made from `load` on first use. Like `loaders`,
        they start afresh after a mutation."""
        if name not in self._named_loaders:
            self._named_loaders[name] = keyed_loader(load)
        return self._named_loaders[name]

    @classmethod
    def open(
        cls,
        db: Database,
        viewer: Viewer,
        limits: PageLimits,
        lists: ListLimits | None = None,
        *,
        server_url: str | None = None,
    ) -> Context:
        return cls(
            db=db,
            viewer=viewer,
            limits=limits,
            session=db.firm_session(viewer.firm_id),
            lists=lists or ListLimits(),
            server_url=server_url,
        )

    def _new_loaders(self) -> Loaders:
        return Loaders(self.rows, self.viewer, self.lists)

    def check_deadline(self) -> None:
        """Cancel the calling task if the request is out of time or already answered.

        Cancellation from outside reaches a task only when it awaits; this check also stops
        work that runs long without awaiting (a large result completed from cached loads).
        """
        if self.closed or (self.deadline is not None and time.monotonic() > self.deadline):
            raise asyncio.CancelledError

    async def rows(
        self, statement: Select[Any], parameters: Mapping[str, Any] | None = None
    ) -> Sequence[Row[Any]]:
        """The rows of `statement`, which selects columns, on the read session."""

        async def run(session: AsyncSession) -> Sequence[Row[Any]]:
            return await columns_on(session, statement, parameters)

        return await self.read(run)

    async def scalar(self, statement: Select[Any]) -> Any:
        async def run(session: AsyncSession) -> Any:
            return (await session.execute(statement)).scalar_one()

        return await self.read(run)

    async def read(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """`work` on the read session, once more on a fresh connection if its own died.

        The deadline is checked once the lock is held: a loader that waited for it behind the
        request's last statement must not reopen the session after `close`."""
        async with self.lock:
            self.check_deadline()
            try:
                return await self._read_on_either(work)
            except DatabaseUnavailable as error:
                self.unavailable = self.unavailable or error
                raise
            except DBAPIError as error:
                if not tenancy.is_timeout(error):
                    raise
                await self.session.close()
                raise RequestTimeout("The database did not answer in time.") from error

    async def _read_on_either(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """`work` on the read session; on the replica, once more on the primary when the
        replica cannot answer (unreachable, its pool exhausted, or the statement cancelled
        by a conflict with recovery), and the rest of the request on the primary too."""
        if not self.on_replica:
            return await self.db.read(self.session, work)
        try:
            return await self.db.read(self.session, work)
        except (DatabaseUnavailable, PoolTimeout, DBAPIError) as error:
            if isinstance(error, DBAPIError) and not replica_cannot_answer(error):
                raise
            if self.replica is not None and isinstance(error, DatabaseUnavailable):
                self.replica.lost(error)
        metrics.REPLICA_FALLBACKS.inc()
        await self.session.close()
        self.session = self.db.firm_session(self.viewer.firm_id)
        self.on_replica = False
        return await self.db.read(self.session, work)

    async def write(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run a mutation's work in its own transaction, with the webhook deliveries of the
        audit events it records, then let reads see what it committed.

        The read session ends its transaction first, handing its connection back to the pool:
        a request never holds two connections, so a burst of mutations cannot starve the pool.
        """
        async with self.lock:
            self.check_deadline()
            await self.db.end_read(self.session)

        async def work_and_tell(session: AsyncSession) -> T:
            result = await work(session)
            webhook_events.enqueue_at_close(session)
            return result

        try:
            result = await self.db.write(work_and_tell, firm_id=self.viewer.firm_id)
        except DatabaseUnavailable as error:
            self.unavailable = self.unavailable or error
            raise
        except CommitOutcomeUnknown:
            self.may_have_written = True
            await self._wrote()
            raise
        except DBAPIError as error:
            if not tenancy.is_timeout(error):
                raise
            raise RequestTimeout(
                "The change waited too long for the database (a lock or a slow statement) and "
                "was not applied."
            ) from error
        self.may_have_written = True
        await self._wrote()
        self._loaders = None
        self._named_loaders.clear()
        return result

    async def _wrote(self) -> None:
        if self.replica is not None:
            await self.replica.wrote(caller_of(self.viewer))

    async def write_showing(
        self,
        work: Callable[[AsyncSession], Awaitable[object]],
        relation: Relation,
        key: Any,
        *,
        also: Sequence[tuple[Relation, Any]] = (),
    ) -> Any:
        """Run a mutation's `work` as `write` does, then read the row of `key` its payload
        shows through `relation` (as the caller may see it: None if not) at the end of the
        same transaction, and keep it in the request's loaders; likewise each (relation, key)
        of `also`, a row the payload shows beside it (an account's new owner). The payload
        then costs no transaction of its own, and shows the rows as this mutation left them."""
        wanted = [(relation, [key]), *((each, [each_key]) for each, each_key in also)]
        _, shown = await self.write_and_show(work, lambda _: wanted)
        return shown[0][0]

    async def write_and_show(
        self,
        work: Callable[[AsyncSession], Awaitable[T]],
        shows: Callable[[T], Sequence[tuple[Relation, list[Any]]]],
    ) -> tuple[T, list[list[Any]]]:
        """`write_showing` for rows known only once `work` has run: `shows` names, from its
        result, the rows (relation, keys) the payload shows. The result, and those rows (None
        where the caller may not see one), in the order `shows` names them."""
        shown: list[list[Any]] = []
        wanted: list[tuple[Relation, list[Any]]] = []

        async def work_and_read(session: AsyncSession) -> T:
            result = await work(session)
            await session.flush()

            run = on_session(session)

            wanted[:] = shows(result)
            shown[:] = [
                await load_relation(run, each, self.viewer, self.lists, keys) if keys else []
                for each, keys in wanted
            ]
            return result

        result = await self.write(work_and_read)
        for (each, keys), rows in zip(wanted, shown, strict=True):
            loader = self.loaders.of(each)
            for each_key, row in zip(keys, rows, strict=True):
                loader.prime(each_key, row)
        return result, shown

    async def rehearse(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """A mutation's work run in its own transaction and rolled back (a dry run): the same
        locks, rights and user errors as `write`, and nothing written."""
        async with self.lock:
            self.check_deadline()
            await self.db.end_read(self.session)
        try:
            return await self.db.rehearse(work, firm_id=self.viewer.firm_id)
        except DatabaseUnavailable as error:
            self.unavailable = self.unavailable or error
            raise
        except DBAPIError as error:
            if not tenancy.is_timeout(error):
                raise
            raise RequestTimeout(
                "The dry run waited too long for the database (a lock or a slow statement)."
            ) from error

    async def renew(self) -> None:
        """Before a live event on a long-lived context: the caller as the database says now,
        and loaders that forget what they read for the previous event."""
        if self.reauthenticate is not None:
            async with self.lock:
                self.viewer = await self.reauthenticate(self.session)
        self._loaders = None
        self._named_loaders.clear()

    async def end_read(self) -> None:
        """End the read transaction and hand its connection back while nothing is read (a
        websocket waiting for its next event)."""
        async with self.lock:
            await self.db.end_read(self.session)

    def raise_if_unavailable(self) -> None:
        """Fail the whole request with the database error if that is safe to retry."""
        if self.unavailable is not None and not self.may_have_written:
            raise self.unavailable

    async def end_transaction(self) -> None:
        """End the read session's transaction (after a statement failed); the session stays
        usable and its next read opens a new one."""
        async with self.lock:
            await self.session.close()

    def stop_reading(self) -> None:
        """The answer is ready: a read that a task left behind would start now stops instead,
        as after `close`, which may come later (after the answer is sent)."""
        self.closed = True

    async def close(self) -> None:
        """End the request's session for good. A connection lost by then is discarded, not
        reported: the request's answer does not depend on it (see `DatabaseSession`)."""
        async with self.lock:
            self.closed = True
            await self.session.close()


def caller_of(viewer: Viewer) -> tuple[uuid.UUID, uuid.UUID | None, uuid.UUID | None]:
    """Whose writes a read must see (read-your-writes): a user, an API key, a portal contact."""
    return (viewer.user_id, viewer.api_key_id, viewer.contact_id)


RECOVERY_CONFLICT_SQLSTATES = frozenset({"40001", "57P04"})
"""A hot standby cancels a statement whose rows replay must remove (serialization_failure)
or whose database was dropped (database_dropped)."""


def replica_cannot_answer(error: DBAPIError) -> bool:
    return getattr(error.orig, "sqlstate", None) in RECOVERY_CONFLICT_SQLSTATES
