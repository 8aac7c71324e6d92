"""The transport that joins an answer's writes of one loop turn (web/gathering.py): what was
written goes out in order, at the end of the turn, and nothing is lost or written after the
connection ends."""

from __future__ import annotations

import asyncio
from typing import Any

from clientgraph.web.gathering import GatheringTransport


class Socket(asyncio.Transport):
    """A transport that records what reaches it."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closing = False
        self.aborted = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = self.aborted = True

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return 0


async def next_turn() -> None:
    await asyncio.sleep(0)


async def test_writes_of_one_turn_leave_as_one_write_at_its_end() -> None:
    socket = Socket()
    gathering = GatheringTransport(socket, asyncio.get_running_loop())

    gathering.write(b"HTTP/1.1 200 OK\r\n\r\n")
    gathering.write(bytearray(b"{}"))
    written_in_the_turn = list(socket.writes)
    await next_turn()

    assert written_in_the_turn == []
    assert socket.writes == [b"HTTP/1.1 200 OK\r\n\r\n{}"]


async def test_writes_of_two_turns_leave_as_two_writes_in_order() -> None:
    socket = Socket()
    gathering = GatheringTransport(socket, asyncio.get_running_loop())

    gathering.write(b"first")
    await next_turn()
    gathering.write(b"second")
    await next_turn()

    assert socket.writes == [b"first", b"second"]


async def test_closing_writes_what_was_gathered_first() -> None:
    socket = Socket()
    gathering = GatheringTransport(socket, asyncio.get_running_loop())

    gathering.write(b"last answer")
    gathering.close()
    await next_turn()

    assert socket.writes == [b"last answer"]
    assert socket.closing


async def test_an_abort_drops_what_was_gathered() -> None:
    socket = Socket()
    gathering = GatheringTransport(socket, asyncio.get_running_loop())

    gathering.write(b"never sent")
    gathering.abort()
    await next_turn()

    assert socket.writes == []
    assert socket.aborted


async def test_nothing_is_written_to_a_connection_that_closed_during_the_turn() -> None:
    socket = Socket()
    gathering = GatheringTransport(socket, asyncio.get_running_loop())

    gathering.write(b"too late")
    socket.closing = True
    await next_turn()

    assert socket.writes == []
    assert gathering.get_write_buffer_size() == 0
