"""Does the server's memory stay flat under long mixed load? Over real HTTP against
`clientgraph serve` run as a subprocess, on a fresh SQLite file or, with --database-url, on a
database of its own on that PostgreSQL server:

    python -m bench.memory --minutes 10 [--database-url postgresql+asyncpg://postgres@127.0.0.1/test]

Seeds a firm, drives the mix of bench/traffic.py from several concurrent clients, samples the
server's VmRSS (/proc/<pid>/status) every few seconds, and prints the samples, a table by minute
and the verdict: FLAT when every sample after the warm-up stays within ±10 % of the first one
after it (exit status 0), GROWING otherwise (exit status 1). The machine's load average is
printed alongside: on a shared machine the figures are noisy.

--tracemalloc N runs the server with CLIENTGRAPH_TRACEMALLOC=N and signals it (SIGUSR1) at
the end of the warm-up and at the end, so that its log shows the allocations that grew in
between, by traceback (slow: for finding a cause, not for the figures).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from clientgraph.auth.access_tokens import issue_token
from clientgraph.db.engine import Database

from bench.common import SECRET, seed_firm
from bench.server import Server, fresh_database, running_server, temporary_directory
from bench.traffic import Traffic

TOLERANCE = 0.10
TRACEMALLOC_MARK = "tracemalloc:"


@dataclass(frozen=True, slots=True)
class Sample:
    elapsed: float
    rss_kib: int
    threads: int
    requests: int
    load1: float

    @property
    def rss_mib(self) -> float:
        return self.rss_kib / 1024


def process_status(pid: int) -> dict[str, str]:
    status = Path(f"/proc/{pid}/status").read_text()
    return dict(
        (key, value.strip())
        for key, _, value in (line.partition(":") for line in status.splitlines())
    )


def take_sample(pid: int, elapsed: float, requests: int) -> Sample:
    status = process_status(pid)
    return Sample(
        elapsed=elapsed,
        rss_kib=int(status["VmRSS"].split()[0]),
        threads=int(status["Threads"]),
        requests=requests,
        load1=os.getloadavg()[0],
    )


def loadavg() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


async def account_ids(base_url: str, token: str) -> list[str]:
    query = (
        "query($after: String) { accounts(first: 100, after: $after) "
        "{ pageInfo { hasNextPage endCursor } nodes { id } } }"
    )
    ids: list[str] = []
    after = None
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        while True:
            response = await client.post(
                "/graphql",
                json={"query": query, "variables": {"after": after}},
                headers={"Authorization": f"Bearer {token}"},
            )
            page = response.json()["data"]["accounts"]
            ids.extend(node["id"] for node in page["nodes"])
            if not page["pageInfo"]["hasNextPage"]:
                return ids
            after = page["pageInfo"]["endCursor"]


def _signal_tracemalloc(server: Server) -> None:
    os.kill(server.pid, signal.SIGUSR1)


async def _wait_for_reports(server: Server, reports: int, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.log.read_text(errors="replace").count(TRACEMALLOC_MARK) >= reports:
            return
        await asyncio.sleep(1)


async def drive(
    server: Server, token: str, args: argparse.Namespace
) -> tuple[list[Sample], Traffic]:
    ids = await account_ids(server.base_url, token)
    traffic = Traffic(token, ids, random.Random(args.seed))
    for item in args.mix:
        kind, _, weight = item.partition("=")
        traffic.makers[kind] = (int(weight), traffic.makers[kind][1])
    duration, warmup = args.minutes * 60, args.warmup_minutes * 60
    samples = [take_sample(server.pid, 0.0, 0)]
    print(f"{'t (s)':>7} {'RSS MiB':>8} {'threads':>7} {'requests':>9} {'req/s':>6} {'load1':>6}")
    print(_sample_line(samples[0], None), flush=True)
    stop = asyncio.Event()
    clients = [httpx.AsyncClient(base_url=server.base_url, timeout=60) for _ in range(args.clients)]
    workers = [asyncio.create_task(traffic.run(client, stop)) for client in clients]
    started = time.monotonic()
    signalled_warm = False
    try:
        for tick in range(1, int(duration // args.interval) + 1):
            await asyncio.sleep(max(0.0, started + tick * args.interval - time.monotonic()))
            if server.process.poll() is not None:
                raise RuntimeError(f"the server exited:\n{server.log_tail()}")
            sample = take_sample(server.pid, time.monotonic() - started, traffic.tally.requests)
            print(_sample_line(sample, samples[-1]), flush=True)
            samples.append(sample)
            if args.tracemalloc and not signalled_warm and sample.elapsed >= warmup:
                _signal_tracemalloc(server)
                signalled_warm = True
    finally:
        stop.set()
        await asyncio.gather(*workers, return_exceptions=True)
        for client in clients:
            await client.aclose()
    if args.tracemalloc:
        _signal_tracemalloc(server)
        await _wait_for_reports(server, 2)
    return samples, traffic


def _sample_line(sample: Sample, previous: Sample | None) -> str:
    rate = (
        (sample.requests - previous.requests) / (sample.elapsed - previous.elapsed)
        if previous is not None and sample.elapsed > previous.elapsed
        else 0.0
    )
    return (
        f"{sample.elapsed:>7.0f} {sample.rss_mib:>8.1f} {sample.threads:>7} "
        f"{sample.requests:>9} {rate:>6.1f} {sample.load1:>6.2f}"
    )


def by_minute(samples: list[Sample]) -> None:
    print(
        f"\n{'minute':>6} {'RSS median':>10} {'min':>7} {'max':>7} {'requests':>9} "
        f"{'req/s':>6} {'load1 median':>12}"
    )
    previous_requests = 0
    minutes = int(samples[-1].elapsed // 60 + (samples[-1].elapsed % 60 > 1))
    for minute in range(minutes):
        inside = [s for s in samples[1:] if minute * 60 < s.elapsed <= (minute + 1) * 60 + 1]
        if not inside:
            continue
        rss = [s.rss_mib for s in inside]
        served = inside[-1].requests - previous_requests
        previous_requests = inside[-1].requests
        print(
            f"{minute + 1:>6} {statistics.median(rss):>10.1f} {min(rss):>7.1f} {max(rss):>7.1f} "
            f"{served:>9} {served / 60:>6.1f} {statistics.median(s.load1 for s in inside):>12.2f}"
        )


def verdict(samples: list[Sample], warmup_s: float) -> bool:
    measured = [s for s in samples if s.elapsed >= warmup_s] or samples[-1:]
    warm, end = measured[0], measured[-1]
    peak = max(measured, key=lambda s: s.rss_kib)
    low = min(measured, key=lambda s: s.rss_kib)

    def change(sample: Sample) -> float:
        return (sample.rss_kib / warm.rss_kib - 1) * 100

    first_minute = [s.rss_kib for s in measured if s.elapsed <= warm.elapsed + 60]
    last_minute = [s.rss_kib for s in measured if s.elapsed >= end.elapsed - 60]
    median_change = (statistics.median(last_minute) / statistics.median(first_minute) - 1) * 100
    flat = all(abs(change(s)) <= TOLERANCE * 100 for s in measured)

    def row(label: str, sample: Sample) -> str:
        return f"{label:<18} {sample.rss_mib:8.1f} MiB at {sample.elapsed:4.0f} s"

    print(f"\n{row('RSS at start', samples[0])} (server ready, before load)")
    print(row("after warm-up", warm))
    print(f"{row('at the end', end)} ({change(end):+.1f} %)")
    print(f"{row('max after warm-up', peak)} ({change(peak):+.1f} %)")
    print(f"{row('min after warm-up', low)} ({change(low):+.1f} %)")
    print(f"median, last minute vs first minute after warm-up: {median_change:+.1f} %")
    state = "FLAT" if flat else "GROWING"
    print(f"{'verdict':<18} {state}: every sample after warm-up within ±{TOLERANCE:.0%}: {flat}")
    return flat


def report(samples: list[Sample], traffic: Traffic, args: argparse.Namespace, dialect: str) -> bool:
    tally = traffic.tally
    elapsed = samples[-1].elapsed
    print(f"\ndatabase           {dialect}")
    print(
        f"load               {args.clients} clients for {elapsed / 60:.1f} min, "
        f"warm-up {args.warmup_minutes:g} min, a sample every {args.interval:g} s"
    )
    print(f"requests           {tally.requests} ({tally.requests / elapsed:.1f}/s)")
    print("by kind            " + ", ".join(f"{k} {n}" for k, n in tally.kinds.most_common()))
    print("by status          " + ", ".join(f"{k}: {n}" for k, n in sorted(tally.statuses.items())))
    if tally.failures:
        print("client failures    " + ", ".join(f"{k} {n}" for k, n in tally.failures.items()))
    print(
        f"machine            {os.cpu_count()} CPUs; load average now {loadavg()}, "
        f"median 1-min during the run {statistics.median(s.load1 for s in samples):.2f}"
    )
    by_minute(samples)
    return verdict(samples, args.warmup_minutes * 60)


async def main(args: argparse.Namespace) -> bool:
    directory = temporary_directory()
    print(f"machine load average at start {loadavg()}; files in {directory}", flush=True)
    async with fresh_database(args.database_url, directory) as url:
        db = Database(url)
        try:
            firm_id, admin_id = await seed_firm(db, args.accounts)
            dialect = db.dialect
        finally:
            await db.dispose()
        lifetime = int(args.minutes * 60) + 3600
        token = issue_token(SECRET, user_id=admin_id, firm_id=firm_id, ttl_seconds=lifetime)
        env = dict(item.split("=", 1) for item in args.server_env)
        if args.tracemalloc:
            env["CLIENTGRAPH_TRACEMALLOC"] = str(args.tracemalloc)
        with running_server(url, directory / "server.log", env) as server:
            print(f"server pid {server.pid} at {server.base_url}, log {server.log}", flush=True)
            samples, traffic = await drive(server, token, args)
        flat = report(samples, traffic, args, dialect)
        if args.tracemalloc:
            lines = server.log.read_text(errors="replace").splitlines()
            print("\n" + "\n".join(line for line in lines if TRACEMALLOC_MARK in line))
        return flat


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument(
        "--warmup-minutes", type=float, help="excluded from the verdict (default: a fifth)"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL"),
        help="a PostgreSQL server to create a database on (default: a temporary SQLite file)",
    )
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--mix",
        action="append",
        default=[],
        metavar="KIND=WEIGHT",
        help="change the weight of a kind of request in bench/traffic.py, e.g. failing=50",
    )
    parser.add_argument("--tracemalloc", type=int, default=0, metavar="FRAMES")
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the server, e.g. MALLOC_ARENA_MAX=2",
    )
    args = parser.parse_args(argv)
    if args.warmup_minutes is None:
        args.warmup_minutes = args.minutes / 5
    return args


if __name__ == "__main__":
    sys.exit(0 if asyncio.run(main(arguments())) else 1)
