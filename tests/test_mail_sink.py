"""`clientgraph mail-sink` (issue 13 point 5): a local SMTP server that prints each message
decoded, so a link that travelled as quoted-printable or base64 is whole on one line."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import sys
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest
from clientgraph.mail_sink import RULE

CLIENTGRAPH = str(Path(sys.executable).with_name("clientgraph"))
LINK = (
    "http://127.0.0.1:8000/set-password?token="
    "0f8c1d2e3a4b5c6d7e8f90a1b2c3d4e5.Xy7Qk2mP9rT4vW1zA8bC3dE6fG0hJ5kL2nM7pR4sT9u"
)
SUBJECT = "Nordlys Revision ApS (demo): vælg din adgangskode"
START_TIMEOUT_S = 60


class Sink:
    def __init__(self, process: asyncio.subprocess.Process, port: int) -> None:
        self.process = process
        self.port = port

    async def next_message(self) -> list[str]:
        """The lines printed for the next message, between its two rules."""
        assert self.process.stdout is not None
        lines: list[str] = []
        while len(lines) < 2 or lines[-1] != RULE:
            line = await asyncio.wait_for(self.process.stdout.readline(), START_TIMEOUT_S)
            assert line, "the mail sink stopped"
            text = line.decode().rstrip("\n")
            if lines or text == RULE:
                lines.append(text)
        return lines


@contextlib.asynccontextmanager
async def mail_sink() -> AsyncIterator[Sink]:
    process = await asyncio.create_subprocess_exec(
        CLIENTGRAPH, "mail-sink", "--port", "0", stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        banner = (await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT_S)).decode()
        found = re.search(r"listening on 127\.0\.0\.1:(\d+)", banner)
        assert found is not None, banner
        yield Sink(process, int(found[1]))
    finally:
        process.terminate()
        await process.wait()


def message_with_link(transfer_encoding: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "clientgraph <clientgraph@localhost>"
    message["To"] = "anna@hansen.example"
    message["Subject"] = SUBJECT
    body = f"Hello Anna,\n\nChoose your password here:\n\n{LINK}\n\n— Nordlys\n"
    message.set_content(body, cte=transfer_encoding)
    return message


@pytest.mark.parametrize("transfer_encoding", ["quoted-printable", "base64"])
async def test_the_mail_sink_prints_a_long_link_whole_on_one_line(transfer_encoding: str) -> None:
    message = message_with_link(transfer_encoding)
    assert LINK not in message.as_string(), "the link must travel encoded, cut into lines"

    async with mail_sink() as sink:
        await aiosmtplib.send(message, hostname="127.0.0.1", port=sink.port)
        printed = await sink.next_message()

    assert LINK in printed
    assert f"Subject: {SUBJECT}" in printed
    assert "To: anna@hansen.example" in printed
    assert "Hello Anna," in printed


async def test_the_mail_sink_prints_each_message_it_receives() -> None:
    async with mail_sink() as sink:
        for name in ("Anna", "Bjørn"):
            message = message_with_link("quoted-printable")
            del message["To"]
            message["To"] = f"{name} <someone@example.com>"
            await aiosmtplib.send(message, hostname="127.0.0.1", port=sink.port)
        first, second = await sink.next_message(), await sink.next_message()

    assert "To: Anna <someone@example.com>" in first
    assert "To: Bjørn <someone@example.com>" in second


async def test_the_mail_sink_on_a_port_in_use_says_so() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = await asyncio.create_subprocess_exec(
            CLIENTGRAPH,
            "mail-sink",
            "--port",
            str(port),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(process.communicate(), START_TIMEOUT_S)

    assert process.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in stderr.decode()
    assert "Traceback" not in stderr.decode()
