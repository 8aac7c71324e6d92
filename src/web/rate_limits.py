"""Rate limits, with the `limits` library: a budget of nodes per minute for each caller
(GitHub's points, counted in nodes), a budget of failed authentications per minute for each
client address, and of failed sign-ins per e-mail and client address (a moving window, five in
15 minutes by default; staff and portal sign-ins counted apart). Counters live in Redis when
`REDIS_URL` is set, so every worker and machine shares them, and in this process's memory
otherwise.

A counting store that does not answer must not take the API down with it: the request goes
through unlimited, and the failure is logged."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from clientgraph.settings import Settings
from clientgraph.web.errors import HttpError
from limits import RateLimitItem, RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter, RateLimiter
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
        self.sign_in_limiter = MovingWindowRateLimiter(self.storage)
        self.failed_sign_in = RateLimitItemPerSecond(
            settings.sign_in_attempts, settings.sign_in_window_s, namespace="failed-sign-in"
        )

    async def sign_in_budget(self, email: str, address: str) -> Budget | None:
        return await self._budget(self.failed_sign_in, email, address, limiter=self.sign_in_limiter)

    async def record_failed_sign_in(self, email: str, address: str) -> Budget | None:
        return await self._budget(
            self.failed_sign_in, email, address, charge=1, limiter=self.sign_in_limiter
        )

    async def clear_failed_sign_ins(self, email: str, address: str) -> None:
        """A successful sign-in forgets the failures before it."""
        try:
            await self.sign_in_limiter.clear(self.failed_sign_in, email, address)
        except StorageError as error:
            logger.error("rate limit store unreachable, not cleared: %s", error.storage_error)

    async def password_retry_after(self, key: str) -> int | None:
        """For a signed-in caller's password checks (`changePassword`), counted like sign-ins."""
        budget = await self.sign_in_budget(key, "signed-in")
        return budget.reset_in if budget is not None and budget.spent else None

    async def record_wrong_password(self, key: str) -> None:
        await self.record_failed_sign_in(key, "signed-in")

    async def failed_auth_budget(self, address: str) -> Budget | None:
        return await self._budget(self.failed_auth, address)

    async def record_failed_auth(self, address: str) -> Budget | None:
        return await self._budget(self.failed_auth, address, charge=1)

    async def nodes_budget(self, caller: str) -> Budget | None:
        return await self._budget(self.nodes, caller)

    async def charge_nodes(self, caller: str, nodes: int) -> Budget | None:
        """Charge what a request asked for; at least one node, as GitHub charges at least
        one point."""
        return await self._budget(self.nodes, caller, charge=max(1, nodes))

    async def _budget(
        self,
        item: RateLimitItem,
        *keys: str,
        charge: int = 0,
        limiter: RateLimiter | None = None,
    ) -> Budget | None:
        """The budget after charging `charge`, or None when the store cannot be reached."""
        limiter = limiter or self.limiter
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
        return Budget(limit=item.amount, remaining=stats.remaining, reset_in=reset_in)
