"""How `clientgraph serve` runs the app: uvicorn with uvloop and httptools, `TCP_NODELAY` on
every accepted connection, one listening socket per worker process (`SO_REUSEPORT`, so the
kernel spreads connections over the workers), no access log line per request unless asked,
and a cyclic garbage collector that leaves the objects of start-up alone (`gc.freeze()`).
uvicorn's own proxy-header handling is off: the app decides whom to believe
(`CLIENTGRAPH_FORWARDED_ALLOW_IPS`, web/forwarded.py), in every worker alike.

Why each, measured in README's performance section: a response written in two segments (head,
then body) waits ~40 ms for the client's delayed ACK without `TCP_NODELAY`; with one shared
accept socket one worker may take every keep-alive connection while the other idles; a full
collection walks the ~10^5 objects of the schema and the ORM on every pass unless they are
frozen.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import logging.config
import multiprocessing
import os
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from importlib import import_module
from types import FrameType

import uvicorn
from clientgraph import metrics
from clientgraph.logs import LogFormat, server_log_config
from clientgraph.metrics import MULTIPROCESS_DIRECTORY
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.config import STARTUP_FAILURE
from uvicorn.protocols.http.h11_impl import H11Protocol

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - httptools ships with uvicorn[standard]
    HttpToolsProtocol = None  # type: ignore[assignment,misc]

logger = logging.getLogger("clientgraph.server")

RESTART_PAUSE_S = 1.0
LISTEN_BACKLOG = 2048
PORTS_TO_SUGGEST_FROM = 100
"""A port in use is answered with the first free one of the next this many."""


def no_delay(transport: asyncio.BaseTransport) -> None:
    """Send each write at once instead of waiting for the previous segment's ACK (Nagle)."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        no_delay(transport)
        super().connection_made(transport)


if HttpToolsProtocol is not None:

    class NoDelayHttpToolsProtocol(HttpToolsProtocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            no_delay(transport)
            super().connection_made(transport)


@dataclass(frozen=True)
class ServeOptions:
    """What every worker needs to serve; plain values, so it crosses to a spawned process."""

    factory: str
    """`module:function` returning the ASGI app."""
    host: str
    port: int
    workers: int = 1
    access_log: bool = False
    http: str = "httptools"
    """`httptools` or `h11`."""
    loop: str = "uvloop"
    """`uvloop` or `asyncio`."""
    tcp_nodelay: bool = True
    reuse_port: bool = True
    gc_freeze: bool = True
    gc_threshold: int = 0
    """The collector's first threshold (allocations between young collections); 0 keeps
    CPython's default."""
    tracemalloc: int = 0
    log_level: str = "info"
    log_format: LogFormat = "text"
    ws_max_size: int = 65536
    """The largest websocket message read, in bytes (`CLIENTGRAPH_WS_MAX_MESSAGE_BYTES`)."""


def http_protocol(options: ServeOptions) -> type[asyncio.Protocol]:
    if options.http == "h11" or HttpToolsProtocol is None:
        return NoDelayH11Protocol if options.tcp_nodelay else H11Protocol
    return NoDelayHttpToolsProtocol if options.tcp_nodelay else HttpToolsProtocol


def _address_family(host: str, port: int) -> socket.AddressFamily:
    info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return info[0][0]


def listening_socket(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    """A TCP socket listening on (host, port); with `reuse_port`, other sockets of this user
    with the option may listen on the same port and the kernel spreads connections over them."""
    family = _address_family(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock


def _can_bind(host: str, port: int) -> OSError | None:
    """None if (host, port) is free to listen on now, else why not (a host that does not
    resolve included)."""
    try:
        family = _address_family(host, port)
    except OSError as error:
        return error
    probe = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
    except OSError as error:
        return error
    finally:
        probe.close()
    return None


def _free_port_after(host: str, port: int) -> int | None:
    candidates = range(port + 1, min(port + 1 + PORTS_TO_SUGGEST_FROM, 65536))
    return next((other for other in candidates if _can_bind(host, other) is None), None)


def check_port_free(host: str, port: int) -> None:
    """Fail now, before any worker starts, if something else listens on the port: a worker's
    `SO_REUSEPORT` socket would otherwise join another of this user's servers on it. A port
    in use is named with what to do instead."""
    error = _can_bind(host, port)
    if error is None:
        return
    message = f"cannot listen on {host}:{port}: {error.strerror}"
    if error.errno == errno.EADDRINUSE:
        other = _free_port_after(host, port)
        instead = (
            f"`make run PORT={other}` or `clientgraph serve --port {other}`"
            if other is not None
            else "`make run PORT=…` or `clientgraph serve --port …`"
        )
        message = (
            f"cannot listen on {host}:{port}: port {port} is in use. Stop the server that "
            f"holds it, or serve on another port: {instead}"
        )
    raise SystemExit(message)


class FreezeAfterWarmup:
    """Passes requests to `app`; once the first `warmups` GraphQL requests have been answered,
    moves every object alive then (the caches those requests filled included) out of the
    collector's reach, once. A health check warms nothing, so it does not count."""

    def __init__(self, app: ASGIApp, warmups: int = 1, path: str = "/graphql") -> None:
        self.app = app
        self.pending = warmups
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
        if scope["type"] == "http" and self.pending > 0 and scope["path"] == self.path:
            self.pending -= 1
            if self.pending == 0:
                freeze_survivors()


def freeze_survivors() -> None:
    gc.collect()
    gc.freeze()


def tune_collector(threshold: int) -> None:
    if threshold > 0:
        _, second, third = gc.get_threshold()
        gc.set_threshold(threshold, second, third)


class WorkerServer(uvicorn.Server):
    """uvicorn's server, freezing what start-up built once the app's lifespan has started."""

    def __init__(self, config: uvicorn.Config, *, freeze: bool) -> None:
        super().__init__(config)
        self.freeze = freeze

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.started:
            return
        for sock in sockets or ():
            host, port = sock.getsockname()[:2]
            logging.getLogger("uvicorn.error").info("Listening on http://%s:%d", host, port)
        if self.freeze:
            freeze_survivors()


def _build_app(options: ServeOptions) -> ASGIApp:
    module, _, name = options.factory.partition(":")
    factory: Callable[[], ASGIApp] = getattr(import_module(module), name)
    app = factory()
    return FreezeAfterWarmup(app) if options.gc_freeze else app


def run_worker(options: ServeOptions, shared: socket.socket | None = None) -> None:
    """One worker: its own event loop, the app built here, and its own listening socket
    unless the supervisor hands it a `shared` one."""
    if options.tracemalloc:
        from clientgraph.diagnostics import trace_allocations

        trace_allocations(options.tracemalloc)
    tune_collector(options.gc_threshold)
    sock = shared or listening_socket(options.host, options.port, reuse_port=options.reuse_port)
    config = uvicorn.Config(
        _build_app(options),
        http=http_protocol(options),
        loop=options.loop,
        lifespan="on",
        proxy_headers=False,
        access_log=options.access_log,
        log_level=options.log_level,
        log_config=server_log_config(options.log_format),
        ws_max_size=options.ws_max_size,
    )
    WorkerServer(config, freeze=options.gc_freeze).run(sockets=[sock])


class Supervisor:
    """Starts `options.workers` worker processes (spawned, so none inherits another's loop),
    starts a new one when one dies, and stops them all on SIGINT or SIGTERM.

    Without `reuse_port` it binds one socket and every worker accepts from it, as uvicorn's
    own supervisor does."""

    def __init__(self, options: ServeOptions) -> None:
        self.options = options
        self.shared = (
            None
            if options.reuse_port
            else listening_socket(options.host, options.port, reuse_port=False)
        )
        self.context = multiprocessing.get_context("spawn")
        self.workers: list[multiprocessing.process.BaseProcess] = []
        self.stopping = threading.Event()
        self.exit_code = 0

    def _start(self) -> multiprocessing.process.BaseProcess:
        process = self.context.Process(target=run_worker, args=(self.options, self.shared))
        process.start()
        return process

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping.set()

    def run(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._stop)
        logger.info("supervisor [%d]: %d workers", multiprocessing.current_process().pid or 0,
                    self.options.workers)  # fmt: skip
        self.workers = [self._start() for _ in range(self.options.workers)]
        while not self.stopping.wait(0.5):
            for index, process in enumerate(self.workers):
                if process.is_alive() or self.stopping.is_set():
                    continue
                if process.exitcode == STARTUP_FAILURE:
                    logger.error("worker [%s] could not start; stopping", process.pid)
                    self.exit_code = STARTUP_FAILURE
                    self.stopping.set()
                    break
                logger.error(
                    "worker [%s] exited with %s; starting another", process.pid, process.exitcode
                )
                if process.pid is not None:
                    metrics.process_ended(process.pid)
                time.sleep(RESTART_PAUSE_S)
                self.workers[index] = self._start()
        for process in self.workers:
            if process.is_alive() and process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGTERM)
        for process in self.workers:
            process.join()


@contextlib.contextmanager
def metrics_shared_by_workers() -> Iterator[None]:
    """Workers write their metrics where `/metrics` in any of them adds them up: the operator's
    `PROMETHEUS_MULTIPROC_DIR`, else a directory of this run's own, removed at the end."""
    if os.environ.get(MULTIPROCESS_DIRECTORY):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="clientgraph-metrics-") as directory:
        os.environ[MULTIPROCESS_DIRECTORY] = directory
        try:
            yield
        finally:
            del os.environ[MULTIPROCESS_DIRECTORY]


def serve(options: ServeOptions) -> None:
    check_port_free(options.host, options.port)
    if options.workers <= 1:
        run_worker(replace(options, reuse_port=False))
        return
    logging.config.dictConfig(server_log_config(options.log_format))
    logger.info(
        "clientgraph on http://%s:%d with %d workers", options.host, options.port, options.workers
    )
    with metrics_shared_by_workers():
        supervisor = Supervisor(options)
        supervisor.run()
    if supervisor.exit_code:
        sys.exit(supervisor.exit_code)
