"""Throughput and latency of the 50-account dashboard under concurrent clients, in process
(httpx ASGI transport, no network): BENCH_DATABASE_URL picks the database, SQLite otherwise."""

from __future__ import annotations

import asyncio
import os
import statistics
import time

from bench.common import DASHBOARD, database_url, seeded_client

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "400"))


async def main() -> None:
    client, db, token = await seeded_client(database_url(), 500)
    headers = {"Authorization": f"Bearer {token}"}
    body = {"query": DASHBOARD, "variables": {"first": 50}}
    latencies: list[float] = []
    remaining = REQUESTS

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            response = await client.post("/graphql", json=body, headers=headers)
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200 and "errors" not in response.json()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CLIENTS)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    print(f"database   {db.dialect}")
    print(f"requests   {len(latencies)} with {CLIENTS} concurrent clients")
    print(f"throughput {len(latencies) / elapsed:.1f} requests/s")
    print(
        f"latency    p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"p95 {latencies[int(len(latencies) * 0.95)] * 1000:.1f} ms"
    )
    await client.aclose()
    await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
