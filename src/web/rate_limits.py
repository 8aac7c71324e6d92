"""Rate limits, with the `limits` library: a budget of nodes per minute for each caller
(GitHub's points, counted in nodes), a budget of failed authentications per minute for each
client address, and one of failed portal sign-ins per e-mail and client address. Counters
live in Redis when `REDIS_URL` is set, so every worker and machine shares them, and in this
process's memory otherwise.

A counting store that does not answer must not take the API down with it: the request goes
through unlimited, and the failure is logged."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from clientgraph.settings import Settings
from clientgraph.web.errors import HttpError
from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import StorageError

logger = logging.getLogger("clientgraph.rate_limits")

REDIS_TIMEOUT_S = 1.0


@dataclass(frozen=True, slots=True)
class Budget:
    """What is left of one limit, as the `RateLimit-*` headers tell it."""

    limit: int
    remaining: int
    reset_in: int

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
        return HttpError(429, message, {**self.headers(), "Retry-After": str(self.reset_in)})


def _storage(settings: Settings) -> Storage:
    if settings.redis_url is None:
        return MemoryStorage()
    return RedisStorage(
        "async+" + settings.redis_url,
        implementation="redispy",
        key_prefix=settings.redis_key_prefix,
        wrap_exceptions=True,
        socket_timeout=REDIS_TIMEOUT_S,
        socket_connect_timeout=REDIS_TIMEOUT_S,
    )


class RateLimits:
    def __init__(self, settings: Settings) -> None:
        self.storage = _storage(settings)
        self.limiter = FixedWindowRateLimiter(self.storage)
        self.nodes = RateLimitItemPerMinute(settings.rate_limit_nodes_per_minute, namespace="nodes")
        self.failed_auth = RateLimitItemPerMinute(
            settings.rate_limit_failed_auth_per_minute, namespace="failed-auth"
        )
        self.failed_portal_sign_in = RateLimitItemPerMinute(
            settings.rate_limit_failed_sign_ins,
            settings.rate_limit_failed_sign_ins_minutes,
            namespace="failed-portal-sign-in",
        )

    async def failed_auth_budget(self, address: str) -> Budget | None:
        return await self._budget(self.failed_auth, address)

    async def record_failed_auth(self, address: str) -> Budget | None:
        return await self._budget(self.failed_auth, address, charge=1)

    async def failed_portal_sign_in_budget(self, email_and_address: str) -> Budget | None:
        return await self._budget(self.failed_portal_sign_in, email_and_address)

    async def record_failed_portal_sign_in(self, email_and_address: str) -> Budget | None:
        return await self._budget(self.failed_portal_sign_in, email_and_address, charge=1)

    async def nodes_budget(self, caller: str) -> Budget | None:
        return await self._budget(self.nodes, caller)

    async def charge_nodes(self, caller: str, nodes: int) -> Budget | None:
        """Charge what a request asked for; at least one node, as GitHub charges at least
        one point."""
        return await self._budget(self.nodes, caller, charge=max(1, nodes))

    async def _budget(self, item: RateLimitItem, key: str, charge: int = 0) -> Budget | None:
        """The budget after charging `charge`, or None when the store cannot be reached."""
        try:
            if charge:
                await self.limiter.hit(item, key, cost=charge)
            stats = await self.limiter.get_window_stats(item, key)
        except StorageError as error:
            logger.error("rate limit store unreachable, not limiting: %s", error.storage_error)
            return None
        reset_in = math.ceil(stats.reset_time - time.time())
        if reset_in <= 0:
            reset_in = item.get_expiry()
        return Budget(limit=item.amount, remaining=stats.remaining, reset_in=reset_in)
