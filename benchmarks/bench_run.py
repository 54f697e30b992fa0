"""`zmigrate run` at the quota ceiling (issue 5): every figure and ratio, in one run.

Against the sandbox with 150 ms median latency (log-normal jitter) and a fast clock:

(a) Books writes at the 100/min cap, the same span of Zoho time paced four ways: the naive
    loop (one call, then sleep 600 ms), aiolimiter's ``AsyncLimiter(100, 60)``, the client's
    ``WindowPacer``, and the executor inserting contacts for more than 10 Zoho minutes.
    Target: calls/min ÷ 100 ≥ 0.98 with no 429 (code 44); each ÷ the naive loop.
(b) CRM REST upserts with the edition's concurrency (client, then the executor). Target:
    calls/s ≥ 0.95 × (concurrency ÷ latency), credits exactly the minimum.
(c) CRM Bulk Write of 100,000 records through the executor: jobs, credits (sandbox's and
    engine's count) ÷ (500 × files) (target ≤ 1.01: status polls at each job's predicted
    finish), bulk requests against the plan's, the engine's CPU time per 100,000 records.
(d) The engine's peak memory (max RSS) on a 1,000,000-record Bulk Write step. Target < 150 MB.

(c) and (d) run at x10 by default: at x60 the sandbox's Python row processing (three jobs at
2,000 rows a Zoho second each) cannot keep Zoho's pace on 2 cores, so polls priced at that
pace come early and cost credits that Zoho would not charge.

(c) and (d) run the engine in a child process (this script, ``--bulk-child``) and the sandbox
in another (``zmigrate sandbox``), so the child's CPU time and peak RSS (VmHWM, which unlike
``ru_maxrss`` is not inherited from this parent) are the engine's alone. ``--trace`` adds
tracemalloc snapshots near the peak (it slows the engine and inflates its RSS).

    python benchmarks/bench_run.py [--only a,b,c,d] [--latency-ms 150]
        [--books-minutes 10] [--books-speed 60] [--run-books 1100]
        [--crm-seconds 20] [--crm-speed 1] [--run-crm 20000]
        [--bulk-records 100000] [--peak-records 1000000] [--bulk-speed 10] [--trace]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import math
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiolimiter import AsyncLimiter

from zmigrate import planner
from zmigrate.auth import TokenSource
from zmigrate.client import Limits, Zoho
from zmigrate.client.http import Attempt
from zmigrate.clock import START_ENV, Clock
from zmigrate.manifest import load_manifest
from zmigrate.progress import Progress
from zmigrate.quotas import (
    CREDITS_BULK_WRITE,
    CRM_BULK_WRITE_ROWS,
    MINUTE,
    PER_MINUTE_CAP,
    crm_edition,
    write_credits,
)
from zmigrate.rehearsal import sandbox_credentials
from zmigrate.run import execute
from zmigrate.sandbox import Sandbox, SandboxConfig, start_sandbox
from zmigrate.sandbox.faults import LATENCY_SIGMA
from zmigrate.sandbox.process import start_sandbox_process

NAIVE = "naive loop, 600 ms sleep"
STRATEGIES = (NAIVE, "AsyncLimiter(100, 60)", "WindowPacer (client)")
START = 1_767_571_500.0
"""Zoho time every clock starts at (2026-01-05 00:05 UTC): no UTC midnight, when Books' daily
caps reset, falls inside a run, whatever the hour the benchmark is run."""
SUMMARY: list[tuple[str, str, str, str]] = []
"""Final table rows: (part, figure, measured, target)."""


def note(part: str, figure: str, measured: str, target: str = "-") -> None:
    SUMMARY.append((part, figure, measured, target))


@dataclass
class Run:
    """What one strategy did: start times (Zoho s) of answered calls, latencies, refusals."""

    name: str
    starts: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)
    credits: int = 0
    credits_min: int = 0
    records: int = 0


def peak_window(times: list[float], period: float = MINUTE) -> int:
    """Most calls in any half-open window of ``period`` (sliding, so fixed windows too)."""
    times, best, lo = sorted(times), 0, 0
    for hi, t in enumerate(times):
        while times[lo] <= t - period:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


async def until(
    clock: Clock, end: float, workers: int, call: Callable[[], Awaitable[None]]
) -> None:
    async def worker() -> None:
        while clock.now() < end:
            await call()

    await asyncio.gather(*(worker() for _ in range(workers)))


async def books_raw(sb: Sandbox, http: aiohttp.ClientSession, run: Run, token: str) -> int:
    """One GET without the client (the naive and aiolimiter strategies); returns HTTP status."""
    started = sb.clock.now()
    async with http.get(
        sb.urls["api"] + "/books/v3/contacts",
        params={"organization_id": sb.credentials.organization_id},
        headers={"Authorization": f"Zoho-oauthtoken {token}"},
    ) as resp:
        body = await resp.json()
    if resp.status == 200:
        run.starts.append(started)
        run.latencies.append(sb.clock.now() - started)
    else:
        key = str(body.get("code"))
        run.refused[key] = run.refused.get(key, 0) + 1
    return resp.status


async def bench_books(strategy: str, minutes: float, speed: float, latency_ms: float) -> Run:
    clock = Clock(speed, start=START)
    config = SandboxConfig(clock_speed=speed, books_plan="premium", latency_ms=latency_ms, seed=1)
    run = Run(strategy)
    async with start_sandbox(config, clock) as sb, aiohttp.ClientSession() as http:
        tokens = TokenSource(http, sandbox_credentials(sb), clock)
        token = await tokens.token()
        start = clock.now()
        end = start + minutes * MINUTE
        if strategy == "naive loop, 600 ms sleep":

            async def naive() -> None:
                await books_raw(sb, http, run, token)
                await clock.sleep(0.6)

            await until(clock, end, 1, naive)
        elif strategy == "AsyncLimiter(100, 60)":
            limiter = AsyncLimiter(PER_MINUTE_CAP, clock.real(MINUTE))

            async def leaky() -> None:
                async with limiter:
                    await books_raw(sb, http, run, token)

            await until(clock, end, 10, leaky)
        else:
            zoho = Zoho(http, tokens, clock, Limits(books_plan="premium"))

            def seen(a: Attempt) -> None:
                if a.error is None:
                    run.starts.append(a.started)
                    run.latencies.append(a.ended - a.started)

            zoho.transport.observers.append(seen)

            async def paced() -> None:
                await zoho.books.list_page("contacts")

            await until(clock, end, 10, paced)
            run.refused = {k: v for k, v in zoho.usage()["books"]["errors"].items()}
        run.starts = [t for t in run.starts if t < end]
        for code, n in sb.state()["errors"].get("books", {}).items():
            run.refused[f"sandbox {code}"] = n
    return run


async def bench_crm(batch: int, seconds: float, speed: float, latency_ms: float) -> Run:
    clock = Clock(speed, start=START)
    edition = crm_edition("enterprise")
    config = SandboxConfig(clock_speed=speed, crm_edition="enterprise", latency_ms=latency_ms)
    run = Run(f"upsert {batch} records")
    async with (
        start_sandbox(config, clock) as sb,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http,
    ):
        tokens = TokenSource(http, sandbox_credentials(sb), clock)
        zoho = Zoho(http, tokens, clock, Limits(crm_edition=edition.name, crm_users=10))
        await tokens.token()

        def seen(a: Attempt) -> None:
            if a.error is None:
                run.starts.append(a.started)
                run.latencies.append(a.ended - a.started)

        zoho.transport.observers.append(seen)
        serial = iter(range(10**9))

        async def upsert() -> None:
            rows = []
            for _ in range(batch):
                i = next(serial)
                rows.append({"Last_Name": f"L{i}", "Company": "Bench", "Email": f"b{i}@x.io"})
            outcomes = await zoho.crm.upsert("Leads", rows, ["Email"])
            run.records += sum(o.ok for o in outcomes)
            run.credits_min += write_credits(batch)

        workers = edition.concurrency if batch <= 10 else edition.sub_concurrency
        start = clock.now()
        await until(clock, start + seconds, workers, upsert)
        run.starts = [t for t in run.starts if t < start + seconds]
        run.credits = sb.state()["products"]["crm"]["credits"]["total"]
        run.refused = dict(zoho.usage()["crm"]["errors"])
    return run


MANIFEST_TARGET = """[target]
data_center = "com"
books_plan = "premium"
crm_edition = "enterprise"
crm_users = 10
"""
BOOKS_STEP = """
[[steps]]
name = "customers"
source = { file = "rows.csv" }
target = "books:contacts"
operation = "insert"
key = ["contact_name"]
source_key = ["name"]
[steps.fields]
contact_name = "name"
"""
CRM_STEP = """
[[steps]]
name = "leads"
source = { file = "rows.csv" }
target = "crm:Leads"
operation = "upsert"
key = ["Email"]
source_key = ["email"]
method = "{method}"
[steps.fields]
Last_Name = "name"
Company = "name"
Email = "email"
"""


def write_run(folder: Path, rows: int, step: str) -> Path:
    """A source CSV of ``rows`` records and a one-step manifest; returns the manifest."""
    with (folder / "rows.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["name", "email"])
        writer.writerows([f"Record {i:07}", f"r{i}@bench.io"] for i in range(rows))
    manifest = folder / "run.toml"
    manifest.write_text(MANIFEST_TARGET + step)
    return manifest


def record_arrivals(sb: Sandbox, product: str) -> list[float]:
    """Zoho times at which the sandbox admitted a call of ``product`` (what its window counts)."""
    times: list[float] = []
    plug = sb.products[product]
    admit = plug.admit

    async def timed(request: Any) -> Any:
        admission = await admit(request)
        if admission.rejection is None:
            times.append(sb.clock.now())
        return admission

    plug.admit = timed  # type: ignore[method-assign]
    return times


@dataclass
class BooksRun:
    calls: int
    seconds: float
    minutes: int
    in_minutes: int
    peak: int
    refused: str
    stored: int
    outcome: str


async def bench_executor_books(rows: int, speed: float, latency_ms: float) -> BooksRun:
    """The executor inserting ``rows`` contacts; more than 1,000 rows run past 10 minutes."""
    clock = Clock(speed, start=START)
    config = SandboxConfig(clock_speed=speed, books_plan="premium", latency_ms=latency_ms)
    with tempfile.TemporaryDirectory() as tmp:
        manifest = write_run(Path(tmp), rows, BOOKS_STEP)
        async with start_sandbox(config, clock) as sb:
            arrivals = record_arrivals(sb, "books")
            report = await execute(
                manifest, Path(tmp) / "run", sandbox_credentials(sb), clock, progress=quiet()
            )
            state = sb.state()
    first = arrivals[0]
    minutes = int((arrivals[-1] - first) // MINUTE)
    refused = ", ".join(f"{c}: {n}" for c, n in state["errors"].get("books", {}).items())
    return BooksRun(
        calls=len(arrivals),
        seconds=arrivals[-1] - first,
        minutes=minutes,
        in_minutes=sum(1 for t in arrivals if t < first + minutes * MINUTE),
        peak=peak_window(arrivals),
        refused=refused or "none",
        stored=state["counts"]["books"]["contacts"],
        outcome=report.outcome,
    )


def quiet() -> Progress:
    return Progress(io.StringIO())


async def bench_executor_crm(rows: int, speed: float, latency_ms: float) -> str:
    """One executor run of REST upserts, 100 a call; a table row from the sandbox's counts."""
    clock = Clock(speed, start=START)
    edition = crm_edition("enterprise")
    config = SandboxConfig(clock_speed=speed, crm_edition=edition.name, latency_ms=latency_ms)
    with tempfile.TemporaryDirectory() as tmp:
        manifest = write_run(Path(tmp), rows, CRM_STEP.replace("{method}", "rest"))
        async with start_sandbox(config, clock) as sb:
            arrivals = record_arrivals(sb, "crm")
            start = clock.now()
            report = await execute(
                manifest, Path(tmp) / "run", sandbox_credentials(sb), clock, progress=quiet()
            )
            elapsed = clock.now() - start
            state = sb.state()
    requests = state["requests"].get("crm", 0)
    refused = ", ".join(f"{c}: {n}" for c, n in state["errors"].get("crm", {}).items())
    credits = state["products"]["crm"]["credits"]["total"]
    minimum = sum(write_credits(min(100, rows - i)) for i in range(0, rows, 100))
    median = latency_ms / 1000
    mean = median * math.exp(LATENCY_SIGMA**2 / 2)  # the sandbox's log-normal latency
    whole = requests / elapsed / (edition.sub_concurrency / median)
    sending = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])  # calls/s while sending
    by_mean = sending / (edition.sub_concurrency / mean)
    name = "executor CRM upsert, 100 a call"
    note("b", f"{name}: calls/s over the run ÷ (10 ÷ median)", f"{whole:.3f}", "≥ 0.95")
    note("b", f"{name}: calls/s while sending ÷ (10 ÷ mean)", f"{by_mean:.3f}", "≥ 0.95")
    note("b", f"{name}: credits ÷ minimum", f"{credits / minimum:.2f}", "1.00")
    return (
        f"| CRM upsert, 100 a call (x{speed:g}) | {rows:,} | {state['counts']['crm']['Leads']:,} "
        f"| {report.outcome} | {elapsed:.2f} s | {requests} | {requests / elapsed:.1f}/s "
        f"| {whole:.3f} | {sending:.1f}/s | **{by_mean:.3f}** | {credits:,} / {minimum:,} "
        f"| {refused or 'none'} |"
    )


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited on exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---- (c) and (d): Bulk Write, engine and sandbox in processes of their own ------------------


class PeakSnapshots:
    """tracemalloc snapshots taken as traced memory grows, so the last is near the peak."""

    def __init__(self) -> None:
        self.best = 0
        self.snapshot: tracemalloc.Snapshot | None = None

    async def sample(self) -> None:
        while True:
            current, _ = tracemalloc.get_traced_memory()
            if current > self.best * 1.05:
                self.best, self.snapshot = current, tracemalloc.take_snapshot()
            await asyncio.sleep(0.2)

    def top(self, n: int = 10) -> list[str]:
        if self.snapshot is None:
            return []
        _, peak = tracemalloc.get_traced_memory()
        lines = [f"traced: peak {peak / 2**20:.0f} MiB, snapshot at {self.best / 2**20:.0f} MiB"]
        return lines + [str(s) for s in self.snapshot.statistics("lineno")[:n]]


async def traced(run: Awaitable[Any], peaks: PeakSnapshots | None) -> Any:
    sampler = asyncio.create_task(peaks.sample()) if peaks else None
    try:
        return await run
    finally:
        if sampler is not None:
            sampler.cancel()


def bulk_child(rows: int, speed: float, latency_ms: float, trace: bool) -> dict[str, Any]:
    """One Bulk Write step of ``rows`` records, this process being the engine alone."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the sandbox is stopped on the way
    sandbox = start_sandbox_process(
        "--clock-speed",
        str(speed),
        "--latency-ms",
        str(latency_ms),
        "--crm-edition",
        "enterprise",
        env={**os.environ, START_ENV: str(START)},
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            manifest = write_run(Path(tmp), rows, CRM_STEP.replace("{method}", "bulk"))
            clock = Clock(speed, start=sandbox.admin("clock")["now"])  # the sandbox's time
            rss_before = peak_rss_mb()
            peaks = PeakSnapshots() if trace else None
            if trace:
                tracemalloc.start()
            cpu0, real0, zoho0 = time.process_time(), time.monotonic(), clock.now()
            creds = sandbox.zoho_credentials()
            planned = planner.plan(load_manifest(manifest)).totals["crm"]
            run = execute(manifest, Path(tmp) / "run", creds, clock, progress=quiet())
            report = asyncio.run(traced(run, peaks))
            cpu, real = time.process_time() - cpu0, time.monotonic() - real0
            zoho = clock.now() - zoho0
            state = sandbox.admin("state")
    finally:
        sandbox.stop()
    crm = state["products"]["crm"]
    spend = {s.product: s.credits for s in report.spend}
    return {
        "rows": rows,
        "outcome": report.outcome,
        "stored": state["counts"]["crm"]["Leads"],
        "jobs": crm["bulk_write_jobs"],
        "credits": crm["credits"]["total"],
        "by_operation": crm["credits"]["by_operation"],
        "engine_credits": spend.get("crm", 0),
        "planned_requests": planned.requests,
        "planned_credits": planned.credits,
        "requests": state["requests"].get("crm", 0),
        "errors": state["errors"].get("crm", {}),
        "cpu": cpu,
        "real": real,
        "zoho": zoho,
        "rss_before_mb": rss_before,
        "max_rss_mb": peak_rss_mb(),
        "trace": peaks.top() if peaks else [],
    }


def run_bulk_child(rows: int, speed: float, latency_ms: float, trace: bool) -> dict[str, Any]:
    """This script again, as the engine process of one bulk step; its JSON answer."""
    cmd = [sys.executable, __file__, "--bulk-child", str(rows), "--bulk-speed", str(speed)]
    cmd += ["--latency-ms", str(latency_ms)] + (["--trace"] if trace else [])
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = child.communicate(timeout=3600 if trace else 2400)
    except subprocess.TimeoutExpired:
        child.terminate()  # SIGTERM: the child stops its sandbox
        out, err = child.communicate(timeout=60)
    if child.returncode != 0:
        raise SystemExit(f"bulk child failed ({child.returncode}):\n{err[-3000:]}")
    return json.loads(out.strip().splitlines()[-1])


def bulk_rows(r: dict[str, Any]) -> None:
    files = math.ceil(r["rows"] / CRM_BULK_WRITE_ROWS)
    jobs = sum(r["jobs"].values())
    creation = r["by_operation"].get("bulk_write", 0)
    floor = CREDITS_BULK_WRITE * files
    other = ", ".join(f"{k} {v}" for k, v in sorted(r["by_operation"].items()) if k != "bulk_write")
    per_100k = r["cpu"] * 100_000 / r["rows"]
    ops = r["by_operation"]
    bulk_requests = jobs + sum(ops.get(k, 0) for k in ("upload", "get", "download"))
    print(
        f"| {r['rows']:,} | {r['stored']:,} | {r['outcome']} | {jobs} ({files} files) "
        f"| {creation:,} | **{creation / floor:.3f}** | {r['credits']:,} ({other or 'none else'}) "
        f"| {r['credits'] / floor:.3f} | {r['engine_credits']:,} | {r['requests']} "
        f"| {bulk_requests} / {r['planned_requests']} ({ops.get('get', 0)} status polls) "
        f"| {r['zoho']:.0f} s / {r['real']:.1f} s | **{per_100k:.2f} s** "
        f"| **{r['max_rss_mb']:.0f} MB** ({r['rss_before_mb']:.0f} MB before the run) |"
    )
    label = f"{r['rows']:,} bulk"
    note(label, "jobs / files", f"{jobs} / {files}", "= files")
    note(label, "job-creation credits ÷ (500 × files)", f"{creation / floor:.3f}", "1.000")
    note(label, "all credits (sandbox) ÷ (500 × files)", f"{r['credits'] / floor:.3f}", "≤ 1.01")
    note(label, "bulk requests / planned", f"{bulk_requests} / {r['planned_requests']}", "equal")
    note(label, "credits / planned", f"{r['credits']:,} / {r['planned_credits']:,}", "-")
    note(
        label, "engine's credit count = sandbox's", f"{r['engine_credits'] == r['credits']}", "True"
    )
    note(label, "engine CPU per 100,000 records", f"{per_100k:.2f} s", "-")
    note(label, "engine peak RSS", f"{r['max_rss_mb']:.0f} MB", "< 150 MB")
    for line in r["trace"]:
        print(f"    {line}")


BULK_HEADER = (
    "| records | stored | outcome | jobs | job-creation credits | ÷ (500 × files) "
    "| all credits (sandbox) | ÷ (500 × files) | engine's credit count | requests "
    "| bulk requests / planned | Zoho / real time | engine CPU per 100,000 | engine peak RSS |\n"
    "| ---: | ---: | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: "
    "| ---: |"
)


def books_row(run: Run, minutes: float, naive: float) -> str:
    rate = len(run.starts) / minutes
    ratio = rate / PER_MINUTE_CAP
    median = statistics.median(run.latencies) * 1000 if run.latencies else 0.0
    refused = ", ".join(f"{k}: {v}" for k, v in sorted(run.refused.items())) or "none"
    note("a", f"{run.name}: calls/min ÷ 100", f"{ratio:.3f}", "≥ 0.98, no 44/429")
    note("a", f"{run.name}: refused", refused, "none")
    if run.name != NAIVE:
        note("a", f"{run.name} ÷ naive loop", f"{rate / naive:.2f}", "-")
    return (
        f"| {run.name} | {len(run.starts)} | {rate:.1f} | **{ratio:.3f}** | {rate / naive:.2f} "
        f"| {peak_window(run.starts)} | {median:.0f} ms | {refused} |"
    )


def executor_books_row(b: BooksRun, naive: float) -> str:
    rate = b.in_minutes / b.minutes
    name = "executor (`zmigrate run`)"
    note("a", f"{name}: calls/min ÷ 100 over {b.minutes} full minutes", f"{rate / 100:.3f}",
         "≥ 0.98")  # fmt: skip
    note("a", f"{name}: peak calls in any 60 s", str(b.peak), "≤ 100")
    note("a", f"{name}: refused", b.refused, "none")
    note("a", f"{name} ÷ naive loop", f"{rate / naive:.2f}", "-")
    return (
        f"| {name}, its first {b.minutes} full minutes | {b.in_minutes} | {rate:.1f} "
        f"| **{rate / PER_MINUTE_CAP:.3f}** | {rate / naive:.2f} | {b.peak} | - | {b.refused} |"
    )


def crm_row(run: Run, seconds: float, workers: int, latency_ms: float) -> str:
    rate = len(run.starts) / seconds
    mean = statistics.fmean(run.latencies)
    ceiling_median = workers / (latency_ms / 1000)
    ceiling_mean = workers / mean
    refused = ", ".join(f"{k}: {v}" for k, v in sorted(run.refused.items())) or "none"
    note("b", f"client {run.name}: calls/s ÷ (C ÷ median)", f"{rate / ceiling_median:.3f}",
         "≥ 0.95")  # fmt: skip
    note("b", f"client {run.name}: calls/s ÷ (C ÷ mean)", f"{rate / ceiling_mean:.3f}", "≥ 0.95")
    note("b", f"client {run.name}: credits ÷ minimum", f"{run.credits / run.credits_min:.2f}",
         "1.00")  # fmt: skip
    return (
        f"| {run.name} | {workers} | {rate:.1f} | {rate / ceiling_median:.3f} "
        f"| **{rate / ceiling_mean:.3f}** | {mean * 1000:.0f} ms | {run.records / seconds:.0f} "
        f"| {run.credits} / {run.credits_min} | {refused} |"
    )


async def part_a(args: argparse.Namespace) -> None:
    print(
        f"(a) Books Premium, {args.books_minutes:g} Zoho minutes per pacing, clock "
        f"x{args.books_speed:g}, latency {args.latency_ms:g} ms median (log-normal)\n"
    )
    runs = [
        await bench_books(s, args.books_minutes, args.books_speed, args.latency_ms)
        for s in STRATEGIES
    ]
    naive = len(runs[0].starts) / args.books_minutes
    b = await bench_executor_books(args.run_books, args.books_speed, args.latency_ms)
    print("| pacing | calls | calls/min | ÷ 100 | ÷ naive | peak in any 60 s | median latency "
          "| refused |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for run in runs:
        print(books_row(run, args.books_minutes, naive))
    print(executor_books_row(b, naive))
    whole = b.calls / (b.seconds / MINUTE)
    held = b.calls / ((b.seconds + MINUTE) / MINUTE)
    print(f"\nexecutor run: {b.stored:,} of {args.run_books:,} contacts stored ({b.outcome}); "
          f"{b.calls} calls from its first to its last in {b.seconds:.0f} Zoho s "
          f"= {whole:.1f}/min (it starts with a full window); until its last window "
          f"expired ({b.seconds + MINUTE:.0f} s) {held:.1f}/min = {held / PER_MINUTE_CAP:.3f} "
          f"of the cap; peak {b.peak} in any 60 s")  # fmt: skip
    client = len(runs[2].starts) / args.books_minutes
    print(
        f"engine ÷ naive = {b.in_minutes / b.minutes / naive:.2f} (executor), "
        f"{client / naive:.2f} (client WindowPacer)\n"
    )


async def part_b(args: argparse.Namespace) -> None:
    edition = crm_edition("enterprise")
    print(f"(b) CRM Enterprise (concurrency {edition.concurrency}, sub-concurrency "
          f"{edition.sub_concurrency}), {args.crm_seconds:g} Zoho s each, clock "
          f"x{args.crm_speed:g}, latency {args.latency_ms:g} ms median\n")  # fmt: skip
    print("| upserts | in flight | calls/s | ÷ (C ÷ median) | ÷ (C ÷ mean) | mean latency "
          "| records/s | credits used / minimum | refused |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for batch in (10, 100):
        workers = edition.concurrency if batch <= 10 else edition.sub_concurrency
        run = await bench_crm(batch, args.crm_seconds, args.crm_speed, args.latency_ms)
        print(crm_row(run, args.crm_seconds, workers, args.latency_ms))
    print("\n| executor step | records | stored | outcome | Zoho time | requests "
          "| rate over the run | ÷ (10 ÷ median) | rate while sending | ÷ (10 ÷ mean) "
          "| credits / minimum | refused |")  # fmt: skip
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    print(await bench_executor_crm(args.run_crm, args.crm_speed, args.latency_ms))
    print()


def part_bulk(args: argparse.Namespace, parts: set[str]) -> None:
    print(
        "(c, d) CRM Bulk Write upserts through the executor, engine and sandbox in processes "
        f"of their own, clock x{args.bulk_speed:g}, latency {args.latency_ms:g} ms median\n"
    )
    print(BULK_HEADER)
    sizes = [n for p, n in (("c", args.bulk_records), ("d", args.peak_records)) if p in parts]
    for rows in sizes:
        bulk_rows(run_bulk_child(rows, args.bulk_speed, args.latency_ms, args.trace))
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="a,b,c,d", help="parts to run, e.g. a,c")
    parser.add_argument("--latency-ms", type=float, default=150.0)
    parser.add_argument("--books-minutes", type=float, default=10.0)
    parser.add_argument("--books-speed", type=float, default=60.0)
    parser.add_argument("--run-books", type=int, default=1_100)
    parser.add_argument("--crm-seconds", type=float, default=20.0)
    parser.add_argument("--crm-speed", type=float, default=1.0)
    parser.add_argument("--run-crm", type=int, default=20_000)
    parser.add_argument("--bulk-records", type=int, default=100_000)
    parser.add_argument("--peak-records", type=int, default=1_000_000)
    parser.add_argument("--bulk-speed", type=float, default=10.0)
    parser.add_argument("--trace", action="store_true", help="tracemalloc the bulk engine")
    parser.add_argument("--bulk-child", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bulk_child:
        result = bulk_child(args.bulk_child, args.bulk_speed, args.latency_ms, args.trace)
        print(json.dumps(result))
        return
    parts = set(args.only.split(","))
    t0 = time.monotonic()
    if "a" in parts:
        asyncio.run(part_a(args))
    if "b" in parts:
        asyncio.run(part_b(args))
    if parts & {"c", "d"}:
        part_bulk(args, parts)
    print(f"Every figure vs target ({time.monotonic() - t0:.0f} s real in all)\n")
    print("| part | figure | measured | target |")
    print("| --- | --- | ---: | --- |")
    for row in SUMMARY:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
