"""Read-your-writes across processes: each caller's latest write, in Redis (`REDIS_URL`), so
that whichever process serves their next query sends it to the primary until the replica
shows the write (db/replica.py).

A write is kept as the wall-clock time its commit returned (`time.time()`), under the
caller's key, for `keep_s` (the replica's `max_lag_s`; older writes are forgotten, as a
process forgets its own). Wall clocks, not `time.monotonic()`, because the process that reads
the time is not the one that wrote it: processes on one machine share its clock; machines must
keep theirs in step (NTP), within `CLOCK_MARGIN_S`, which `Replica` adds to every remote write.

Redis not answering is logged (once until it answers again) and reported as `Unknown`: the
caller's read then goes to the primary, which is never wrong, only slower."""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Hashable

import redis.exceptions
from clientgraph import shared_redis

logger = logging.getLogger("clientgraph.db")

CLOCK_MARGIN_S = 0.1
"""How far apart two machines' clocks may be; a write is taken as that much later."""

_KEEP_LATEST = """
local kept = redis.call('GET', KEYS[1])
if kept and tonumber(kept) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
"""Set the caller's write time unless Redis holds a later one: two processes' writes may
reach Redis in the other order than they committed, and the earlier must not hide the later."""


class Unknown(Exception):
    """Redis did not say whether the caller wrote."""


class SharedWrites:
    """Callers' latest writes, as wall-clock seconds, in Redis under `{prefix}:wrote:`."""

    def __init__(self, url: str, prefix: str, keep_s: float) -> None:
        self.client = shared_redis.client(url)
        self.prefix = f"{prefix}:wrote:"
        self.keep_ms = math.ceil(keep_s * 1000)
        self.keep_latest = self.client.register_script(_KEEP_LATEST)
        self.failing = False

    async def wrote(self, caller: Hashable, at: float) -> None:
        """Remember that `caller` wrote at `at` (wall-clock seconds), for `keep_s`, unless a
        later write of theirs is remembered already."""
        try:
            await self.keep_latest(keys=[self._key(caller)], args=[repr(at), self.keep_ms])
        except (redis.exceptions.RedisError, OSError) as error:
            self._failed(error)
            return
        self._answered()

    async def written_at(self, caller: Hashable) -> float | None:
        """When `caller` last wrote, within `keep_s`; None if they did not. Raises `Unknown`
        when Redis does not answer."""
        try:
            found = await self.client.get(self._key(caller))
        except (redis.exceptions.RedisError, OSError) as error:
            self._failed(error)
            raise Unknown from error
        self._answered()
        return float(found) if found is not None else None

    async def close(self) -> None:
        await self.client.aclose()

    def _key(self, caller: Hashable) -> str:
        parts = caller if isinstance(caller, tuple) else (caller,)
        return self.prefix + ":".join(
            part.hex if isinstance(part, uuid.UUID) else "-" if part is None else str(part)
            for part in parts
        )

    def _failed(self, error: BaseException) -> None:
        if not self.failing:
            logger.error(
                "read-your-writes: Redis unreachable (%s); callers' reads go to the primary",
                error,
            )
        self.failing = True

    def _answered(self) -> None:
        if self.failing:
            logger.info("read-your-writes: Redis answers again")
        self.failing = False
