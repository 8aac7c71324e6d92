"""`clientgraph serve` as a process (issue 8, point 4): every accepted connection answers
without waiting for a delayed ACK (TCP_NODELAY), two workers both take keep-alive clients
(SO_REUSEPORT), and no access log line is written per request unless asked.

What is tested is the socket and the processes, not the database: the server runs on an
embedded SQLite file. Each server is a real `clientgraph serve` subprocess on a free port.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest
from clientgraph.app import create_app
from clientgraph.db.engine import Database
from clientgraph.web.server import FreezeAfterWarmup

from tests.server_process import free_port, running, server_environment
from tests.support import APP_ROLE, SECRET, Api, eventually, owner_url, settings_for

ROOT = Path(__file__).resolve().parents[1]
CLIENTGRAPH = str(Path(sys.executable).with_name("clientgraph"))
KEEP_ALIVE_CLIENTS = 16
DELAYED_ACK_MS = 40
REQUESTS = 30


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    port: int
    workers: int
    log: Path

    def worker_pids(self) -> list[int]:
        main = psutil.Process(self.process.pid)
        if self.workers == 1:
            return [main.pid]
        pids = []
        for child in main.children():
            with contextlib.suppress(psutil.ZombieProcess, psutil.NoSuchProcess):
                if "resource_tracker" not in " ".join(child.cmdline()):
                    pids.append(child.pid)
        return pids

    def connections_per_worker(self) -> list[int]:
        """Established connections to the server's port, per worker process."""
        counts = []
        for pid in self.worker_pids():
            connections = psutil.Process(pid).net_connections(kind="tcp")
            counts.append(
                sum(
                    1
                    for connection in connections
                    if connection.laddr
                    and connection.laddr.port == self.port
                    and connection.status == psutil.CONN_ESTABLISHED
                )
            )
        return counts


@contextlib.contextmanager
def clientgraph_serve(
    directory: Path, *arguments: str, workers: int = 1, env: dict[str, str] | None = None
) -> Iterator[Served]:
    port = free_port()
    log = directory / f"serve-{port}.log"
    defaults = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{directory / 'serve.db'}",
        "CLIENTGRAPH_SECRET": SECRET,
        "CLIENTGRAPH_OUTBOX_RELAY": "false",
    }
    environment = server_environment(**(defaults | (env or {})))
    command = [CLIENTGRAPH, "serve", "--port", str(port), "--workers", str(workers), *arguments]
    with running(command, environment, log, cwd=directory) as process:
        served = Served(process, port, workers, log)
        wait_until_every_worker_answers(served)
        yield served


@contextlib.contextmanager
def two_processes(database: Database, directory: Path, env: dict[str, str]) -> Iterator[list[int]]:
    """The ports of two `clientgraph serve` processes on `database` (one process, twice, on
    SQLite, which one process serves alone): a change made through the first must be seen
    through the second."""
    env = {"DATABASE_URL": owner_url(database), "CLIENTGRAPH_APP_ROLE": APP_ROLE, **env}
    with contextlib.ExitStack() as stack:
        first: Served = stack.enter_context(clientgraph_serve(directory, env=env))
        if database.dialect != "postgresql":
            yield [first.port, first.port]
            return
        second: Served = stack.enter_context(clientgraph_serve(directory, env=env))
        yield [first.port, second.port]


def wait_until_every_worker_answers(
    served: Served, timeout: float = 60.0, started: int | None = None
) -> None:
    """Until /healthz answers and `started` workers (all of them by default) have logged
    that their app started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            raise RuntimeError(f"the server exited:\n{served.log.read_text()}")
        log = served.log.read_text(errors="replace")
        with contextlib.suppress(httpx.HTTPError):
            answer = httpx.get(f"http://127.0.0.1:{served.port}/healthz", timeout=2)
            if answer.status_code == 200 and log.count("Application startup complete") >= (
                started or served.workers
            ):
                return
        time.sleep(0.2)
    raise RuntimeError(f"the server did not start in time:\n{served.log.read_text()}")


async def _keep_alive_request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str = "/healthz"
) -> bytes:
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return await reader.readexactly(length)


async def _latencies_ms(port: int, requests: int) -> list[float]:
    """Sequential requests on one keep-alive connection, as a single-page app sends them."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        latencies = []
        for _ in range(requests):
            started = time.perf_counter()
            assert await _keep_alive_request(reader, writer) == b"ok"
            latencies.append((time.perf_counter() - started) * 1000)
        return latencies
    finally:
        writer.close()


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serve")


@pytest.fixture(scope="module")
def two_workers(directory: Path) -> Iterator[Served]:
    with clientgraph_serve(directory, workers=2) as served:
        yield served


@pytest.mark.parametrize(
    ("workers", "loop"),
    [(1, "asyncio"), (2, "asyncio"), (2, "uvloop")],
    ids=["1 worker, asyncio", "2 workers, asyncio", "2 workers, uvloop"],
)
async def test_keep_alive_responses_do_not_wait_for_a_delayed_ack(
    directory: Path, workers: int, loop: str
) -> None:
    """Without TCP_NODELAY the body, written after the head, waits for the client's delayed
    ACK: ~40 ms for every response (uvicorn's own `--workers 2` socket on asyncio). A busy
    machine only adds to a latency, so even the fastest response would show the wait."""
    env = {"CLIENTGRAPH_EVENT_LOOP": loop}
    with clientgraph_serve(directory, workers=workers, env=env) as served:
        latencies = await _latencies_ms(served.port, REQUESTS)

    assert min(latencies) < DELAYED_ACK_MS / 2, latencies


async def test_two_workers_both_take_keep_alive_clients(two_workers: Served) -> None:
    connections = [
        await asyncio.open_connection("127.0.0.1", two_workers.port)
        for _ in range(KEEP_ALIVE_CLIENTS)
    ]
    try:
        for reader, writer in connections:
            assert await _keep_alive_request(reader, writer) == b"ok"

        per_worker = two_workers.connections_per_worker()
    finally:
        for _, writer in connections:
            writer.close()

    assert sum(per_worker) == KEEP_ALIVE_CLIENTS
    assert len(per_worker) == 2
    assert min(per_worker) > 0, per_worker


async def test_requests_are_not_logged_one_line_each_by_default(two_workers: Served) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", two_workers.port)
    try:
        await _keep_alive_request(reader, writer, "/healthz?unlogged")
    finally:
        writer.close()

    assert "/healthz?unlogged" not in two_workers.log.read_text(errors="replace")


async def test_the_access_log_flag_logs_a_line_per_request(directory: Path) -> None:
    with clientgraph_serve(directory, "--access-log") as served:
        reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
        try:
            await _keep_alive_request(reader, writer, "/healthz?logged")
        finally:
            writer.close()
        await eventually(
            lambda: '"GET /healthz?logged HTTP/1.1" 200' in served.log.read_text(errors="replace")
        )


def test_a_second_server_on_a_port_in_use_refuses_to_start(
    directory: Path, two_workers: Served
) -> None:
    """SO_REUSEPORT would otherwise let it share the port, and its clients, silently."""
    done = subprocess.run(
        [CLIENTGRAPH, "serve", "--port", str(two_workers.port), "--workers", "2"],
        env={
            **os.environ,
            "DATABASE_URL": f"sqlite+aiosqlite:///{directory / 'serve.db'}",
            "CLIENTGRAPH_SECRET": SECRET,
        },
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode != 0
    assert f"cannot listen on 127.0.0.1:{two_workers.port}" in done.stderr


async def test_the_first_graphql_request_freezes_what_start_up_and_it_built(api: Api) -> None:
    """A health check warms no cache, so only the first GraphQL request triggers the freeze;
    the objects it left (parsed documents, compiled statements) are then out of the
    collector's walks."""
    app = FreezeAfterWarmup(create_app(settings_for(api.db.url), api.db))
    transport = httpx.ASGITransport(app=app)
    gc.unfreeze()
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            await http.get("/healthz")
            after_health_check = gc.get_freeze_count()
            await http.post(
                "/graphql",
                json={"query": "{ viewer { user { name } } }"},
                headers={"Authorization": f"Bearer {api.token}"},
            )
            after_first_query = gc.get_freeze_count()
    finally:
        gc.unfreeze()

    assert after_health_check == 0
    assert after_first_query > 100_000


def test_a_worker_that_dies_is_replaced(directory: Path) -> None:
    with clientgraph_serve(directory, workers=2) as served:
        killed = served.worker_pids()[0]
        os.kill(killed, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            workers = served.worker_pids()
            if killed not in workers and len(workers) == 2:
                break
            time.sleep(0.2)
        wait_until_every_worker_answers(served, started=3)

        assert killed not in served.worker_pids()
        assert len(served.worker_pids()) == 2
        assert "exited with -9; starting another" in served.log.read_text(errors="replace")


def test_serve_demo_on_a_port_in_use_fails_before_migrating_or_printing_the_banner(
    tmp_path: Path,
) -> None:
    database = tmp_path / "demo.db"
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = subprocess.run(
            [CLIENTGRAPH, "serve", "--demo", "--port", str(port)],
            env=server_environment(DATABASE_URL=f"sqlite+aiosqlite:///{database}"),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert done.returncode != 0
    assert "Demo firm ready" not in done.stdout
    assert f"port {port} is in use" in done.stderr
    assert "clientgraph serve --port " in done.stderr
    assert "make run PORT=" in done.stderr
    assert not database.exists()


def test_serve_on_a_host_that_does_not_resolve_fails_with_a_message(tmp_path: Path) -> None:
    """`.invalid` never resolves (RFC 6761)."""
    database = tmp_path / "demo.db"
    port = free_port()
    done = subprocess.run(
        [CLIENTGRAPH, "serve", "--demo", "--host", "no-such-host.invalid", "--port", str(port)],
        env=server_environment(DATABASE_URL=f"sqlite+aiosqlite:///{database}"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode != 0
    assert done.stderr.startswith(f"cannot listen on no-such-host.invalid:{port}: "), done.stderr
    assert "Traceback" not in done.stderr
    assert not database.exists()


def test_make_run_serves_the_demo_on_the_port_and_host_it_is_given(tmp_path: Path) -> None:
    """Another loopback address than the default shows HOST is passed on as well as PORT."""
    host = "127.0.0.2"
    port = free_port(host)
    log = tmp_path / "make-run.log"
    command = [
        "make", "--no-print-directory", "-C", str(ROOT), "-o", ".venv/.installed", "run",
        f"PORT={port}", f"HOST={host}", f"BIN={Path(sys.executable).parent}",
    ]  # fmt: skip
    environment = server_environment(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
        CLIENTGRAPH_OUTBOX_RELAY="false",
    )
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        ready = None
        while ready is None and time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                ready = httpx.get(f"http://{host}:{port}/readyz", timeout=2)
            time.sleep(0.3)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    printed = log.read_text(errors="replace")

    assert ready is not None and ready.status_code == 200, printed
    assert f"http://{host}:{port}/graphql" in printed
