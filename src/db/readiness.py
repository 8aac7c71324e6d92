"""Whether the database is ready for requests, and bringing it there in the background when
the server starts before its database does."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from clientgraph.db.engine import Database, DatabaseUnavailable, connection_lost
from clientgraph.db.migrate import head_revisions
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    retry_if_exception_type,
    wait_random_exponential,
)

logger = logging.getLogger("clientgraph.db")

CHECK_TIMEOUT_S = 5.0
READY_POLL_MAX_S = 5.0
"""At most this long between two looks at the database by work that waits for it to be ready."""


class Readiness:
    """Ready means: the database answers, and it is at the newest migration.

    Given a blocking `migrate` function (how `clientgraph serve` starts on a server database),
    the migration runs in the background, retried with backoff for as long as the database
    cannot be reached; until it has succeeded, requests are refused with DatabaseUnavailable.
    """

    def __init__(self, db: Database, *, migrate: Callable[[], None] | None = None) -> None:
        self.db = db
        self.migrate = migrate
        self.migrating = migrate is not None
        self.heads = head_revisions()
        self._attempted = asyncio.Event()

    def require_started(self) -> None:
        if self.migrating:
            raise DatabaseUnavailable(
                "The service is starting: its database is not reachable or not migrated yet."
            )

    async def check(self) -> None:
        """Raises DatabaseUnavailable unless the database answers at the newest migration."""
        self.require_started()
        try:
            versions = await self._versions()
        except (DBAPIError, OSError) as error:
            if not connection_lost(error):
                raise DatabaseUnavailable("The database schema is not migrated.") from error
            try:
                versions = await self._versions()
            except (DBAPIError, OSError) as again:
                if connection_lost(again):
                    raise DatabaseUnavailable("The database is not reachable.") from again
                raise DatabaseUnavailable("The database schema is not migrated.") from again
        if versions != self.heads:
            raise DatabaseUnavailable("The database schema is not at the newest migration.")

    async def _versions(self) -> frozenset[str]:
        """The migrations applied; asked once more on a fresh connection by `check` when the
        pooled one turns out dead (the pool does not ping before handing it out)."""
        async with asyncio.timeout(CHECK_TIMEOUT_S), self.db.engine.connect() as connection:
            found = await connection.execute(text("SELECT version_num FROM alembic_version"))
            return frozenset(found.scalars())

    async def migrate_until_done(self) -> bool:
        """Apply migrations, retrying while the database cannot be reached (backoff with full
        jitter, at most 30 s apart); whether they were applied. Any other failure is logged
        and leaves the service unready: a broken migration needs an operator, not a retry
        loop."""
        retrying = AsyncRetrying(
            wait=wait_random_exponential(multiplier=0.5, max=30.0),
            retry=retry_if_exception(connection_lost),
            before_sleep=self._migration_failed,
            reraise=True,
        )
        try:
            assert self.migrate is not None
            await retrying(asyncio.to_thread, self.migrate)
        except Exception:
            logger.exception("migrating the database failed; the service stays unready")
            return False
        finally:
            self._attempted.set()
        self.migrating = False
        logger.info("database reachable and migrated: ready")
        return True

    async def first_migration_attempt(self, timeout_s: float) -> None:
        """Returns when the first migration attempt has ended (done, or failed and retrying
        in the background), or after `timeout_s`: a server whose database is up is ready
        when it starts listening, and one whose database is down still starts."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._attempted.wait(), timeout_s)

    def _migration_failed(self, state: RetryCallState) -> None:
        self._attempted.set()
        _log_retry(state)

    async def wait_until_ready(self, what: str) -> None:
        """Returns once `check` passes: the database answers at the newest migration (for a
        migrating service, once its migration is done). `what` waits; it is logged once if
        it has to wait."""
        retrying = AsyncRetrying(
            wait=wait_random_exponential(multiplier=0.2, max=READY_POLL_MAX_S),
            retry=retry_if_exception_type(DatabaseUnavailable),
            before_sleep=lambda state: _log_waiting(what, state),
        )
        await retrying(self.check)


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    delay = state.next_action.sleep if state.next_action else 0.0
    logger.warning(
        "database not reachable (%s: %s); attempt %d, retrying in %.1f s",
        type(error).__name__,
        error,
        state.attempt_number,
        delay,
    )


def _log_waiting(what: str, state: RetryCallState) -> None:
    if state.attempt_number == 1:
        error = state.outcome.exception() if state.outcome else None
        logger.warning("%s waits until the database is ready (%s)", what, error)
