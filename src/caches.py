"""The one kind of cache every cache of documents, validation results, plans and persisted
queries is: least recently used first out, bounded by its number of entries and by their
bytes. Clients choose what gets cached (any text up to the body limit), so a bound by count
alone lets a few large documents fill a worker's memory.

Callers give each entry's size in bytes as they estimate it (see `document_bytes` and the
planner's plan size); an entry larger than the whole budget is not kept, and the request that
made it is answered all the same."""

from __future__ import annotations

from typing import Generic, NamedTuple, TypeVar

from cachetools import LRUCache

K = TypeVar("K")
V = TypeVar("V")

ENTRY_OVERHEAD_BYTES = 256
"""What the cache's own bookkeeping and a small key cost per entry, added to every size."""


class _Sized(NamedTuple, Generic[V]):
    value: V
    bytes: int


def _entry_bytes(entry: _Sized[object]) -> int:
    return entry.bytes


class BoundedLru(Generic[K, V]):
    """At most `max_count` entries and `max_bytes` of them; the least recently used go first."""

    def __init__(self, max_count: int, max_bytes: int) -> None:
        self.max_count = max_count
        self.max_bytes = max_bytes
        self._entries: LRUCache[K, _Sized[V]] = LRUCache(max_bytes, getsizeof=_entry_bytes)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    @property
    def bytes(self) -> int:
        """The estimated bytes of every entry kept."""
        return int(self._entries.currsize)

    @property
    def fill(self) -> float:
        """How full it is: the larger of its shares of the entries and of the bytes."""
        return max(len(self._entries) / self.max_count, self.bytes / self.max_bytes)

    def get(self, key: K, default: V | None = None) -> V | None:
        entry = self._entries.get(key)
        return default if entry is None else entry.value

    def put(self, key: K, value: V, size: int) -> bool:
        """Keep `value` (estimated at `size` bytes) unless it alone exceeds the byte budget;
        whether it was kept."""
        size += ENTRY_OVERHEAD_BYTES
        if size > self.max_bytes:
            self._entries.pop(key, None)
            return False
        self._entries[key] = _Sized(value, size)
        while len(self._entries) > self.max_count:
            self._entries.popitem()
        return True


MIB = 1024 * 1024
DOCUMENT_CACHE_BYTES = 8 * MIB
"""Default budget of each of the three caches of documents: the generic path's parsed documents
and its validation results, and the planned path's prepared documents."""
PLAN_CACHE_BYTES = 32 * MIB
"""Default budget of each of the planned path's caches of plans: the plans, and their compiled
SQL."""
