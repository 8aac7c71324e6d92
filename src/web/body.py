"""Reading a request body with a bound on what is kept in memory, and the JSON object a
body must be."""

from __future__ import annotations

from typing import Any

import orjson
from clientgraph.web.errors import HttpError
from clientgraph.web.media_type import require_body_type
from starlette.requests import ClientDisconnect, Request
from starlette.types import Message


def _too_large(limit: int) -> HttpError:
    return HttpError(413, f"Request body larger than {limit} bytes.")


async def read_body(request: Request, limit: int) -> bytes:
    """The body, counted while it streams in: reading stops at the first byte past `limit`,
    whatever Content-Length claimed (a larger claim is refused before reading anything)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
    except ClientDisconnect as error:
        raise HttpError(400, "The client went away before sending the whole body.") from error
    return b"".join(chunks)


def json_object(body: bytes) -> dict[str, Any]:
    """The JSON object `body` holds; HttpError 400 for anything else."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise HttpError(400, "The request body is not valid JSON.") from error
    if not isinstance(parsed, dict):
        raise HttpError(400, "The request body must be a JSON object.")
    return parsed


async def read_json_object(request: Request, limit: int) -> dict[str, Any]:
    """The JSON object a request of a sign-in route sends: at most `limit` bytes, not empty,
    sent as application/json."""
    body = await read_body(request, limit)
    require_body_type(request, body)
    return json_object(body)


def with_body(request: Request, body: bytes) -> Request:
    """A request that hands `body` to whoever reads it next, then listens to the client again
    (so a disconnect is still seen)."""
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await request.receive()

    return Request(request.scope, receive)
