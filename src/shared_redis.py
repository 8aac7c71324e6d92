"""The Redis every process of a deployment shares (`REDIS_URL`): rate limits, persisted
documents, callers' latest writes. One timeout for all: a Redis that does not answer within it
is skipped (each user says how), never waited on."""

from __future__ import annotations

import redis.asyncio

REDIS_TIMEOUT_S = 1.0


def client(url: str) -> redis.asyncio.Redis:
    """A client of the shared Redis at `url`, connecting and answering within the timeout."""
    return redis.asyncio.Redis.from_url(
        url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
    )
