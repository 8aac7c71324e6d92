"""A TCP proxy between the app and PostgreSQL that a test cuts, closes and reopens: the
database going down, coming up, or losing one connection at a chosen message."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import postgresql_url


@dataclass(eq=False)
class Link:
    """One client connection through the proxy and its connection to PostgreSQL."""

    client: asyncio.StreamWriter
    server: asyncio.StreamWriter
    armed: bool = False

    def cut(self) -> None:
        self.server.close()
        self.client.transport.abort()


@dataclass
class Trigger:
    """Cut the link that sends `on` (after it sent `after`, when given): forwarding that
    message first or not, and closing the whole proxy too (the database goes down)."""

    on: bytes
    after: bytes | None = None
    forward: bool = False
    close_proxy: bool = False

    def fires(self, link: Link, data: bytes) -> bool:
        if (self.after is None or link.armed) and self.on in data:
            return True
        if self.after is not None and self.after in data:
            link.armed = True
        return False


@dataclass
class Proxy:
    target_host: str
    target_port: int
    port: int = 0
    trigger: Trigger | None = None
    links: set[Link] = field(default_factory=set)
    server: asyncio.Server | None = None

    async def open(self) -> None:
        """Listen (again, on the same port): the database is up."""
        self.server = await asyncio.start_server(
            self._serve, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop listening and cut every connection: the database is down."""
        if self.server is not None:
            self.server.close()
            self.server = None
        self.cut()

    def cut(self) -> None:
        """Cut every open connection, as a restart of PostgreSQL does."""
        for link in list(self.links):
            link.cut()

    @classmethod
    def in_front_of(cls, database_url: str) -> Proxy:
        """A proxy (not yet open) to the PostgreSQL server `database_url` names."""
        target = make_url(database_url)
        return cls(target.host or "127.0.0.1", target.port or 5432)

    def url(self, database_url: str) -> str:
        proxied = make_url(database_url).set(host="127.0.0.1", port=self.port)
        return proxied.render_as_string(hide_password=False)

    async def _serve(self, client_in: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        try:
            server_in, server = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            client.transport.abort()
            return
        link = Link(client, server)
        self.links.add(link)
        pumps = [
            asyncio.create_task(self._pump(client_in, server, link, upstream=True)),
            asyncio.create_task(self._pump(server_in, client, link, upstream=False)),
        ]
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            link.cut()
            self.links.discard(link)
            for pump in pumps:
                pump.cancel()

    async def _pump(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, link: Link, upstream: bool
    ) -> None:
        while data := await source.read(65536):
            trigger = self.trigger
            if upstream and trigger is not None and trigger.fires(link, data):
                self.trigger = None
                if trigger.forward:
                    sink.write(data)
                    await sink.drain()
                link.cut()
                if trigger.close_proxy:
                    await self.close()
                return
            sink.write(data)
            await sink.drain()


@pytest.fixture(scope="module")
async def direct_url() -> AsyncIterator[str]:
    """A migrated PostgreSQL database of the module's own, reached without the proxy."""
    async with postgresql_url() as url:
        yield url


@pytest.fixture
async def proxy(direct_url: str) -> AsyncIterator[Proxy]:
    """A proxy open in front of `direct_url`'s server."""
    running = Proxy.in_front_of(direct_url)
    await running.open()
    yield running
    await running.close()
