"""`make bench`: clientgraph beside PostGraphile 5.1.5 on one freshly seeded PostgreSQL database.

Steps: create a scratch database on the local PostgreSQL (dropped at the end), `clientgraph
migrate`, seed it (bench/seed.py), take a token for the firm's OWNER (`clientgraph token`),
install PostGraphile (bench/peer.py; without it clientgraph is measured alone, and the report
says so), count the statements per request of each server through a protocol proxy
(bench/statements.py), then for 1 and for 2 worker processes start `clientgraph serve` and
PostGraphile on the same database and measure the dashboard and the account page at 1 and 16
keep-alive clients: each case repeated, the two servers taking turns (A B A B), each run a
separate load process (bench/load.py) with a warm-up, the median run by req/s reported. With the
most workers, also createAccount, assignClientOwner and transferClients (50 accounts a
request, between owner pairs made for it) at 16 clients (clientgraph only).
Writes bench/RESULTS.md; then times the import of 10,000 rows (bench/register_import.py) on a
database of its own. The exit status is 1 if any request failed, a server died or the import
did not do what it should.

Smoke run: `python -m bench.run --seconds 2 --warmup 1 --repeats 1 --scale 0.1`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
from sqlalchemy.engine import make_url

from bench import register_import, report
from bench.operations import TRANSFER_ACCOUNTS, TRANSFER_LANES, Workload, mutations, reads
from bench.peer import Peer, PeerUnavailable, install
from bench.processes import Sampler, Server, ServerFailed, Usage, cpu_ns, free_port
from bench.seed import Seeded, add_transfer_lanes, asyncpg_dsn, seed
from bench.statements import StatementCounter

ROOT = Path(__file__).resolve().parent.parent
CLIENTGRAPH = Path(sys.executable).with_name("clientgraph")
COUNTED_REQUESTS = 5
SETTLE_S = 0.2
"""How long the count of round trips before the answer waits before each request, for what
the server sent after the previous answer (a read's ROLLBACK): it is not counted with the
next request's. The statements and round trips in all are counted on requests sent back to
back, as before, so that no background work (the outbox relay's polls) lands among them."""
LOG_DIR = ROOT / "var" / "bench"
UNLIMITED_NODES = 10**15


class BenchError(Exception):
    pass


@dataclass(frozen=True)
class Options:
    seconds: float
    warmup: float
    repeats: int
    clients: list[int]
    workers: list[int]
    scale: float
    postgres: str
    peer_folder: Path
    peer: bool
    results: Path
    operations: frozenset[str] = frozenset()
    """Names of the operations to measure (reads and mutations); empty: all of them."""
    statements: bool = True
    register_import: bool = True
    """Also time the register import afterwards (bench/register_import.py)."""
    server_env: dict[str, str] = field(default_factory=dict)
    """Extra environment of `clientgraph serve` (settings to compare, e.g. CLIENTGRAPH_...)."""

    def measures(self, operation: str) -> bool:
        return not self.operations or operation.lower() in self.operations


@dataclass
class Run:
    server: str
    operation: str
    clients: int
    workers: int
    repeat: int
    result: dict[str, Any]
    usage: Usage
    load_before: float
    load_after: float


@dataclass
class Outcome:
    """Everything the report shows."""

    options: Options
    started: float = field(default_factory=time.time)
    machine: dict[str, str] = field(default_factory=dict)
    seeded: Seeded | None = None
    seed_s: float = 0.0
    peer_problem: str | None = None
    statements: dict[str, dict[str, Any]] = field(default_factory=dict)
    cold: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per read operation: the first request's and the second's server CPU and latency in
    ms, on a server that has answered no GraphQL request yet."""
    runs: list[Run] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _version(command: list[str]) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def _machine(peer: Peer | None) -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "cpus": f"{os.cpu_count()} x {cpu}",
        "python": sys.version.split()[0],
        "postgresql": "?",
    }
    if peer is not None:
        info["node"] = _version([str(peer.node_bin / "node"), "--version"])
        package = peer.app / "node_modules" / "postgraphile" / "package.json"
        info["postgraphile"] = orjson.loads(package.read_bytes()).get("version", "?")
    return info


class Database:
    """A scratch database on the local PostgreSQL, created and dropped by the rig."""

    def __init__(self, postgres: str) -> None:
        self.admin = postgres
        self.name = f"clientgraph_bench_{os.getpid()}_{secrets.token_hex(3)}"
        url = make_url(postgres)
        self.owner_url = url.set(drivername="postgresql+asyncpg", database=self.name)
        """The tables' owner (the admin user), for migrate, seed and `clientgraph token`."""

    def sqlalchemy_url(self, user: str | None = None) -> str:
        url = self.owner_url
        if user is not None:
            url = url.set(username=user, password=None)
        return url.render_as_string(hide_password=False)

    def libpq_url(self) -> str:
        return asyncpg_dsn(self.sqlalchemy_url())

    async def _admin(self, statement: str) -> None:
        connection = await asyncpg.connect(asyncpg_dsn(self.admin))
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    async def create(self) -> str:
        await self._admin(f'CREATE DATABASE "{self.name}"')
        connection = await asyncpg.connect(self.libpq_url())
        try:
            return await connection.fetchval("SHOW server_version")
        finally:
            await connection.close()

    async def drop(self) -> None:
        await self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


PEER_POOL_SIZE = 10


def _clientgraph_env(
    db: Database, secret: str, app_url: str | None = None, extra: dict[str, str] | None = None
) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CLIENTGRAPH_") and key != "DATABASE_URL"
    }
    env |= {
        "DATABASE_URL": db.sqlalchemy_url(),
        "CLIENTGRAPH_SECRET": secret,
        # One token sends every request of a run: the per-caller node budget would answer 429
        # within a second. The rig measures reads, not the rate limit.
        "CLIENTGRAPH_RATE_LIMIT_NODES_PER_MINUTE": str(UNLIMITED_NODES),
        # PostGraphile's pool: 10 connections a process, further requests waiting for one.
        "CLIENTGRAPH_DB_POOL_SIZE": str(PEER_POOL_SIZE),
        **(extra or {}),
    }
    if app_url is not None:
        env["CLIENTGRAPH_APP_DATABASE_URL"] = app_url
    return env


def _clientgraph(name: str, env: dict[str, str], workers: int) -> Server:
    port = free_port()
    return Server(
        name=name,
        command=[str(CLIENTGRAPH), "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        cwd=ROOT,
        port=port,
        workers=workers,
        log=LOG_DIR / f"clientgraph-{workers}w.log",
    )


def _postgraphile(name: str, peer: Peer, database_url: str, workers: int) -> Server:
    port = free_port()
    return Server(
        name=name,
        command=peer.command(workers),
        env=peer.env(database_url, port, workers),
        cwd=peer.app,
        port=port,
        workers=workers,
        log=LOG_DIR / f"postgraphile-{workers}w.log",
    )


def _cli(arguments: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(CLIENTGRAPH), *arguments],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"clientgraph {' '.join(arguments)} failed: {done.stderr[-2000:]}")
    return done.stdout.strip()


def _bodies(workload: Workload, start: int, count: int) -> list[bytes]:
    from bench.load import Spec

    spec = Spec(url="", clients=1, warmup_s=0, seconds=0, start=start, **workload.spec())
    bodies = spec.bodies()
    return [next(bodies) for _ in range(count)]


async def _post(session: aiohttp.ClientSession, url: str, body: bytes) -> dict[str, Any]:
    async with session.post(url, data=body) as response:
        payload = await response.read()
        if response.status != 200:
            raise BenchError(f"{url}: HTTP {response.status}: {payload[:300]!r}")
    answer = orjson.loads(payload)
    if "errors" in answer:
        raise BenchError(f"{url}: {orjson.dumps(answer['errors'])[:500].decode()}")
    return answer


def _session(headers: dict[str, str]) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(headers={"Content-Type": "application/json", **headers})


async def count_statements(
    outcome: Outcome,
    db: Database,
    secret: str,
    headers: dict[str, str],
    peer: Peer | None,
    read_workloads: dict[str, tuple[Workload, Workload | None]],
    write_workloads: list[Workload],
) -> None:
    """Statements and round trips per request, one server process each, through the proxy."""
    counter = StatementCounter(db.sqlalchemy_url())
    await counter.start()
    app_url = counter.through(db.sqlalchemy_url(user="clientgraph_app"))
    # The outbox relay polls the database on its own: its statements are no request's, and
    # would land among the ones counted (even while PostGraphile answers, through this proxy).
    relay_off = {"CLIENTGRAPH_OUTBOX_RELAY": "false", **outcome.options.server_env}
    env = _clientgraph_env(db, secret, app_url, extra=relay_off)
    servers = [_clientgraph("clientgraph (counting)", env, 1)]
    if peer is not None:
        peer_url = asyncpg_dsn(counter.through(db.sqlalchemy_url()))
        servers.append(_postgraphile("PostGraphile (counting)", peer, peer_url, 1))
    try:
        for server in servers:
            server.start()
        cases: list[tuple[str, Server, Workload, dict[str, str]]] = []
        for name, (ours, theirs) in read_workloads.items():
            cases.append((name, servers[0], ours, headers))
            if theirs is not None and peer is not None:
                cases.append((name, servers[1], theirs, {}))
        cases += [(workload.name, servers[0], workload, headers) for workload in write_workloads]
        for server in servers:
            _, _, workload, case_headers = next(case for case in cases if case[1] is server)
            await server.wait_ready(orjson.loads(_bodies(workload, 0, 1)[0]), case_headers)
        for number, (name, server, workload, case_headers) in enumerate(cases):
            bodies = _bodies(workload, 10_000 * (number + 1), 3 + 2 * COUNTED_REQUESTS + 1)
            async with _session(case_headers) as session:
                for body in bodies[:3]:
                    await _post(session, server.url, body)
                counter.reset()
                for body in bodies[3 : 3 + COUNTED_REQUESTS]:
                    await _post(session, server.url, body)
                tally = counter.reset()
                await _post(session, server.url, bodies[3 + COUNTED_REQUESTS])
                one = counter.reset()
                before_answers = 0
                for body in bodies[4 + COUNTED_REQUESTS :]:
                    await asyncio.sleep(SETTLE_S)
                    before = counter.tally.round_trips
                    await _post(session, server.url, body)
                    before_answers += counter.tally.round_trips - before
            key = "clientgraph" if server is servers[0] else "PostGraphile"
            outcome.statements.setdefault(key, {})[name] = {
                "statements": len(tally.statements) / COUNTED_REQUESTS,
                "round_trips": tally.round_trips / COUNTED_REQUESTS,
                "round_trips_before_answer": before_answers / COUNTED_REQUESTS,
                "sample": one.statements,
            }
    finally:
        for server in servers:
            server.stop()
        await counter.close()


async def load_run(
    server: Server,
    workload: Workload,
    clients: int,
    headers: dict[str, str],
    options: Options,
    start: int = 0,
) -> tuple[dict[str, Any], Usage, float, float]:
    spec = {
        "url": server.url,
        "clients": clients,
        "warmup_s": options.warmup,
        "seconds": options.seconds,
        "headers": headers,
        "start": start,
        **workload.spec(),
    }
    with tempfile.NamedTemporaryFile("wb", suffix=".json", delete=False) as spec_file:
        spec_file.write(orjson.dumps(spec))
    try:
        load_before = os.getloadavg()[0]
        sampler = Sampler(server)
        sampler.start()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.load",
            spec_file.name,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        usage = await sampler.stop()
        load_after = os.getloadavg()[0]
    finally:
        os.unlink(spec_file.name)
    server.check_alive()
    if process.returncode != 0:
        raise BenchError(f"load process failed: {err.decode()[-2000:]}")
    return orjson.loads(out), usage, load_before, load_after


async def _verify(
    ours: Server,
    theirs: Server | None,
    headers: dict[str, str],
    read_workloads: dict[str, tuple[Workload, Workload | None]],
) -> None:
    """Both servers answer each read without errors, with the same accounts."""
    dashboard, account = read_workloads["dashboard"], read_workloads["account page"]
    async with _session(headers) as session:
        mine = await _post(session, ours.url, orjson.dumps(dashboard[0].body))
        page = await _post(session, ours.url, orjson.dumps(account[0].body))
    nodes = mine["data"]["accounts"]["nodes"]
    detail = page["data"]["account"]
    if len(nodes) != 50 or detail is None or not detail["relatedAccounts"]:
        raise BenchError("clientgraph's answers do not show the seeded data")
    if theirs is None:
        return
    async with _session({}) as session:
        other = await _post(session, theirs.url, orjson.dumps(dashboard[1].body))
        other_page = await _post(session, theirs.url, orjson.dumps(account[1].body))
    their_nodes = other["data"]["accounts"]["nodes"]
    if [node["name"] for node in nodes] != [node["name"] for node in their_nodes]:
        raise BenchError("clientgraph and PostGraphile list different dashboard accounts")
    if mine["data"]["accounts"]["totalCount"] != other["data"]["accounts"]["totalCount"]:
        raise BenchError("clientgraph and PostGraphile count different totals")
    their_detail = other_page["data"]["account"]
    if (detail["name"], len(detail["contacts"])) != (
        their_detail["name"],
        len(their_detail["contacts"]["nodes"]),
    ) or len(detail["history"]["nodes"]) != len(other_page["data"]["history"]["nodes"]):
        raise BenchError("clientgraph and PostGraphile show different account pages")


def _record(outcome: Outcome, run: Run) -> None:
    outcome.runs.append(run)
    result = run.result
    print(
        f"  {run.server:<12} {run.operation:<17} {run.clients:>2} clients {run.workers} workers"
        f"  {result['rps']:8.1f} req/s  p50 {report.milliseconds(result['p50_ms']):>7} ms"
        f"  p99 {report.milliseconds(result['p99_ms']):>7} ms  errors {result['errors']}"
        f"  rss {'/'.join(f'{value:.0f}' for value in run.usage.rss_mb)} MB"
        f"  cpu {report.cpu_per_request(run)} ms/req"
        f"  load {run.load_before:.1f}",
        flush=True,
    )
    if result["errors"]:
        outcome.problems.append(
            f"{run.server} {run.operation} at {run.clients} clients, {run.workers} workers: "
            f"{result['errors']} errors, e.g. {result['error_samples'][:1]}"
        )


COLD_REPEATS = 3


async def cold_start(
    outcome: Outcome,
    db: Database,
    secret: str,
    headers: dict[str, str],
    read_workloads: dict[str, tuple[Workload, Workload | None]],
) -> None:
    """What the first request of each read costs a server that has answered no GraphQL
    request: one process, started afresh for each of COLD_REPEATS rounds, ready by /readyz;
    each read sent once (its plan built) and once more (its plan cached), the worker's CPU
    time read before and after each. Then the same with the reads' documents registered
    (`clientgraph register-documents`), which the server plans at start-up: the first request
    finds its plan. The medians of the rounds."""
    rounds: dict[tuple[str, bool], list[tuple[float, ...]]] = {}
    with tempfile.TemporaryDirectory(prefix="clientgraph-bench-registered-") as directory:
        registered_dir = Path(directory) / "registered"
        _register(Path(directory), registered_dir, [mine for mine, _ in read_workloads.values()])
        for registered in (False, True):
            extra = dict(outcome.options.server_env)
            if registered:
                extra["CLIENTGRAPH_PERSISTED_QUERIES_DIR"] = str(registered_dir)
            for _ in range(COLD_REPEATS):
                figures = await _first_requests(db, secret, headers, read_workloads, extra)
                for name, measured in figures.items():
                    rounds.setdefault((name, registered), []).append(measured)
    for (name, registered), runs in rounds.items():
        first_cpu, first_ms, second_cpu, second_ms = (
            statistics.median(run[index] for run in runs) for index in range(4)
        )
        if registered:
            outcome.cold[name] |= {
                "registered_first_cpu_ms": first_cpu,
                "registered_first_ms": first_ms,
            }
        else:
            outcome.cold[name] = {
                "first_cpu_ms": first_cpu,
                "first_ms": first_ms,
                "second_cpu_ms": second_cpu,
                "second_ms": second_ms,
            }


def _register(scratch: Path, directory: Path, workloads: list[Workload]) -> None:
    """Register the workloads' documents in `directory` as an operator does, from files
    written in `scratch`."""
    files = []
    for index, workload in enumerate(workloads):
        assert workload.body is not None
        path = scratch / f"read-{index}.graphql"
        path.write_text(workload.body["query"])
        files.append(str(path))
    subprocess.run(
        [str(CLIENTGRAPH), "register-documents", "--dir", str(directory), *files],
        check=True,
        capture_output=True,
    )


async def _first_requests(
    db: Database,
    secret: str,
    headers: dict[str, str],
    read_workloads: dict[str, tuple[Workload, Workload | None]],
    extra: dict[str, str],
) -> dict[str, tuple[float, ...]]:
    """On a fresh server: per read, (first CPU ms, first ms, second CPU ms, second ms)."""
    server = _clientgraph("clientgraph (cold start)", _clientgraph_env(db, secret, extra=extra), 1)
    server.start()
    measured: dict[str, tuple[float, ...]] = {}
    try:
        await server.wait_healthy()
        (worker,) = server.worker_processes()
        async with _session(headers) as session:
            for name, (mine, _) in read_workloads.items():
                body = orjson.dumps(mine.body)
                figures: list[float] = []
                for _ in range(2):
                    cpu = cpu_ns(worker.pid)
                    started = time.perf_counter()
                    await _post(session, server.url, body)
                    elapsed = time.perf_counter() - started
                    figures += [(cpu_ns(worker.pid) - cpu) / 1e6, elapsed * 1000]
                measured[name] = tuple(figures)
    finally:
        server.stop()
    return measured


async def measure(
    outcome: Outcome,
    db: Database,
    secret: str,
    headers: dict[str, str],
    peer: Peer | None,
    read_workloads: dict[str, tuple[Workload, Workload | None]],
) -> None:
    options = outcome.options
    assert outcome.seeded is not None
    batch = 0
    for workers in options.workers:
        env = _clientgraph_env(db, secret, extra=options.server_env)
        ours = _clientgraph("clientgraph", env, workers)
        theirs = _postgraphile("PostGraphile", peer, db.libpq_url(), workers) if peer else None
        servers = [ours] + ([theirs] if theirs else [])
        try:
            for server in servers:
                server.start()
            await ours.wait_ready(read_workloads["dashboard"][0].body or {}, headers)
            if theirs is not None:
                await theirs.wait_ready(read_workloads["dashboard"][1].body or {}, {})
            await _verify(ours, theirs, headers, read_workloads)
            print(f"{workers} worker(s): clientgraph on :{ours.port}", flush=True)
            for name, (mine, their) in read_workloads.items():
                if not options.measures(name):
                    continue
                for clients in options.clients:
                    for repeat in range(options.repeats):
                        pairs = [("clientgraph", ours, mine, headers)]
                        if theirs is not None and their is not None:
                            pairs.append(("PostGraphile", theirs, their, {}))
                        for label, server, workload, case_headers in pairs:
                            result, usage, before, after = await load_run(
                                server, workload, clients, case_headers, options
                            )
                            run = Run(label, name, clients, workers, repeat, result, usage,
                                      before, after)  # fmt: skip
                            _record(outcome, run)
            if workers == max(options.workers):
                for repeat in range(options.repeats):
                    batch += 1
                    prefix = f"m{batch}"
                    pairs = await add_transfer_lanes(
                        db.sqlalchemy_url(), outcome.seeded, prefix, TRANSFER_LANES,
                        TRANSFER_ACCOUNTS,
                    )  # fmt: skip
                    for workload in mutations(outcome.seeded, prefix, pairs):
                        if not options.measures(workload.name):
                            continue
                        clients = max(options.clients)
                        result, usage, before, after = await load_run(
                            ours, workload, clients, headers, options
                        )
                        run = Run("clientgraph", workload.name, clients, workers, repeat,
                                  result, usage, before, after)  # fmt: skip
                        _record(outcome, run)
        finally:
            for server in servers:
                server.stop()


async def bench(options: Options) -> Outcome:
    outcome = Outcome(options)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    db = Database(options.postgres)
    secret = secrets.token_urlsafe(32)
    peer: Peer | None = None
    if options.peer:
        try:
            print("PostGraphile: installing under var/peer/ unless done before", flush=True)
            peer = install(options.peer_folder, ROOT / "var" / "peer")
        except PeerUnavailable as problem:
            outcome.peer_problem = str(problem)
    else:
        outcome.peer_problem = "left out (--no-peer)"
    if outcome.peer_problem:
        print(f"WARNING: PostGraphile is not measured: {outcome.peer_problem}", flush=True)
    outcome.machine = _machine(peer)
    outcome.machine["postgresql"] = await db.create()
    try:
        env = _clientgraph_env(db, secret)
        _cli(["migrate"], env)
        started = time.perf_counter()
        outcome.seeded = await seed(db.sqlalchemy_url(), options.scale)
        outcome.seed_s = time.perf_counter() - started
        print(f"seeded {outcome.seeded.counts} in {outcome.seed_s:.1f} s", flush=True)
        token = _cli(["token", outcome.seeded.owner_email], env)
        headers = {"Authorization": f"Bearer {token}"}
        read_workloads = reads(outcome.seeded, peer.folder if peer else None)
        if options.statements:
            await count_statements(
                outcome,
                db,
                secret,
                headers,
                peer,
                read_workloads,
                mutations(
                    outcome.seeded,
                    "c",
                    await add_transfer_lanes(
                        db.sqlalchemy_url(), outcome.seeded, "c", 1, TRANSFER_ACCOUNTS
                    ),
                ),
            )
            print(f"statements per request: {_statement_summary(outcome)}", flush=True)
        await cold_start(outcome, db, secret, headers, read_workloads)
        print(f"cold start: {outcome.cold}", flush=True)
        await measure(outcome, db, secret, headers, peer, read_workloads)
    except (BenchError, ServerFailed, OSError, asyncpg.PostgresError) as problem:
        outcome.problems.append(f"{type(problem).__name__}: {problem}")
        traceback.print_exc()
    finally:
        await db.drop()
    return outcome


def _statement_summary(outcome: Outcome) -> str:
    return "; ".join(
        f"{server} {name} {figures['statements']:g}"
        for server, cases in outcome.statements.items()
        for name, figures in cases.items()
    )


def parse(argv: list[str] | None = None) -> Options:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--seconds", type=float, default=10.0, help="measured, per run")
    arguments.add_argument("--warmup", type=float, default=2.0, help="before each run")
    arguments.add_argument("--repeats", type=int, default=3, help="runs per case")
    arguments.add_argument("--clients", default="1,16", help="comma-separated")
    arguments.add_argument("--workers", default="1,2", help="comma-separated")
    arguments.add_argument("--scale", type=float, default=1.0, help="1 = 10,000 accounts")
    arguments.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="a superuser on the local PostgreSQL (env BENCH_POSTGRES)",
    )
    arguments.add_argument(
        "--peer-folder",
        type=Path,
        default=Path(os.environ.get("BENCH_PEER", ROOT.parent / "shared" / "peer")),
        help="PostGraphile's setup (env BENCH_PEER)",
    )
    arguments.add_argument("--no-peer", dest="peer", action="store_false")
    arguments.add_argument("--results", type=Path, default=ROOT / "bench" / "RESULTS.md")
    arguments.add_argument(
        "--operations",
        default="",
        help="comma-separated, e.g. 'dashboard,account page,createAccount'; default all",
    )
    arguments.add_argument(
        "--no-statements",
        dest="statements",
        action="store_false",
        help="skip counting the statements per request",
    )
    arguments.add_argument(
        "--no-import",
        dest="register_import",
        action="store_false",
        help="skip timing the register import afterwards",
    )
    arguments.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for clientgraph serve, e.g. CLIENTGRAPH_GC_FREEZE=false (repeatable)",
    )
    parsed = arguments.parse_args(argv)
    server_env = dict(item.split("=", 1) for item in parsed.server_env)
    return Options(
        seconds=parsed.seconds,
        warmup=parsed.warmup,
        repeats=parsed.repeats,
        clients=[int(value) for value in parsed.clients.split(",")],
        workers=[int(value) for value in parsed.workers.split(",")],
        scale=parsed.scale,
        postgres=parsed.postgres,
        peer_folder=parsed.peer_folder,
        peer=parsed.peer,
        results=parsed.results,
        operations=frozenset(
            name.strip().lower() for name in parsed.operations.split(",") if name.strip()
        ),
        statements=parsed.statements,
        register_import=parsed.register_import,
        server_env=server_env,
    )


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    outcome = asyncio.run(bench(options))
    options.results.write_text(report.markdown(outcome))
    raw = LOG_DIR / "last-run.json"
    raw.write_bytes(orjson.dumps(outcome, default=str, option=orjson.OPT_INDENT_2))
    print(f"wrote {options.results} (every figure: {raw})")
    for problem in outcome.problems:
        print(f"ERROR: {problem}", file=sys.stderr)
    if not options.register_import:
        return 1 if outcome.problems else 0
    print("the register import (bench/register_import.py):", flush=True)
    import_url = make_url(options.postgres).set(drivername="postgresql+asyncpg")
    imported = register_import.main(
        ["--database-url", import_url.render_as_string(hide_password=False)]
    )
    return 1 if outcome.problems or imported else 0


if __name__ == "__main__":
    sys.exit(main())
