"""What a request leaves until its answer is sent: a read's session, whose ROLLBACK (the read's
last round trip) then no longer stands between the request and its answer (issue 17, point 2).

`answering` wraps the sending of one HTTP answer; `defer` moves the closes a request holds to
the end of that block, which runs them however it ends: the answer sent, its sending failed,
or the task cancelled. A request served without the block closes them at once."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.types import Scope

logger = logging.getLogger("clientgraph")

AFTER_RESPONSE = "clientgraph.after_response"
"""Where `answering` keeps the closes deferred, in the scope's `state` (which the copies of a
scope that a request makes share)."""


@contextlib.asynccontextmanager
async def answering(scope: Scope) -> AsyncIterator[None]:
    """While the block runs, `defer` may leave work to its end. A close that fails there is
    logged: the answer is gone, and cannot change."""
    state = scope.setdefault("state", {})
    later = contextlib.AsyncExitStack()
    state[AFTER_RESPONSE] = later
    try:
        yield
    finally:
        state.pop(AFTER_RESPONSE, None)
        try:
            await later.aclose()
        except Exception:
            logger.exception("closing a request's session after its answer failed")


def defer(scope: Scope, held: contextlib.AsyncExitStack) -> None:
    """Move what `held` would close to after the answer is sent, when `answering` serves the
    request; `held` is left as it is (closing at once) when it does not."""
    later = scope.get("state", {}).get(AFTER_RESPONSE)
    if later is not None:
        later.push_async_exit(held.pop_all())
