"""Password hashing with argon2id (argon2-cffi, its RFC 9106 low-memory profile), shared by
every kind of sign-in.

Hashing costs about 0.1 s of CPU and 64 MiB on purpose, so it runs in a worker thread (the
event loop keeps serving) and the default executor's few threads bound how many run at once.
Passwords are bounded in length before they reach the hasher."""

from __future__ import annotations

import asyncio
import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
MAX_LENGTH = 256
"""Characters. Long enough for any passphrase or manager-made password; short enough that
nobody makes the server hash megabytes."""

_hasher = PasswordHasher()


class PasswordRejected(ValueError):
    """A new password breaks a rule; `reason` is TOO_SHORT or TOO_LONG."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def check_new_password(password: str) -> str:
    """`password` if it may become a password, else PasswordRejected."""
    if len(password) < MIN_LENGTH:
        raise PasswordRejected("TOO_SHORT", f"A password needs at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        raise PasswordRejected("TOO_LONG", f"A password may have at most {MAX_LENGTH} characters.")
    return password


def hash_sync(password: str) -> str:
    return _hasher.hash(password)


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(hash_sync, password)


def needs_rehash(password_hash: str) -> bool:
    """Whether a hash was made with other parameters than today's (a sign-in then stores a
    new one, since only then is the password known)."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@functools.cache
def _dummy_hash() -> str:
    """A hash no password is known for, verified when there is no real one so that an
    unknown user costs the same time as a wrong password."""
    return _hasher.hash(secrets.token_urlsafe(32))


def verify_sync(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches `password_hash`; with no hash (no such user, or no password
    set yet) a dummy is verified instead and the answer is False. An over-long password is
    refused without hashing it."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    return await asyncio.to_thread(verify_sync, password_hash, password)
