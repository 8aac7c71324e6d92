"""An answer written to its socket in one piece.

uvicorn writes a response's status line and headers as soon as the app starts the response,
and its body when the app sends it: two `send` system calls and, with TCP_NODELAY, two TCP
segments for every answer, though the app sends both in the same turn of the event loop.
`GatheringTransport` stands between uvicorn's protocol and the socket's transport: what is
written during one turn of the loop goes out at the end of that turn, in one write.

Nothing waits longer than the current turn, and nothing is reordered: closing, aborting or
ending the stream first writes (or, for an abort, drops) what was gathered."""

from __future__ import annotations

import asyncio
from typing import Any


class GatheringTransport(asyncio.Transport):
    """`transport`, its writes of one loop turn joined into one."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.transport = transport
        self.loop = loop
        self.gathered: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self.gathered:
            self.loop.call_soon(self.flush)
        self.gathered.append(data if isinstance(data, bytes) else bytes(data))

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def flush(self) -> None:
        """Write what this turn gathered, unless the connection went in the meantime."""
        if not self.gathered:
            return
        data = self.gathered[0] if len(self.gathered) == 1 else b"".join(self.gathered)
        self.gathered.clear()
        if not self.transport.is_closing():
            self.transport.write(data)

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def abort(self) -> None:
        self.gathered.clear()
        self.transport.abort()

    def write_eof(self) -> None:
        self.flush()
        self.transport.write_eof()

    def can_write_eof(self) -> bool:
        return self.transport.can_write_eof()

    def is_closing(self) -> bool:
        return self.transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.transport.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self.transport.pause_reading()

    def resume_reading(self) -> None:
        self.transport.resume_reading()

    def is_reading(self) -> bool:
        return self.transport.is_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self.transport.get_protocol()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self.transport.set_write_buffer_limits(high, low)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self.transport.get_write_buffer_limits()

    def get_write_buffer_size(self) -> int:
        return self.transport.get_write_buffer_size() + sum(map(len, self.gathered))
