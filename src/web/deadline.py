"""A deadline per request: it starts when the request does, so authentication (a wait for an
identity provider's keys included) and reading the body spend of it too; the GraphQL work of a
request stops when its time is up or when its client goes away, and whatever it was doing in
the database stops with it.

The work runs as a task of its own, so that cancelling it cancels the statement it awaits:
asyncpg cancels the query on the server, the unfinished transaction rolls back, and
SQLAlchemy's pool resets (or, if the connection is in doubt, discards) the connection.
Work that runs long without awaiting (completing a large result from cached loads) cannot be
cancelled from outside; it checks `Context.deadline` at every list and statement instead.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import orjson
from clientgraph.resolvers.context import Context
from clientgraph.resolvers.errors import RequestTimeout
from clientgraph.schema.cost import cost_extension
from clientgraph.schema.extensions import error_code
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response

logger = logging.getLogger("clientgraph.web.deadline")

CANCEL_GRACE_S = 5.0
"""How long a cancelled request may take to unwind (roll back, return its connection)."""

CLIENT_CLOSED_REQUEST = 499


@dataclass(frozen=True, slots=True)
class Deadline:
    """`limit_s` after the request began: `at`, in `time.monotonic()` seconds."""

    limit_s: float
    at: float

    @classmethod
    def starting_now(cls, limit_s: float) -> Deadline:
        return cls(limit_s, time.monotonic() + limit_s)

    def remaining_s(self) -> float:
        return max(0.0, self.at - time.monotonic())


async def within_deadline(
    work: Coroutine[Any, Any, Any], request: Request, context: Context, deadline: Deadline
) -> Any:
    """The result of `work`; TIMEOUT (HTTP 200, GraphQL errors) when it ran past `deadline`.

    A client that disconnects cancels the work: it would be computed for nobody.
    """
    context.deadline = deadline.at
    running = asyncio.ensure_future(work)
    disconnected = asyncio.ensure_future(_disconnect(request))
    try:
        done, _ = await asyncio.wait(
            {running, disconnected},
            timeout=deadline.remaining_s(),
            return_when=asyncio.FIRST_COMPLETED,
        )
    except asyncio.CancelledError:
        await _stop(running, disconnected, context)
        raise
    if running in done and not running.cancelled():
        disconnected.cancel()
        return running.result()
    client_left = disconnected in done
    await _stop(running, disconnected, context)
    if client_left:
        logger.info("request %s: client disconnected; its work was stopped", context.request_id)
        return Response(status_code=CLIENT_CLOSED_REQUEST)
    logger.warning("request %s: stopped after %s s", context.request_id, deadline.limit_s)
    return timeout_response(context, deadline.limit_s)


def timeout_response(context: Context, timeout_s: float) -> Response:
    reason = RequestTimeout(
        f"The request ran longer than its limit of {timeout_s:g} s and was stopped; "
        "a mutation it had not finished was rolled back."
    )
    error = GraphQLError(str(reason), original_error=reason)
    body = {
        "data": None,
        "errors": [{"message": error.message, "extensions": {"code": error_code(error)}}],
        "extensions": {"cost": cost_extension(context.cost)},
    }
    return Response(orjson.dumps(body), media_type="application/json")


async def _disconnect(request: Request) -> None:
    """Returns when the client has gone. The body has been read by now, so the next message
    the server sends is `http.disconnect` (also sent once the response is complete)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _stop(
    running: asyncio.Future[Any], disconnected: asyncio.Future[None], context: Context
) -> None:
    """Cancel the work, and expire the deadline so that any task it left behind stops at its
    next statement or list."""
    context.deadline = 0.0
    disconnected.cancel()
    running.cancel()
    await asyncio.wait({running}, timeout=CANCEL_GRACE_S)
    if running.done() and not running.cancelled() and running.exception() is not None:
        logger.warning("a stopped request ended with %r", running.exception())
