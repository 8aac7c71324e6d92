"""Guessing passwords, slowed: every check of a password (staff sign-in, portal sign-in, the
current password of `changePassword`) counts its failures against a *subject* (what the
password is checked for: an e-mail, `portal:` and an e-mail, `change-password:` and a user id)
in two ways, each a moving window:

- **per subject and client address**, `CLIENTGRAPH_SIGN_IN_ATTEMPTS` (5) within
  `CLIENTGRAPH_SIGN_IN_WINDOW_S` (15 minutes): past it, that address waits out the window, even
  with the right password. A success clears this count.
- **per subject from every address**, `CLIENTGRAPH_SIGN_IN_EMAIL_ATTEMPTS` (20) within
  `CLIENTGRAPH_SIGN_IN_EMAIL_WINDOW_S` (an hour): past it, the subject is refused from every
  address where it has not succeeded within `CLIENTGRAPH_SIGN_IN_KNOWN_ADDRESS_TTL_S` (30
  days). A success does not clear this count: it is the guesser's, not the person's.

The exception for known addresses is what keeps the second count from being a way to lock a
person out: whoever knows an e-mail can spend its 20 failures an hour from anywhere, but not
refuse it where its owner signed in lately (Microsoft Entra's "familiar locations" do the same).
A guesser with many addresses gets 20 guesses an hour, at most 5 of them from any one address.

Refused attempts check no password and count nothing. Counters live where the other rate limits
do (web/budgets.py); a store that does not answer limits nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from clientgraph.settings import Settings
from clientgraph.web.budgets import Budget, budget
from limits import RateLimitItemPerSecond
from limits.aio.storage import Storage
from limits.aio.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter
from limits.errors import StorageError

logger = logging.getLogger("clientgraph.rate_limits")


class SignInThrottle:
    def __init__(self, settings: Settings, storage: Storage) -> None:
        self.failures = MovingWindowRateLimiter(storage)
        self.successes = FixedWindowRateLimiter(storage)
        self.per_address = RateLimitItemPerSecond(
            settings.sign_in_attempts, settings.sign_in_window_s, namespace="failed-sign-in"
        )
        self.per_subject = RateLimitItemPerSecond(
            settings.sign_in_email_attempts,
            settings.sign_in_email_window_s,
            namespace="failed-sign-in-any-address",
        )
        self.known_address = RateLimitItemPerSecond(
            1, settings.sign_in_known_address_ttl_s, namespace="signed-in-from"
        )

    async def refusal(self, subject: str, address: str) -> Budget | None:
        """The spent budget that refuses a password check of `subject` from `address` now, or
        None when the password may be checked."""
        here = await budget(self.failures, self.per_address, subject, address)
        if here is not None and here.spent:
            return here
        everywhere = await budget(self.failures, self.per_subject, subject)
        if everywhere is not None and everywhere.spent and not await self._known(subject, address):
            return everywhere
        return None

    async def failed(self, subject: str, address: str) -> None:
        await budget(self.failures, self.per_address, subject, address, charge=1)
        await budget(self.failures, self.per_subject, subject, charge=1)

    async def succeeded(self, subject: str, address: str) -> None:
        """Forget the address's failures, and remember the address (for the next 30 days, by
        default) as one where `subject` signs in."""
        try:
            await self.failures.clear(self.per_address, subject, address)
            await self.successes.clear(self.known_address, subject, address)
            await self.successes.hit(self.known_address, subject, address)
        except StorageError as error:
            logger.error("rate limit store unreachable, not recorded: %s", error.storage_error)

    async def _known(self, subject: str, address: str) -> bool:
        try:
            return not await self.successes.test(self.known_address, subject, address)
        except StorageError as error:
            logger.error("rate limit store unreachable, not limiting: %s", error.storage_error)
            return True

    def from_address(self, address: str) -> PasswordChecksFrom:
        return PasswordChecksFrom(self, address)


@dataclass(frozen=True, slots=True)
class PasswordChecksFrom:
    """The throttle for one request's client address: what a resolver checking a password
    (`changePassword`) is given (resolvers.context.PasswordAttempts)."""

    throttle: SignInThrottle
    address: str

    async def retry_after(self, subject: str) -> int | None:
        refused = await self.throttle.refusal(subject, self.address)
        return refused.reset_in if refused is not None else None

    async def failed(self, subject: str) -> None:
        await self.throttle.failed(subject, self.address)

    async def succeeded(self, subject: str) -> None:
        await self.throttle.succeeded(subject, self.address)
