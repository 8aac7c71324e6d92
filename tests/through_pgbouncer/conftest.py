"""The `database` of the modules here: the run's PostgreSQL database as the app role,
through a PgBouncer of this package's own in transaction mode with fewer server connections
than the app's pool, and the engine set up for it (`CLIENTGRAPH_PGBOUNCER`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from clientgraph.db.engine import Database

from tests.conftest import postgresql_url
from tests.pgbouncer import running_pgbouncer
from tests.support import APP_ROLE, OWNER_URLS, settings_for

SERVER_CONNECTIONS = 4


@pytest.fixture(scope="session", params=["pgbouncer"])
async def database() -> AsyncIterator[Database]:
    async with postgresql_url() as direct_url:
        app_url = settings_for(direct_url).server_database_url()
        async with running_pgbouncer(
            direct_url, users=("postgres", APP_ROLE), pool_size=SERVER_CONNECTIONS
        ) as bouncer:
            url = bouncer.url(app_url)
            OWNER_URLS[url] = direct_url
            db = Database(url, pool_size=20, pgbouncer=True, listen_url=app_url)
            try:
                yield db
            finally:
                await db.dispose()
