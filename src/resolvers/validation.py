"""Every problem with an input reported at once, as Shopify does: a blank last name, a bad
e-mail and a bad phone are three user errors, not one per attempt.

    with checking() as check:
        name = check(required_text, input.name, ["name"])
        email = check(clean_email, input.email, ["email"])
    # here every check passed; leaving the block raised UserErrors listing all failures

Checks are the plain functions that raise `UserErrors` (one error or several, as a nested
`checking()` block does), so each rule stays written once and a check composed of others
reports all of theirs. A failed check returns None; a value is only used after the block.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar, cast

from clientgraph.resolvers.enums import UserErrorCode
from clientgraph.resolvers.errors import UserError, UserErrors

P = ParamSpec("P")
T = TypeVar("T")


class Checks:
    """The failures collected so far; call it with a check and its arguments."""

    def __init__(self) -> None:
        self.errors: list[UserError] = []

    def __call__(self, check: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return check(*args, **kwargs)
        except UserErrors as failure:
            self.extend(failure)
            return cast(T, None)

    async def wait(self, check: Awaitable[T]) -> T:
        """An asynchronous check (one that reads the database), collected the same way."""
        try:
            return await check
        except UserErrors as failure:
            self.extend(failure)
            return cast(T, None)

    def extend(self, failure: UserErrors) -> None:
        self.errors.extend(failure.errors)

    def add(self, field: list[str] | None, code: UserErrorCode, message: str) -> None:
        self.errors.append(UserError(field, code, message))

    @property
    def failed(self) -> bool:
        return bool(self.errors)


@contextmanager
def checking() -> Iterator[Checks]:
    """Collect the failures of the checks run in the block; raise them all at its end."""
    checks = Checks()
    yield checks
    if checks.errors:
        raise UserErrors(checks.errors)
