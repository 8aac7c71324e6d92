"""The planned statements' compiled SQL, kept apart from SQLAlchemy's engine-wide cache and
bounded in bytes: each distinct plan compiles to 200 to 300 KiB (its SQL, the compiler's
maps of columns and parameters, and the statement's cache key), and the engine's cache keeps
500 entries of any size, which a client sending distinct queries would fill with them."""

from __future__ import annotations

from typing import Any

from clientgraph.caches import BoundedLru
from sqlalchemy.engine import Compiled

BYTES_PER_SQL_CHARACTER = 72
"""A compiled plan with its cache key per character of its SQL: 50 to 70 measured for the
dashboard and the account page on both dialects (4 to 6 thousand characters each)."""


class HashedKey:
    """SQLAlchemy's cache key with its hash worked out once. The key of a planned statement
    is a tuple of thousands of members, which Python hashes anew on every use, and the LRU
    looks a key up four times per hit: hashing it was a tenth of a planned read's CPU."""

    __slots__ = ("hash", "key")

    def __init__(self, key: Any) -> None:
        self.key = key
        self.hash = hash(key)

    def __hash__(self) -> int:
        return self.hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HashedKey) and self.hash == other.hash and self.key == other.key


class CompiledStatements:
    """What SQLAlchemy's `compiled_cache` execution option asks of a cache (`get` and setting
    an item), over a BoundedLru."""

    def __init__(self, max_count: int, max_bytes: int) -> None:
        self.cache: BoundedLru[HashedKey, Compiled] = BoundedLru(max_count, max_bytes)

    def get(self, key: Any, default: Compiled | None = None) -> Compiled | None:
        return self.cache.get(HashedKey(key), default)

    def __setitem__(self, key: Any, compiled: Compiled) -> None:
        self.cache.put(HashedKey(key), compiled, BYTES_PER_SQL_CHARACTER * len(compiled.string))
