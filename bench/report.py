"""bench/RESULTS.md from one run of the rig: the figures beside issue 8's targets."""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from bench.operations import WRITE_TARGETS

COLD_TARGET_CPU_MS = 10.0


if TYPE_CHECKING:
    from bench.run import Outcome, Run

RATIO_TARGET = 2.0
"""Issue 17: reads at twice PostGraphile's req/s (issue 8 had asked 1.5 times)."""
STATEMENT_TARGET = 3
ROUND_TRIP_TARGET = 2
"""Issue 17: a read answered after at most 2 round trips to PostgreSQL."""
TRANSACTION_CONTROL = frozenset({"BEGIN", "COMMIT", "ROLLBACK"})
RSS_TARGET_MB = 150.0
OURS, THEIRS = "clientgraph", "PostGraphile"


def _median(runs: list[Run]) -> Run:
    """The run with the median req/s (the lower middle one of an even count)."""
    ordered = sorted(runs, key=lambda run: run.result["rps"])
    return ordered[(len(ordered) - 1) // 2]


def _cases(outcome: Outcome) -> dict[tuple[str, str, int, int], list[Run]]:
    cases: dict[tuple[str, str, int, int], list[Run]] = defaultdict(list)
    for run in outcome.runs:
        cases[(run.server, run.operation, run.clients, run.workers)].append(run)
    return cases


def _processes(count: int) -> str:
    return "1 process" if count == 1 else f"{count} processes"


def milliseconds(value: float | None) -> str:
    """Milliseconds; "-" when no request finished inside the window (a run too short)."""
    return "-" if value is None else f"{value:.1f}"


def _pair(ours: Run | None, theirs: Run | None, key: str) -> str:
    left = milliseconds(ours.result[key]) if ours else "-"
    right = milliseconds(theirs.result[key]) if theirs else "-"
    return f"{left} / {right}"


def _errors(runs: list[Run]) -> int:
    return sum(run.result["errors"] for run in runs)


def _peak_rss(runs: list[Run]) -> float:
    return max((value for run in runs for value in run.usage.rss_mb), default=0.0)


def _reads(outcome: Outcome, cases: dict[tuple[str, str, int, int], list[Run]]) -> list[str]:
    lines = [
        "| operation | clients | processes | clientgraph req/s | PostGraphile req/s | ratio "
        "| p50 ms (cg / PG) | p95 ms | p99 ms | errors (cg / PG) | peak RSS/worker MB (cg / PG) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    options = outcome.options
    for operation in ("dashboard", "account page"):
        for workers in options.workers:
            for clients in options.clients:
                mine = cases.get((OURS, operation, clients, workers), [])
                theirs = cases.get((THEIRS, operation, clients, workers), [])
                if not mine:
                    continue
                ours_run = _median(mine)
                their_run = _median(theirs) if theirs else None
                rps = ours_run.result["rps"]
                their_rps = their_run.result["rps"] if their_run else None
                ratio = f"{rps / their_rps:.2f}x" if their_rps else "-"
                lines.append(
                    f"| {operation} | {clients} | {workers} | {rps:.1f} "
                    f"| {f'{their_rps:.1f}' if their_rps else '-'} | {ratio} "
                    f"| {_pair(ours_run, their_run, 'p50_ms')} "
                    f"| {_pair(ours_run, their_run, 'p95_ms')} "
                    f"| {_pair(ours_run, their_run, 'p99_ms')} "
                    f"| {_errors(mine)} / {_errors(theirs) if theirs else '-'} "
                    f"| {_peak_rss(mine):.0f} / {f'{_peak_rss(theirs):.0f}' if theirs else '-'} |"
                )
    return lines


def _targets(outcome: Outcome, cases: dict[tuple[str, str, int, int], list[Run]]) -> list[str]:
    options = outcome.options
    lines = ["| target | measured | met |", "|---|---|---|"]

    def verdict(ok: bool | None) -> str:
        return "n/a" if ok is None else ("yes" if ok else "**no**")

    most, many, one = max(options.workers), max(options.clients), min(options.clients)
    for operation in ("dashboard", "account page"):
        mine = cases.get((OURS, operation, many, most))
        theirs = cases.get((THEIRS, operation, many, most))
        if mine and theirs:
            ratio = _median(mine).result["rps"] / _median(theirs).result["rps"]
            measured, ok = f"{ratio:.2f}x", ratio >= RATIO_TARGET
        else:
            measured, ok = "not measured", None
        lines.append(
            f"| {operation}: req/s at {many} clients, {_processes(most)}, "
            f">= {RATIO_TARGET}x PostGraphile's | {measured} | {verdict(ok)} |"
        )
    for operation in ("dashboard", "account page"):
        for workers in options.workers:
            mine = cases.get((OURS, operation, one, workers))
            theirs = cases.get((THEIRS, operation, one, workers))
            ours_p50 = _median(mine).result["p50_ms"] if mine else None
            their_p50 = _median(theirs).result["p50_ms"] if theirs else None
            if ours_p50 is not None and their_p50 is not None:
                measured = f"{ours_p50:.1f} ms vs {their_p50:.1f} ms"
                ok: bool | None = ours_p50 <= their_p50
            else:
                measured, ok = "not measured", None
            lines.append(
                f"| {operation}: p50 at {one} client, {_processes(workers)}, "
                f"<= PostGraphile's | {measured} | {verdict(ok)} |"
            )
    for operation in ("dashboard", "account page"):
        figures = outcome.statements.get(OURS, {}).get(operation)
        other = None if figures is None else _besides_transactions(figures["sample"])
        lines.append(
            f"| {operation}: at most {STATEMENT_TARGET} statements besides BEGIN/COMMIT "
            f"(one request) | {'not counted' if other is None else other} "
            f"| {verdict(None if other is None else other <= STATEMENT_TARGET)} |"
        )
    for operation in ("dashboard", "account page"):
        figures = outcome.statements.get(OURS, {}).get(operation)
        trips = None if figures is None else figures["round_trips_before_answer"]
        lines.append(
            f"| {operation}: at most {ROUND_TRIP_TARGET} round trips before the answer "
            f"| {'not counted' if trips is None else f'{trips:g}'} "
            f"| {verdict(None if trips is None else trips <= ROUND_TRIP_TARGET)} |"
        )
    for operation, target in WRITE_TARGETS.items():
        mine = cases.get((OURS, operation, many, most))
        rps = _median(mine).result["rps"] if mine else None
        lines.append(
            f"| {operation}: req/s at {many} clients, {_processes(most)}, >= {target:.0f} "
            f"| {'not measured' if rps is None else f'{rps:.0f}'} "
            f"| {verdict(None if rps is None else rps >= target)} |"
        )
    ours_runs = [run for run in outcome.runs if run.server == OURS]
    if ours_runs:
        peak = _peak_rss(ours_runs)
        lines.append(
            f"| RSS per clientgraph worker < {RSS_TARGET_MB:.0f} MB (peak of all runs) "
            f"| {peak:.0f} MB | {verdict(peak < RSS_TARGET_MB)} |"
        )
    return lines


def _besides_transactions(statements: list[str]) -> int:
    return sum(statement.upper() not in TRANSACTION_CONTROL for statement in statements)


def _statements(outcome: Outcome) -> list[str]:
    lines = [
        "| server | operation | statements/request | besides BEGIN/COMMIT/ROLLBACK "
        "| round trips/request | of them before the answer |",
        "|---|---|---|---|---|---|",
    ]
    for server, cases in outcome.statements.items():
        for name, figures in cases.items():
            lines.append(
                f"| {server} | {name} | {figures['statements']:g} "
                f"| {_besides_transactions(figures['sample'])} | {figures['round_trips']:g} "
                f"| {figures['round_trips_before_answer']:g} |"
            )
    samples: list[str] = []
    for server, cases in outcome.statements.items():
        for name, figures in cases.items():
            samples.append(f"- {server}, {name}:")
            samples += [f"  `{_short(statement)}`" for statement in figures["sample"]]
    if samples:
        lines += ["", "The statements of one request, in order:", "", *samples]
    return lines


def _short(statement: str, limit: int = 110) -> str:
    flat = " ".join(statement.split()).replace("`", "'")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _mutations(outcome: Outcome, cases: dict[tuple[str, str, int, int], list[Run]]) -> list[str]:
    rows = [key for key in cases if key[0] == OURS and key[1] in WRITE_TARGETS]
    if not rows:
        return []
    lines = [
        "| mutation | clients | processes | req/s | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key in rows:
        run = _median(cases[key])
        result = run.result
        p50, p95, p99 = (milliseconds(result[name]) for name in ("p50_ms", "p95_ms", "p99_ms"))
        lines.append(
            f"| {key[1]} | {key[2]} | {key[3]} | {result['rps']:.1f} | {p50} | {p95} | {p99} "
            f"| {_errors(cases[key])} |"
        )
    return lines


def cpu_per_request(run: Run) -> str:
    """The server's CPU time (all workers) over every request it answered, warm-up included:
    unlike req/s, hardly moved by what else the machine runs."""
    answered = run.result.get("answered", 0)
    return f"{sum(run.usage.cpu_s) * 1000 / answered:.1f}" if answered else "-"


def _all_runs(outcome: Outcome) -> list[str]:
    lines = [
        "| # | server | operation | clients | processes | req/s | p50 ms | p99 ms | errors "
        "| peak RSS per worker MB | CPU s per worker | CPU ms per request "
        "| load avg before / after |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for number, run in enumerate(outcome.runs, start=1):
        result = run.result
        p50, p99 = milliseconds(result["p50_ms"]), milliseconds(result["p99_ms"])
        lines.append(
            f"| {number} | {run.server} | {run.operation} | {run.clients} | {run.workers} "
            f"| {result['rps']:.1f} | {p50} | {p99} "
            f"| {result['errors']} | {' / '.join(f'{v:.0f}' for v in run.usage.rss_mb)} "
            f"| {' / '.join(f'{v:.1f}' for v in run.usage.cpu_s)} "
            f"| {cpu_per_request(run)} "
            f"| {run.load_before:.2f} / {run.load_after:.2f} |"
        )
    return lines


def markdown(outcome: Outcome) -> str:
    options = outcome.options
    cases = _cases(outcome)
    seeded = outcome.seeded
    loads = [run.load_before for run in outcome.runs]
    load_text = (
        f"{min(loads):.2f} to {max(loads):.2f} (median {statistics.median(loads):.2f})"
        if loads
        else "-"
    )
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(outcome.started))
    lines: list[str] = [
        "# Benchmark: clientgraph beside PostGraphile",
        "",
        f"Written by `make bench` (bench/run.py) on {when}. Figures of one run on one machine;",
        "compare runs only of the same machine at a similar load average.",
        "",
    ]
    if outcome.problems:
        lines += ["**The run had errors:**", "", *[f"- {p}" for p in outcome.problems], ""]
    if outcome.peer_problem:
        lines += [f"**PostGraphile was not measured:** {outcome.peer_problem}.", ""]
    machine: dict[str, Any] = outcome.machine
    lines += [
        "## Setup",
        "",
        *[f"- {key}: {value}" for key, value in machine.items()],
        f"- load average (1 min) at the start of the runs: {load_text}",
        f"- runs: {options.seconds:g} s measured after {options.warmup:g} s warm-up, "
        f"{options.repeats} per case, the servers taking turns (A B A B); the median run by "
        "req/s is shown. Clients: keep-alive HTTP (aiohttp) in a separate load process.",
    ]
    if seeded is not None:
        counts = ", ".join(f"{table} {count:,}" for table, count in seeded.counts.items())
        lines.append(
            f"- data (scale {options.scale:g}, seeded in {outcome.seed_s:.1f} s): {counts}"
        )
    lines += [
        "- clientgraph: `clientgraph serve --workers N` as it ships, connecting as the app role "
        "under row-level security; PostGraphile: its CLI (1 process) or node:cluster "
        "(2 processes), connecting as the PostgreSQL superuser (no row-level security), "
        "pool of 10 connections per process on both sides (clientgraph: "
        "CLIENTGRAPH_DB_POOL_SIZE=10, no overflow; further requests wait for one, as "
        "PostGraphile's do).",
        "- RSS: the peak resident memory of each worker process during a run, sampled every "
        "0.25 s (uvicorn's supervisor and node:cluster's primary, which serve no requests, "
        "are left out); CPU s per worker shows how evenly the workers shared the clients; CPU ms "
        "per request (the workers' CPU time over every request answered, warm-up included) "
        "is the figure least moved by other load on the machine.",
        "",
        "## Targets of issues 8 and 17",
        "",
        *_targets(outcome, cases),
        "",
        "## Reads",
        "",
        *_reads(outcome, cases),
        "",
    ]
    if outcome.cold:
        lines += [
            "## First requests (cold start)",
            "",
            "A fresh `clientgraph serve` (one process, ready by /readyz, no GraphQL request "
            "answered yet), each read sent twice; the worker's CPU time around each request; "
            "medians of 3 fresh servers. Then fresh servers with the reads' documents "
            "registered (`clientgraph register-documents`), which plan them at start-up "
            "(ready by /readyz once planned): their first request. Target (issue 17): the "
            f"first request of a new shape costs at most {COLD_TARGET_CPU_MS:.0f} ms of server "
            "CPU (met: the unregistered first request).",
            "",
            "| operation | first: CPU ms | first: ms | second: CPU ms | second: ms "
            "| registered, first: CPU ms | registered, first: ms | met |",
            "|---|---|---|---|---|---|---|---|",
            *(
                f"| {name} | {cold['first_cpu_ms']:.1f} | {cold['first_ms']:.1f} "
                f"| {cold['second_cpu_ms']:.1f} | {cold['second_ms']:.1f} "
                f"| {_optional(cold.get('registered_first_cpu_ms'))} "
                f"| {_optional(cold.get('registered_first_ms'))} "
                f"| {'yes' if cold['first_cpu_ms'] <= COLD_TARGET_CPU_MS else '**no**'} |"
                for name, cold in outcome.cold.items()
            ),
            "",
        ]
    mutation_lines = _mutations(outcome, cases)
    if mutation_lines:
        lines += ["## Mutations (clientgraph)", "", *mutation_lines, ""]
    lines += [
        "## Statements per request",
        "",
        "Counted through a PostgreSQL protocol proxy (bench/statements.py) over "
        "5 sequential requests after 3 unmeasured ones, one process per server: every executed "
        "statement (extended-protocol Execute, each statement of a simple Query); round trips "
        "are the client's waits on the server (Sync, simple Query). Those before the answer, over "
        "5 more requests each sent 0.2 s after the one before, were sent before the HTTP "
        "answer reached the load client (a server's work after its answer, a read's ROLLBACK, "
        "is not; one that reaches the proxy in the same instant as the answer counts as "
        "before it).",
        "",
        *_statements(outcome),
        "",
        "## Every run",
        "",
        *_all_runs(outcome),
        "",
    ]
    return "\n".join(lines)


def _optional(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
