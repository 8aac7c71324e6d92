"""Passwords, hashed with argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile), for
every kind of person who signs in: staff users and client-portal contacts.

Hashing takes tens of milliseconds of CPU and 64 MiB on purpose, so it runs in a worker thread:
the event loop keeps serving other requests meanwhile."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 256
"""Long enough for any passphrase; short enough that nobody makes the server hash megabytes."""

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("a password nobody has, for failures to take as long as successes")


class WeakPassword(ValueError):
    """A new password that is too short or too long; the message says which."""


def check_new_password(password: object) -> str:
    """`password` if it may be set, else WeakPassword."""
    if not isinstance(password, str):
        raise WeakPassword("The password must be a string.")
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"The password must have at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"The password may have at most {MAX_LENGTH} characters.")
    if "\x00" in password:
        raise WeakPassword("The password may not contain NUL characters.")
    return password


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(stored_hash: str | None, password: str) -> bool:
    if len(password) > MAX_LENGTH:
        password = password[:MAX_LENGTH]
        stored_hash = None
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether `password` matches `stored_hash`. With no hash (an unknown person) a dummy hash
    is checked instead and False returned, so that the answer takes as long either way."""
    return await asyncio.to_thread(_verify, stored_hash, password)
