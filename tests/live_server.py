"""A real uvicorn server in a background task on a free port, for what httpx's ASGITransport
cannot show: chunked bodies that never end, and what the server reads of them."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyMeter:
    """Passes requests to `app`, counting the body bytes the app takes in."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.bytes_read = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.bytes_read += len(message.get("body", b""))
            return message

        await self.app(scope, counted, send)


@contextlib.asynccontextmanager
async def serve(app: ASGIApp) -> AsyncIterator[int]:
    """Serve `app` on 127.0.0.1 until the block ends; yields the port."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield listener.getsockname()[1]
    finally:
        server.should_exit = True
        await task


@dataclass(frozen=True)
class StreamedPost:
    status: int
    head: str
    body: bytes
    bytes_sent: int


async def post_endless_chunks(
    port: int, headers: dict[str, str], *, up_to: int, chunk_size: int = 64 * 1024
) -> StreamedPost:
    """POST /graphql with a chunked body of `up_to` bytes, sent only as fast as the server
    takes it, and stopped as soon as the answer arrives."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [
        "POST /graphql HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/json",
        "Transfer-Encoding: chunked",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    answer = asyncio.create_task(_read_response(reader))
    chunk = b"%x\r\n%s\r\n" % (chunk_size, b" " * chunk_size)
    sent = 0
    try:
        while sent < up_to and not answer.done():
            writer.write(chunk)
            sent += chunk_size
            drained = asyncio.ensure_future(writer.drain())
            await asyncio.wait({drained, answer}, return_when=asyncio.FIRST_COMPLETED)
            if not drained.done():
                drained.cancel()
        if not answer.done():
            writer.write(b"0\r\n\r\n")
    except ConnectionError:
        pass
    try:
        status, head, body = await asyncio.wait_for(answer, timeout=60)
    finally:
        writer.close()
    return StreamedPost(status=status, head=head, body=body, bytes_sent=sent)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, str, bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    status = int(head.split(" ", 2)[1])
    length = next(
        int(line.split(":", 1)[1])
        for line in head.split("\r\n")
        if line.lower().startswith("content-length:")
    )
    return status, head, await reader.readexactly(length)
