"""A clientgraph server as a process of its own, started by any command line on a free port,
its output in a log file: for what only a real server shows (how it starts, what it logs, its
connection pool under faults)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support import eventually

BIN = Path(sys.executable).parent
CLIENTGRAPH = str(BIN / "clientgraph")
STOP_TIMEOUT_S = 20.0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


NOT_INHERITED = ("DATABASE_URL", "REDIS_URL", "FORWARDED_ALLOW_IPS")
"""Besides the clientgraph settings: what would point a server at the test run's services, or
change uvicorn's defaults, from this process's environment."""


STRICT = {"CLIENTGRAPH_PLANNER_STRICT": "true"}
"""A test server's planner fails the request it crashes on, as the tests' apps do."""


def server_environment(**variables: str) -> dict[str, str]:
    """This process's environment without its clientgraph settings, plus a strict planner and
    `variables`."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CLIENTGRAPH_") and key not in NOT_INHERITED
    }
    return inherited | STRICT | variables


def wait_until_ready(
    process: subprocess.Popen[bytes], url: str, log: Path, timeout: float = 60.0
) -> None:
    """Until the server at `url` answers /readyz with 200; fail with its log if it exits or
    is not ready within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the server exited:\n{log.read_text(errors='replace')}"
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise AssertionError(f"the server was not ready in time:\n{log.read_text(errors='replace')}")


@contextlib.contextmanager
def running(
    command: list[str],
    env: dict[str, str],
    log: Path,
    *,
    cwd: Path | None = None,
    stop_timeout: float = STOP_TIMEOUT_S,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `command`, its output in `log`, until the block ends; then SIGTERM, as a process
    manager does, and SIGKILL if it has not ended within `stop_timeout`."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=stop_timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    http: httpx.AsyncClient
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.asynccontextmanager
async def logging_process(
    command: list[str], env: dict[str, str], log: Path
) -> AsyncIterator[subprocess.Popen[bytes]]:
    """Run `command`, its output in `log`, until the block ends; then stop it with SIGTERM,
    as a process manager does."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield process
    finally:
        await _stop(process)


@contextlib.asynccontextmanager
async def server_process(
    command: list[str], port: int, env: dict[str, str], log: Path, *, start_timeout: float = 60
) -> AsyncIterator[ServerProcess]:
    """Run `command` (a server listening on `port`) until the block ends; yields once
    `/healthz` answers."""
    async with (
        logging_process(command, env, log) as process,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http,
    ):
        served = ServerProcess(process, http, log)

        async def healthy() -> bool:
            assert process.poll() is None, f"the server exited:\n{served.log_text()}"
            try:
                return (await http.get("/healthz")).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(healthy, timeout=start_timeout)
        yield served


async def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL to the whole process group if it has not ended in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while process.poll() is None and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await asyncio.to_thread(process.wait)
