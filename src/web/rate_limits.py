"""Rate limits, with the `limits` library: a budget of nodes per minute for each caller
(GitHub's points, counted in nodes), a budget of failed authentications per minute for each
client address, and the throttle of failed password checks (web/sign_in_throttle.py). Where the
counters live, and what happens when their store does not answer: web/budgets.py."""

from __future__ import annotations

from clientgraph.settings import Settings
from clientgraph.web.budgets import Budget, budget, counter_storage
from clientgraph.web.sign_in_throttle import SignInThrottle
from limits import RateLimitItemPerMinute
from limits.aio.strategies import FixedWindowRateLimiter

__all__ = ["Budget", "RateLimits"]


class RateLimits:
    def __init__(self, settings: Settings) -> None:
        self.storage = counter_storage(settings)
        self.limiter = FixedWindowRateLimiter(self.storage)
        self.nodes = RateLimitItemPerMinute(settings.rate_limit_nodes_per_minute, namespace="nodes")
        self.failed_auth = RateLimitItemPerMinute(
            settings.rate_limit_failed_auth_per_minute, namespace="failed-auth"
        )
        self.sign_ins = SignInThrottle(settings, self.storage)

    async def failed_auth_budget(self, address: str) -> Budget | None:
        return await budget(self.limiter, self.failed_auth, address)

    async def record_failed_auth(self, address: str) -> Budget | None:
        return await budget(self.limiter, self.failed_auth, address, charge=1)

    async def nodes_budget(self, caller: str) -> Budget | None:
        return await budget(self.limiter, self.nodes, caller)

    async def charge_nodes(self, caller: str, nodes: int) -> Budget | None:
        """Charge what a request asked for; at least one node, as GitHub charges at least
        one point."""
        return await budget(self.limiter, self.nodes, caller, charge=max(1, nodes))
