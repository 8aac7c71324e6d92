"""Server processes under measure: start, wait until they answer, sample their workers, stop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psutil

READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 15.0
SAMPLE_EVERY_S = 0.25


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cpu_ns(pid: int) -> int:
    """The CPU time of every thread of process `pid` so far, in nanoseconds (the scheduler's
    own count: the clock ticks of /proc/PID/stat are 10 ms, too coarse for one request)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            total += int((task / "schedstat").read_text().split()[0])
    return total


class ServerFailed(Exception):
    pass


@dataclass
class Server:
    """One server (clientgraph or PostGraphile) with `workers` worker processes, in a process
    group of its own so that it and its workers stop together."""

    name: str
    command: list[str]
    env: dict[str, str]
    cwd: Path
    port: int
    workers: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def check_alive(self) -> None:
        if self.process is None or self.process.poll() is not None:
            raise ServerFailed(f"{self.name} is not running; see {self.log}")

    async def wait_ready(self, body: dict[str, Any], headers: dict[str, str]) -> None:
        """Until the server answers `body`, and all its workers are up."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        async with aiohttp.ClientSession(headers=headers) as session:
            while True:
                self.check_alive()
                try:
                    async with session.post(self.url, json=body) as response:
                        if response.status == 200 and len(self.worker_processes()) == self.workers:
                            return
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline:
                    raise ServerFailed(f"{self.name} did not answer in time; see {self.log}")
                await asyncio.sleep(0.5)

    async def wait_healthy(self) -> None:
        """Until /readyz answers 200, all workers are up and the registered documents (if
        any) are planned, sending no GraphQL request (a server measured cold must not have
        planned anything but them yet)."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        ready = self.url.removesuffix("/graphql") + "/readyz"
        async with aiohttp.ClientSession() as session:
            while True:
                self.check_alive()
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(ready) as response:
                        settled = response.status == 200 and (
                            (await response.json()).get("plans") != "preparing"
                        )
                        if settled and len(self.worker_processes()) == self.workers:
                            return
                if time.monotonic() > deadline:
                    raise ServerFailed(f"{self.name} was not ready in time; see {self.log}")
                await asyncio.sleep(0.2)

    def worker_processes(self) -> list[psutil.Process]:
        """The processes that serve requests: the server itself with one worker, else the
        children it forked or spawned (not a supervisor, not multiprocessing's tracker)."""
        if self.process is None:
            return []
        try:
            main = psutil.Process(self.process.pid)
            if self.workers == 1:
                return [main]
            return [
                child
                for child in main.children()
                if "resource_tracker" not in " ".join(child.cmdline())
            ]
        except psutil.Error:
            return []

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process = None


@dataclass
class Usage:
    """Peak resident memory (MB) and CPU seconds of each worker over one load run."""

    rss_mb: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)


class Sampler:
    """Samples a server's workers while a load run goes on."""

    def __init__(self, server: Server) -> None:
        self.workers = server.worker_processes()
        self.peak = [0.0 for _ in self.workers]
        self.cpu_before = [self._cpu(worker) for worker in self.workers]
        self._task: asyncio.Task[None] | None = None

    @staticmethod
    def _cpu(worker: psutil.Process) -> float:
        try:
            times = worker.cpu_times()
            return times.user + times.system
        except psutil.Error:
            return 0.0

    def _sample(self) -> None:
        for index, worker in enumerate(self.workers):
            with contextlib.suppress(psutil.Error):
                self.peak[index] = max(self.peak[index], worker.memory_info().rss / 2**20)

    async def _loop(self) -> None:
        while True:
            self._sample()
            await asyncio.sleep(SAMPLE_EVERY_S)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> Usage:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._sample()
        cpu = [
            self._cpu(worker) - before
            for worker, before in zip(self.workers, self.cpu_before, strict=True)
        ]
        return Usage(rss_mb=[round(value, 1) for value in self.peak], cpu_s=cpu)
