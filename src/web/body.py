"""Reading a request body with a bound on what is kept in memory, and the JSON object a
body must be."""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import IO, Any

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
    return b"".join([chunk async for chunk in _counted(request, limit)])


SPOOL_IN_MEMORY_BYTES = 1024 * 1024
REPLAY_CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class SpooledBody:
    """A body kept in a temporary file, read back as often as needed."""

    file: IO[bytes]
    blank: bool
    """Empty or only whitespace."""
    sha256: str

    def replay(self, request: Request) -> Request:
        """A request that hands the body to whoever reads it next, a chunk at a time from the
        file, then listens to the client again. Replays do not share a read position."""
        offset = 0

        async def receive() -> Message:
            nonlocal offset
            if offset < 0:
                return await request.receive()
            self.file.seek(offset)
            chunk = self.file.read(REPLAY_CHUNK_BYTES)
            more = len(chunk) == REPLAY_CHUNK_BYTES
            offset = offset + len(chunk) if more else -1
            return {"type": "http.request", "body": chunk, "more_body": more}

        return Request(request.scope, receive)


@contextlib.asynccontextmanager
async def spooled_body(request: Request, limit: int) -> AsyncIterator[SpooledBody]:
    """The body, counted as `read_body` counts it, written to a temporary file as it streams
    in (in memory up to `SPOOL_IN_MEMORY_BYTES`, on disk beyond), so that a large upload
    does not sit in memory; the file is removed when the block ends."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES) as spool:
        blank, digest = True, hashlib.sha256()
        async for chunk in _counted(request, limit):
            spool.write(chunk)
            digest.update(chunk)
            blank = blank and not chunk.strip()
        yield SpooledBody(spool, blank, digest.hexdigest())  # type: ignore[arg-type]


async def _counted(request: Request, limit: int) -> AsyncIterator[bytes]:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            yield chunk
    except ClientDisconnect as error:
        raise HttpError(400, "The client went away before sending the whole body.") from error


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
