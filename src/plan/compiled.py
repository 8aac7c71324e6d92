"""The compiled SQL of the planned statements SQLAlchemy executes (those whose SQL is not
fixed, db/driver_statement.py: a list expanded per execution), kept apart from SQLAlchemy's
engine-wide cache and bounded in bytes: each distinct plan compiles to 200 to 300 KiB (its
SQL, the compiler's maps of columns and parameters, and the statement's cache key), and the
engine's cache keeps 500 entries of any size, which a client sending distinct queries would
fill with them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from clientgraph.caches import BoundedLru
from sqlalchemy import Select
from sqlalchemy.engine import Compiled, Dialect
from sqlalchemy.sql.compiler import WARN_LINTING

BYTES_PER_SQL_CHARACTER = 72
"""A compiled plan with its cache key per character of its SQL: 50 to 70 measured for the
dashboard and the account page on both dialects (4 to 6 thousand characters each)."""


class StatementHashes:
    """The hash of each planned statement's cache key, worked out once per statement.

    SQLAlchemy keeps a statement's cache key (the same tuple of thousands of members on every
    execution) but hands the compiled cache a new tuple around it each time (dialect, key,
    column keys, flags), and Python keeps no tuple's hash: hashing it anew was a tenth of a
    planned read's CPU. The key tuples are remembered by identity, each held (so its id is
    not reused while remembered), at most `most` of them (as many as the plans kept), the
    oldest forgotten first."""

    def __init__(self, most: int) -> None:
        self.most = most
        self.found: dict[int, tuple[Any, int]] = {}

    def hash_of(self, key: tuple[Any, ...]) -> int:
        found = self.found.get(id(key))
        if found is not None and found[0] is key:
            return found[1]
        value = hash(key)
        if len(self.found) >= self.most:
            del self.found[next(iter(self.found))]
        self.found[id(key)] = (key, value)
        return value


class HashedKey:
    """A compiled cache key, `(dialect, statement key, column keys, flags…)` as SQLAlchemy
    asks for it, hashed with its statement key's remembered hash."""

    __slots__ = ("hash", "key")

    def __init__(self, key: tuple[Any, ...], hashes: StatementHashes) -> None:
        self.key = key
        self.hash = hash((hashes.hash_of(key[1]), key[0], *key[2:]))

    def __hash__(self) -> int:
        return self.hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HashedKey) and self.hash == other.hash and self.key == other.key


class CompiledStatements:
    """What SQLAlchemy's `compiled_cache` execution option asks of a cache (`get` and setting
    an item), over a BoundedLru."""

    def __init__(self, max_count: int, max_bytes: int) -> None:
        self.cache: BoundedLru[HashedKey, Compiled] = BoundedLru(max_count, max_bytes)
        self.hashes = StatementHashes(max_count)

    def get(self, key: Any, default: Compiled | None = None) -> Compiled | None:
        return self.cache.get(HashedKey(key, self.hashes), default)

    def __setitem__(self, key: Any, compiled: Compiled) -> None:
        self.cache.put(
            HashedKey(key, self.hashes), compiled, BYTES_PER_SQL_CHARACTER * len(compiled.string)
        )

    def compile_ahead(self, statement: Select[Any], dialect: Dialect, given: Iterable[str]) -> None:
        """Compile `statement` for `dialect` into this cache under the key its execution
        (`Connection.execute` with this cache as `compiled_cache`) will look up: a request's
        parameters are the ones always `given` and those the statement requires a value for
        (the plan's binders give exactly those).

        SQLAlchemy has no public way to fill a compiled cache without executing: this is the
        one place that reaches its private `_generate_cache_key` and `_compile_w_cache`, which
        `Connection.execute` calls the same way."""
        cache_key = statement._generate_cache_key()
        assert cache_key is not None
        required = {bind.key for bind in cache_key.bindparams if bind.required}
        statement._compile_w_cache(
            dialect,
            compiled_cache=self,
            column_keys=sorted(required.union(given)),
            for_executemany=False,
            schema_translate_map=None,
            linting=dialect.compiler_linting | WARN_LINTING,
        )
