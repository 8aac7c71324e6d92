"""Whether the database is ready for requests, and bringing it there in the background when
the server starts before its database does."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from clientgraph.db.engine import Database, DatabaseUnavailable, connection_lost
from clientgraph.db.migrate import head_revisions
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_random_exponential

logger = logging.getLogger("clientgraph.db")

CHECK_TIMEOUT_S = 5.0


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

    async def migrate_until_done(self) -> None:
        """Apply migrations, retrying while the database cannot be reached (backoff with full
        jitter, at most 30 s apart). Any other failure is logged and leaves the service
        unready: a broken migration needs an operator, not a retry loop."""
        retrying = AsyncRetrying(
            wait=wait_random_exponential(multiplier=0.5, max=30.0),
            retry=retry_if_exception(connection_lost),
            before_sleep=_log_retry,
            reraise=True,
        )
        try:
            assert self.migrate is not None
            await retrying(asyncio.to_thread, self.migrate)
        except Exception:
            logger.exception("migrating the database failed; the service stays unready")
            return
        self.migrating = False
        logger.info("database reachable and migrated: ready")


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
