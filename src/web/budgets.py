"""Counting against a limit with the `limits` library, where the counters live (Redis when
`REDIS_URL` is set, so every worker and machine shares them, else this process's memory), and
what is left of a limit as the `RateLimit-*` headers tell it.

A counting store that does not answer must not take the API down with it: the count is
skipped (None), the request goes through unlimited, and the failure is logged."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from clientgraph import metrics, shared_redis
from clientgraph.settings import Settings
from clientgraph.web.errors import HttpError
from limits import RateLimitItem
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import RateLimiter
from limits.errors import StorageError

logger = logging.getLogger("clientgraph.rate_limits")


@dataclass(frozen=True, slots=True)
class Budget:
    """What is left of one limit, as the `RateLimit-*` headers tell it."""

    limit: int
    remaining: int
    reset_in: int
    name: str = "other"
    """The limit's name (its `limits` namespace), for the count of refusals."""

    @property
    def spent(self) -> bool:
        return self.remaining <= 0

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_in),
        }

    def exceeded(self, message: str) -> HttpError:
        """The 429 refusal (counted by the limit's name)."""
        metrics.RATE_LIMIT_REFUSALS.labels(self.name).inc()
        return HttpError(429, message, {**self.headers(), "Retry-After": str(self.reset_in)})


def counter_storage(settings: Settings) -> Storage:
    if settings.redis_url is None:
        return MemoryStorage()
    return RedisStorage(
        "async+" + settings.redis_url,
        implementation="redispy",
        key_prefix=settings.redis_key_prefix,
        wrap_exceptions=True,
        socket_timeout=shared_redis.REDIS_TIMEOUT_S,
        socket_connect_timeout=shared_redis.REDIS_TIMEOUT_S,
    )


async def budget(
    limiter: RateLimiter, item: RateLimitItem, *keys: str, charge: int = 0
) -> Budget | None:
    """The budget of `item` for `keys` after charging `charge`, or None when the store cannot
    be reached."""
    try:
        if charge:
            await limiter.hit(item, *keys, cost=charge)
        stats = await limiter.get_window_stats(item, *keys)
    except StorageError as error:
        logger.error("rate limit store unreachable, not limiting: %s", error.storage_error)
        return None
    reset_in = math.ceil(stats.reset_time - time.time())
    if reset_in <= 0:
        reset_in = item.get_expiry()
    return Budget(
        limit=item.amount, remaining=stats.remaining, reset_in=reset_in, name=item.namespace
    )
