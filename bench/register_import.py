"""How long does the register import take? Over real HTTP against `clientgraph serve` run as a
subprocess, on a database of its own on the PostgreSQL server of --database-url (or, with
--sqlite, a fresh SQLite file):

    python -m bench.register_import [--rows 10000] [--database-url postgresql+asyncpg://…]
                                    [--no-second-upload] [--exports 1]

Makes a firm with ownership on, an owner and a custom field, uploads a CSV of `--rows`
accounts (each with tags, the owner, a contact with e-mail, phone and role, and a custom
value) to POST /import/accounts.csv, then the same file again (every account unchanged; left
out with --no-second-upload), and prints both times, the report of each, the server's peak
memory (VmHWM), then streams the register out of GET /export/accounts.csv `--exports` times,
each time from a freshly started server so that its peak memory (VmHWM) is the export's own,
and prints each time, rows per second and peak, their medians, and the load average:
on a shared machine the figures are noisy. Exit status 1 when the first upload does not create
every account, the second does not find them all unchanged, or an export does not hold a row
per account. `make bench` runs it after the comparison with PostGraphile.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import os
import sys
import time
from pathlib import Path
from statistics import median
from typing import Any

import asyncpg
import httpx
from clientgraph.auth.access_tokens import issue_token
from clientgraph.db.engine import Database
from clientgraph.resolvers.register_csv.columns import header
from sqlalchemy.engine import URL, make_url

from bench.common import SECRET, seed_firm
from bench.server import Server, fresh_database, running_server, temporary_directory

DEFAULT_POSTGRES = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
TARGET_S = 30.0


def register_csv(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header(["vat"]))
    for index in range(rows):
        writer.writerow(
            [
                f"Imported {index:06} ApS",
                f"I-{index:06}",
                "COMPANY",
                "ACTIVE",
                "imported|vip" if index % 3 == 0 else "imported",
                "Bench Admin",
                "Ann",
                f"Person {index}",
                f"ann.{index}@import.example",
                f"+45{20100000 + index}",
                "",
                "COMMERCIAL",
                "Bookkeeping",
                f"DK{10000000 + index}",
            ]
        )
    return out.getvalue().encode("utf-8-sig")


async def prepare(base_url: str, token: str) -> None:
    """Ownership on and the custom field the file fills."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        for document in (
            "mutation { updateFirmSettings(input: {clientOwnershipEnabled: true}) "
            "{ userErrors { code } } }",
            'mutation { defineCustomField(input: {entity: ACCOUNT, key: "vat", label: "VAT", '
            "type: TEXT}) { userErrors { code } } }",
        ):
            response = await client.post(
                "/graphql",
                json={"query": document},
                headers={"Authorization": f"Bearer {token}"},
            )
            response.raise_for_status()


async def upload(base_url: str, token: str, body: bytes) -> tuple[float, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=base_url, timeout=600) as client:
        started = time.perf_counter()
        response = await client.post(
            "/import/accounts.csv",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
            content=body,
        )
        elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"import answered {response.status_code}: {response.text[:500]}")
    return elapsed, response.json()["report"]


async def export(base_url: str, token: str) -> tuple[float, int, int]:
    """GET /export/accounts.csv read to its end as a client would: (seconds, lines, bytes)."""
    lines = size = 0
    async with httpx.AsyncClient(base_url=base_url, timeout=600) as client:
        started = time.perf_counter()
        async with client.stream(
            "GET",
            "/export/accounts.csv",
            params={"filter": '{"status": ["ACTIVE", "INACTIVE"]}'},
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            if response.status_code != 200:
                raise RuntimeError(f"export answered {response.status_code}")
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                lines += chunk.count(b"\n")
        return time.perf_counter() - started, lines, size


def peak_rss_mib(server: Server) -> float:
    for line in Path(f"/proc/{server.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_s(pid: int) -> float:
    """User and system CPU seconds of process `pid` so far: unlike the wall time, not
    stretched by other work on the machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def database_cpu_s(database_url: str) -> float:
    """CPU seconds of the PostgreSQL backends serving the server's connections to the
    benchmark's database so far (pooled, they live through both uploads; autovacuum's workers
    are left out); 0 on SQLite."""
    if not database_url.startswith("postgresql"):
        return 0.0
    name = make_url(database_url).database
    connection = await asyncpg.connect(
        _libpq(database_url).set(database="postgres").render_as_string(hide_password=False)
    )
    try:
        pids = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'",
            name,
        )
    finally:
        await connection.close()
    total = 0.0
    for row in pids:
        with contextlib.suppress(OSError):
            total += cpu_s(row["pid"])
    return total


def _libpq(url: str) -> URL:
    return make_url(url).set(drivername="postgresql")


def loadavg() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _summary(report: dict[str, Any]) -> str:
    counts = ("created", "updated", "unchanged", "failed")
    summary = ", ".join(f"{name} {report[name]}" for name in counts)
    if report["rows"]:
        summary += f"; the first failures: {report['rows'][:3]}"
    return summary


async def run(database_url: str | None, rows: int, *, second_upload: bool, exports: int) -> int:
    directory = temporary_directory()
    body = register_csv(rows)
    async with fresh_database(database_url, directory) as url:
        db = Database(url)
        try:
            firm_id, admin_id = await seed_firm(db, 0)
        finally:
            await db.dispose()
        token = issue_token(SECRET, user_id=admin_id, firm_id=firm_id, ttl_seconds=3600)
        with running_server(url, directory / "server.log", {}) as server:
            await prepare(server.base_url, token)
            print(f"load average before: {loadavg()}", flush=True)
            cpu, db_cpu = cpu_s(server.pid), await database_cpu_s(url)
            first_s, first = await upload(server.base_url, token, body)
            first_cpu, cpu = cpu_s(server.pid) - cpu, cpu_s(server.pid)
            first_db, db_cpu = await database_cpu_s(url) - db_cpu, await database_cpu_s(url)
            print(
                f"import of {rows} rows ({len(body) / 1e6:.1f} MB): {first_s:.1f} s; CPU: server "
                f"{first_cpu:.1f} s, PostgreSQL {first_db:.1f} s ({_summary(first)}); "
                f"load average {loadavg()}",
                flush=True,
            )
            second: dict[str, Any] | None = None
            if second_upload:
                second_s, second = await upload(server.base_url, token, body)
                print(
                    f"the same file again: {second_s:.1f} s; CPU: server "
                    f"{cpu_s(server.pid) - cpu:.1f} s, PostgreSQL "
                    f"{await database_cpu_s(url) - db_cpu:.1f} s ({_summary(second)}); "
                    f"load average {loadavg()}",
                    flush=True,
                )
            print(f"server peak memory (VmHWM): {peak_rss_mib(server):.0f} MiB", flush=True)
        exported = [await export_on_fresh_server(url, directory, token) for _ in range(exports)]
    if exported:
        print(
            f"export medians of {len(exported)}: {median(s for s, _, _ in exported):.2f} s, "
            f"{rows / median(s for s, _, _ in exported):,.0f} rows/s, "
            f"peak {median(p for _, _, p in exported):.0f} MiB",
            flush=True,
        )
    ok = (
        first["created"] == rows
        and (second is None or second["unchanged"] == rows)
        and all(lines - 1 == rows for _, lines, _ in exported)
    )
    verdict = "within" if ok and first_s < TARGET_S else "NOT within"
    print(f"{verdict} the target of {TARGET_S:.0f} s for the first import", flush=True)
    return 0 if ok else 1


async def export_on_fresh_server(url: str, directory: Path, token: str) -> tuple[float, int, float]:
    """One export from a server started for it: (seconds, lines, the server's peak MiB)."""
    with running_server(url, directory / "export-server.log", {}) as server:
        export_s, lines, size = await export(server.base_url, token)
        peak = peak_rss_mib(server)
    print(
        f"export of the {lines - 1} rows ({size / 1e6:.1f} MB): {export_s:.2f} s "
        f"({(lines - 1) / export_s:,.0f} rows/s); server peak memory (VmHWM, from its start): "
        f"{peak:.0f} MiB; load average {loadavg()}",
        flush=True,
    )
    return export_s, lines, peak


def main(argv: list[str] | None = None) -> int:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--rows", type=int, default=10_000)
    arguments.add_argument("--database-url", default=DEFAULT_POSTGRES)
    arguments.add_argument("--sqlite", action="store_true", help="a fresh SQLite file instead")
    arguments.add_argument(
        "--no-second-upload",
        dest="second_upload",
        action="store_false",
        help="skip uploading the same file again",
    )
    arguments.add_argument(
        "--exports", type=int, default=1, help="how many times to time the export"
    )
    options = arguments.parse_args(argv)
    return asyncio.run(
        run(
            None if options.sqlite else options.database_url,
            options.rows,
            second_upload=options.second_upload,
            exports=options.exports,
        )
    )


if __name__ == "__main__":
    sys.exit(main())
