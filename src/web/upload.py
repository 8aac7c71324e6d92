"""A file upload read into a temporary file while it streams in (kept in memory up to
`IN_MEMORY_BYTES`, on disk beyond), counted on the way: the first byte past the limit ends
the request with 413 and nothing after it is read, and a larger Content-Length is refused
before the first byte. The body is the file itself (`text/csv` or any type but multipart), or
a `multipart/form-data` form whose part `file` is the file."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator
from typing import IO, Any

from clientgraph.web.body import json_object
from clientgraph.web.errors import HttpError
from clientgraph.web.media_type import MULTIPART_BODY, declares
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import ClientDisconnect, Request
from starlette.types import Message, Receive

IN_MEMORY_BYTES = 1024 * 1024
FILE_FIELD = "file"


def too_large(limit: int) -> HttpError:
    return HttpError(
        413, f"The upload is larger than {limit} bytes (CLIENTGRAPH_MAX_IMPORT_BYTES)."
    )


def counting(receive: Receive, limit: int) -> Receive:
    """`receive` that fails with 413 once the body passes `limit` bytes."""
    size = 0

    async def counted() -> Message:
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise too_large(limit)
        return message

    return counted


@contextlib.asynccontextmanager
async def uploaded_file(request: Request, limit: int) -> AsyncIterator[IO[bytes]]:
    """The uploaded file, seekable, removed when the block ends."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    counted = Request(request.scope, counting(request.receive, limit))
    if declares(request, MULTIPART_BODY):
        try:
            form = await counted.form(max_files=1, max_fields=10)
        except MultiPartException as error:
            raise HttpError(400, f"The multipart body is malformed: {error.message}") from None
        except StarletteHTTPException as error:
            raise HttpError(400, f"The multipart body is malformed: {error.detail}") from None
        except ClientDisconnect as error:
            raise HttpError(400, "The client went away before sending the whole body.") from error
        try:
            upload = form.get(FILE_FIELD)
            if not isinstance(upload, UploadFile):
                raise HttpError(400, f"Send the CSV as the multipart part `{FILE_FIELD}`.")
            yield upload.file
        finally:
            await form.close()
        return
    with tempfile.SpooledTemporaryFile(max_size=IN_MEMORY_BYTES) as spool:
        try:
            async for chunk in counted.stream():
                spool.write(chunk)
        except ClientDisconnect as error:
            raise HttpError(400, "The client went away before sending the whole body.") from error
        yield spool  # type: ignore[misc]


async def multipart_operations(request: Request) -> dict[str, Any]:
    """The GraphQL request (`operations`) of a multipart body, read from `request` (a replay
    of the body), for the checks every request passes before Strawberry reads the body again
    with its files."""
    try:
        form = await request.form(max_files=10, max_fields=10)
    except (MultiPartException, StarletteHTTPException):
        raise HttpError(400, "The multipart body is malformed.") from None
    try:
        operations = form.get("operations")
        if not isinstance(operations, str):
            raise HttpError(400, "A multipart request needs its `operations` part (JSON).")
        return json_object(operations.encode())
    finally:
        await form.close()
