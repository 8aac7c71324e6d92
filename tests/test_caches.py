"""The one LRU every cache of documents, plans and persisted queries is: bounded by its number
of entries and by their bytes, least recently used out first."""

from __future__ import annotations

from clientgraph.caches import ENTRY_OVERHEAD_BYTES, BoundedLru
from clientgraph.plan.compiled import CompiledStatements

ENTRY = 1000
"""An entry's size as the tests give it; the cache adds its own overhead."""
KEPT = ENTRY + ENTRY_OVERHEAD_BYTES


def test_the_least_recently_used_entries_go_when_the_bytes_run_out() -> None:
    cache: BoundedLru[str, str] = BoundedLru(max_count=100, max_bytes=3 * KEPT)
    for key in "abc":
        cache.put(key, key.upper(), ENTRY)
    cache.get("a")

    cache.put("d", "D", ENTRY)

    assert [key for key in "abcd" if key in cache] == ["a", "c", "d"]
    assert cache.bytes == 3 * KEPT


def test_the_least_recently_used_entries_go_when_the_count_runs_out() -> None:
    cache: BoundedLru[str, str] = BoundedLru(max_count=2, max_bytes=100 * KEPT)
    for key in "abc":
        cache.put(key, key.upper(), ENTRY)

    assert [key for key in "abc" if key in cache] == ["b", "c"]
    assert len(cache) == 2


def test_one_large_entry_evicts_as_many_small_ones_as_its_bytes_need() -> None:
    cache: BoundedLru[str, str] = BoundedLru(max_count=100, max_bytes=4 * KEPT)
    for key in "abcd":
        cache.put(key, key.upper(), ENTRY)

    assert cache.put("large", "L", 2 * KEPT - ENTRY_OVERHEAD_BYTES)

    assert [key for key in ["a", "b", "c", "d", "large"] if key in cache] == ["c", "d", "large"]
    assert cache.bytes <= 4 * KEPT


def test_an_entry_larger_than_the_budget_is_not_kept_and_evicts_nothing() -> None:
    cache: BoundedLru[str, str] = BoundedLru(max_count=100, max_bytes=3 * KEPT)
    cache.put("a", "A", ENTRY)

    kept = cache.put("huge", "H", 3 * KEPT)

    assert not kept
    assert "huge" not in cache
    assert cache.get("a") == "A"


def test_an_entry_grown_past_the_budget_under_its_key_is_forgotten() -> None:
    """A stale value must not answer for a key whose new value could not be kept."""
    cache: BoundedLru[str, str] = BoundedLru(max_count=100, max_bytes=3 * KEPT)
    cache.put("a", "old", ENTRY)

    cache.put("a", "new", 3 * KEPT)

    assert cache.get("a") is None
    assert cache.bytes == 0


def test_replacing_an_entry_counts_its_new_size_only() -> None:
    cache: BoundedLru[str, str] = BoundedLru(max_count=100, max_bytes=10 * KEPT)
    cache.put("a", "A", ENTRY)

    cache.put("a", "AA", 2 * ENTRY)

    assert cache.get("a") == "AA"
    assert cache.bytes == 2 * ENTRY + ENTRY_OVERHEAD_BYTES


def test_a_cached_none_is_told_from_a_miss_by_membership() -> None:
    """The planned path remembers an invalid document as None."""
    cache: BoundedLru[str, None] = BoundedLru(max_count=10, max_bytes=10 * KEPT)
    cache.put("invalid", None, 0)

    assert "invalid" in cache
    assert "unknown" not in cache


class CountedKey(tuple):  # type: ignore[type-arg]
    """A statement's cache key that counts how often Python hashes it."""

    hashed = 0

    def __hash__(self) -> int:
        CountedKey.hashed += 1
        return super().__hash__()


def test_a_planned_statements_key_is_hashed_once_however_often_it_is_looked_up() -> None:
    """SQLAlchemy wraps the statement's one key tuple in a new tuple on every execution."""
    compiled = CompiledStatements(max_count=4, max_bytes=1 << 20)
    statement_key = CountedKey(("select", "thousands", "of", "members"))
    CountedKey.hashed = 0

    for _ in range(5):
        compiled.get(("dialect", statement_key, ("firm_id",), False, False))

    assert CountedKey.hashed == 1


def test_the_keys_remembered_for_their_hash_are_bounded_by_the_plans_kept() -> None:
    compiled = CompiledStatements(max_count=4, max_bytes=1 << 20)

    for index in range(10):
        compiled.get(("dialect", (f"statement {index}",), (), False, False))

    assert len(compiled.hashes.found) == 4
