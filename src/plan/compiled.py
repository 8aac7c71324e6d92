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


class CompiledStatements:
    """What SQLAlchemy's `compiled_cache` execution option asks of a cache (`get` and setting
    an item), over a BoundedLru."""

    def __init__(self, max_count: int, max_bytes: int) -> None:
        self.cache: BoundedLru[Any, Compiled] = BoundedLru(max_count, max_bytes)

    def get(self, key: Any, default: Compiled | None = None) -> Compiled | None:
        return self.cache.get(key, default)

    def __setitem__(self, key: Any, compiled: Compiled) -> None:
        self.cache.put(key, compiled, BYTES_PER_SQL_CHARACTER * len(compiled.string))
