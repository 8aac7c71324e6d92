"""Count the SQL statements a server sends per request, with a PostgreSQL protocol proxy.

The server under count connects to PostgreSQL through `StatementCounter` (a TCP proxy on
127.0.0.1) instead of directly; the proxy reads the client side of the wire protocol and notes
every statement executed: each Execute message (extended protocol, named or unnamed prepared
statements, the text taken from their Parse) and each statement of a simple Query message
(asyncpg sends `BEGIN;`, `COMMIT;` and its pool reset that way). Round trips are the waits on
the server: one per Sync and one per simple Query.

Why a proxy: pg_stat_statements needs `shared_preload_libraries` and a restart of PostgreSQL,
and statement logging needs access to the server's log; a proxy needs neither, sees exactly
what one server sends (not what other users of the shared PostgreSQL run), and counts the same
way for clientgraph and for PostGraphile. It slows the connection down, so it is used only for
a counting pass of a few sequential requests, never during the timed runs.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import make_url

LISTEN_HOST = "127.0.0.1"
DEFAULT_POSTGRES_PORT = 5432
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104


@dataclass
class Tally:
    statements: list[str] = field(default_factory=list)
    round_trips: int = 0


def _cstring(payload: bytes, start: int) -> tuple[str, int]:
    end = payload.index(b"\0", start)
    return payload[start:end].decode(errors="replace"), end + 1


def _split_simple(query: str) -> list[str]:
    parts = [part.strip() for part in query.split(";")]
    return [part for part in parts if part]


class _ClientStream:
    """Parses the messages one client sends, noting statements and round trips in `tally`."""

    def __init__(self, tally: Callable[[], Tally]) -> None:
        self.tally = tally
        self.buffer = b""
        self.prepared: dict[str, str] = {}
        self.portals: dict[str, str] = {}

    def feed(self, data: bytes) -> None:
        """Take the client's bytes after its startup message."""
        self.buffer += data
        while len(self.buffer) >= 5:
            kind = self.buffer[:1]
            (length,) = struct.unpack("!i", self.buffer[1:5])
            if len(self.buffer) < 1 + length:
                return
            payload = self.buffer[5 : 1 + length]
            self.buffer = self.buffer[1 + length :]
            self._message(kind, payload)

    def _message(self, kind: bytes, payload: bytes) -> None:
        tally = self.tally()
        if kind == b"Q":
            query, _ = _cstring(payload, 0)
            tally.statements.extend(_split_simple(query))
            tally.round_trips += 1
        elif kind == b"P":
            name, offset = _cstring(payload, 0)
            query, _ = _cstring(payload, offset)
            self.prepared[name] = query
        elif kind == b"B":
            portal, offset = _cstring(payload, 0)
            statement, _ = _cstring(payload, offset)
            self.portals[portal] = self.prepared.get(statement, "?")
        elif kind == b"E":
            portal, _ = _cstring(payload, 0)
            tally.statements.append(self.portals.get(portal, "?").strip())
        elif kind == b"S":
            tally.round_trips += 1


async def _startup(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    """The client's startup message, after declining its requests for SSL or GSS encryption
    (the proxy must read the protocol in clear)."""
    while True:
        head = await reader.readexactly(8)
        length, code = struct.unpack("!ii", head)
        rest = await reader.readexactly(length - 8)
        if code not in (SSL_REQUEST, GSSENC_REQUEST):
            return head + rest
        writer.write(b"N")
        await writer.drain()


class StatementCounter:
    """A counting proxy to the PostgreSQL server that `upstream_url` names (a SQLAlchemy or
    libpq URL; the port defaults to PostgreSQL's); `through(url)` is a URL connecting through
    the proxy, `reset()` starts a new tally."""

    def __init__(self, upstream_url: str) -> None:
        upstream = make_url(upstream_url)
        if not upstream.host:
            raise ValueError(f"a counting proxy forwards over TCP: name a host in {upstream_url}")
        self.upstream = (upstream.host, upstream.port or DEFAULT_POSTGRES_PORT)
        self.tally = Tally()
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def reset(self) -> Tally:
        """The tally so far, and start a new one."""
        previous, self.tally = self.tally, Tally()
        return previous

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, LISTEN_HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def through(self, url: str) -> str:
        """`url` (same user, database and options) connecting to the server through the proxy."""
        proxied = make_url(url).set(host=LISTEN_HOST, port=self.port)
        return proxied.render_as_string(hide_password=False)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            self._tasks.discard(task)
            return
        stream = _ClientStream(lambda: self.tally)

        async def client_to_server() -> None:
            upstream_writer.write(await _startup(reader, writer))
            while data := await reader.read(65536):
                stream.feed(data)
                upstream_writer.write(data)
                await upstream_writer.drain()
            upstream_writer.close()

        async def server_to_client() -> None:
            while data := await upstream_reader.read(65536):
                writer.write(data)
                await writer.drain()
            writer.close()

        try:
            await asyncio.gather(client_to_server(), server_to_client())
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            upstream_writer.close()
            self._tasks.discard(task)
