"""The load process: N keep-alive HTTP clients posting GraphQL to one URL for a fixed time.

It runs in a process of its own (`python -m bench.load SPEC.json`), so that the clients never
share an interpreter, a GIL or an event loop with the server they measure. SPEC names the URL,
headers, clients, warm-up and measured seconds, and what to post: one fixed `body` (the reads),
or a `template` whose `__N__` is the request's number (counting from `start`) and whose other
placeholders (`choices`: name → [values, stride]) take the value at `N * stride` in turn (the
mutations: a new account, or another owner, per request).

A response is an error unless it is HTTP 200, has no `errors` member and, if `expect` is
given, contains that text. Errors of the warm-up count too. It prints one JSON line: requests
and latency percentiles of the measured window, req/s, errors with the first few samples.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass, field
from itertools import count
from typing import Any

import aiohttp
import orjson

ERRORS_KEPT = 3


@dataclass(frozen=True, slots=True)
class Spec:
    url: str
    clients: int
    warmup_s: float
    seconds: float
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    template: str | None = None
    choices: dict[str, list[Any]] = field(default_factory=dict)
    start: int = 0
    expect: str | None = None

    def bodies(self) -> Any:
        """An endless iterator of request bodies (bytes)."""
        if self.body is not None:
            fixed = orjson.dumps(self.body)
            while True:
                yield fixed
        assert self.template is not None
        for number in count(self.start):
            text = self.template.replace("__N__", str(number))
            for name, (values, stride) in self.choices.items():
                text = text.replace(name, values[(number * stride) % len(values)])
            yield text.encode()


def percentile_ms(ordered: list[float], fraction: float) -> float | None:
    """None when no request finished inside the measured window."""
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000


def failure(status: int, body: bytes, expect: bytes | None) -> str | None:
    """Why a response is an error, or None."""
    if status != 200:
        return f"HTTP {status}: {body[:300]!r}"
    if b'"errors"' in body or (expect is not None and expect not in body):
        return body[:300].decode(errors="replace")
    return None


async def run(spec: Spec) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", **spec.headers}
    connector = aiohttp.TCPConnector(limit=spec.clients)
    expect = spec.expect.encode() if spec.expect else None
    bodies = spec.bodies()
    latencies: list[float] = []
    samples: list[str] = []
    errors = 0
    answered = 0
    measuring = stop = False

    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def client() -> None:
            nonlocal errors, answered
            while not stop:
                started = time.perf_counter()
                try:
                    async with session.post(spec.url, data=next(bodies)) as response:
                        problem = failure(response.status, await response.read(), expect)
                except aiohttp.ClientError as error:
                    problem = f"{type(error).__name__}: {error}"
                answered += 1
                if problem is not None:
                    errors += 1
                    if len(samples) < ERRORS_KEPT:
                        samples.append(problem)
                if measuring and not stop:
                    latencies.append(time.perf_counter() - started)

        tasks = [asyncio.create_task(client()) for _ in range(spec.clients)]
        await asyncio.sleep(spec.warmup_s)
        measuring = True
        started = time.perf_counter()
        await asyncio.sleep(spec.seconds)
        stop = True
        elapsed = time.perf_counter() - started
        await asyncio.gather(*tasks)

    latencies.sort()
    return {
        "requests": len(latencies),
        "answered": answered,
        "errors": errors,
        "error_samples": samples,
        "rps": len(latencies) / elapsed,
        "p50_ms": percentile_ms(latencies, 0.50),
        "p95_ms": percentile_ms(latencies, 0.95),
        "p99_ms": percentile_ms(latencies, 0.99),
    }


def main() -> None:
    with open(sys.argv[1], "rb") as spec_file:
        spec = Spec(**orjson.loads(spec_file.read()))
    sys.stdout.write(orjson.dumps(run_sync(spec)).decode() + "\n")


def run_sync(spec: Spec) -> dict[str, Any]:
    return asyncio.run(run(spec))


if __name__ == "__main__":
    main()
