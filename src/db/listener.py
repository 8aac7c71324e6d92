"""One connection that LISTENs on a PostgreSQL channel for as long as it is wanted, and
connects again when it is lost. Live events (db/live.py) and the caller cache
(auth/caller_cache.py) each keep one per process.

LISTEN needs a connection of its own outside the pool: it cannot pass a transaction pooler,
and a pooled connection is handed to other requests between transactions."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

logger = logging.getLogger("clientgraph")

RECONNECT_S = 1.0


def listen_dsn(url: str) -> str | None:
    """Where asyncpg LISTENs for the database of SQLAlchemy URL `url`; None on SQLite, which
    has no notifications."""
    if url.startswith("sqlite"):
        return None
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def listen(
    dsn: str,
    channel: str,
    received: Callable[[str], None],
    *,
    connected: asyncio.Event,
    application_name: str,
    on_listening: Callable[[], None] = lambda: None,
) -> None:
    """Until cancelled: LISTEN on `channel` and hand each payload to `received`. `connected`
    is set while the connection listens and cleared as soon as it is lost; `on_listening` is
    called each time it listens again, before `connected` is set. Whoever relies on hearing
    every notification thus knows when it may not have."""
    while True:
        try:
            connection = await asyncpg.connect(
                dsn, server_settings={"application_name": application_name}
            )
        except (OSError, asyncpg.PostgresError) as error:
            logger.warning("%s: cannot LISTEN (%s); retrying", application_name, error)
        else:
            await _listen_on(connection, channel, received, connected, on_listening)
            logger.warning("%s: the listening connection was lost; reconnecting", application_name)
        await asyncio.sleep(RECONNECT_S)


async def _listen_on(
    connection: asyncpg.Connection,
    channel: str,
    received: Callable[[str], None],
    connected: asyncio.Event,
    on_listening: Callable[[], None],
) -> None:
    lost = asyncio.Event()

    def hear(_connection: Any, _pid: int, _channel: str, payload: str) -> None:
        received(payload)

    try:
        connection.add_termination_listener(lambda _: lost.set())
        await connection.add_listener(channel, hear)
        on_listening()
        connected.set()
        await lost.wait()
    finally:
        connected.clear()
        if not connection.is_closed():
            await asyncio.shield(connection.close(timeout=5))
