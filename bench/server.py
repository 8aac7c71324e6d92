"""A real `clientgraph serve` for benchmarks over HTTP: a fresh database (a temporary SQLite
file, or a database of its own on the PostgreSQL server of a URL), seeded, and the server as a
subprocess on a free port, stopped and the database dropped afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from clientgraph.db.migrate import upgrade
from sqlalchemy.engine import make_url

from bench.common import SECRET


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.asynccontextmanager
async def fresh_database(server_url: str | None, directory: Path) -> AsyncIterator[str]:
    """The URL of a new, migrated database: SQLite in `directory` when `server_url` is None,
    else a database of its own on that PostgreSQL server, dropped on exit."""
    if server_url is None or make_url(server_url).get_backend_name() == "sqlite":
        url = server_url or f"sqlite+aiosqlite:///{directory / 'bench.db'}"
        await asyncio.to_thread(upgrade, url)
        yield url
        return
    name = f"clientgraph_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_asyncpg_dsn(server_url))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(upgrade, url)
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def running_server(url: str, log: Path, extra_env: dict[str, str]) -> Iterator[Server]:
    """`clientgraph serve` (one process: uvicorn runs in it, so its pid is the server's) on
    `url`, its output in `log`; ready when /readyz answers 200."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CLIENTGRAPH_SECRET": SECRET,
        **extra_env,
    }
    command = [str(Path(sys.executable).with_name("clientgraph")), "serve", "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=env, cwd=log.parent, stdout=output, stderr=subprocess.STDOUT
        )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        _wait_ready(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited:\n{server.log_tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.base_url}/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the server was not ready within {timeout:.0f} s:\n{server.log_tail()}")


def temporary_directory() -> Path:
    return Path(tempfile.mkdtemp(prefix="clientgraph-bench-"))
