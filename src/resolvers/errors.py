"""Failures a resolver reports: top-level errors (rights, bad requests) and user errors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from clientgraph.resolvers.enums import UserErrorCode


class Forbidden(Exception):
    """The caller lacks a right; reported as a top-level error with code FORBIDDEN."""

    def __init__(self, message: str = "You do not have the right to do this.") -> None:
        super().__init__(message)


class RateLimited(Exception):
    """Too many failed attempts; top-level error with code RATE_LIMITED."""


class RequestTimeout(Exception):
    """The request ran out of time (its deadline, or the database's statement or lock timeout);
    top-level error with code TIMEOUT. Whatever the mutation changed was rolled back."""


class BadUserInput(Exception):
    """An argument the schema cannot reject by type; top-level error with code BAD_USER_INPUT."""


class TooLong(BadUserInput):
    """A list or text over a limit: BAD_USER_INPUT, with `extensions.reason` TOO_LONG so that
    clients can tell it from other bad input without reading the message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.extensions = {"code": "BAD_USER_INPUT", "reason": "TOO_LONG"}


@dataclass(frozen=True)
class UserError:
    field: list[str] | None
    code: UserErrorCode
    message: str


class UserErrors(Exception):
    """Raised inside a mutation: its transaction rolls back and the payload lists the errors."""

    def __init__(self, errors: Sequence[UserError]) -> None:
        super().__init__("; ".join(error.message for error in errors))
        self.errors = list(errors)


def fail(field: list[str] | None, code: UserErrorCode, message: str) -> UserErrors:
    """One user error, ready to raise: `raise fail(["name"], UserErrorCode.REQUIRED, "...")`."""
    return UserErrors([UserError(field, code, message)])
