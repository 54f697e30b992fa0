"""Issue 5's throughput targets, measured on the client layer against the sandbox.

(a) Books at the 100/min cap, 150 ms median latency with jitter, three ways of pacing for the
    same span of Zoho time: the naive loop (one call, then sleep 600 ms), aiolimiter's
    ``AsyncLimiter(100, 60)`` (its period scaled to the clock), and the client's
    ``WindowPacer``. Target: requests/min ÷ 100 ≥ 0.98 with no 429.
(b) CRM REST upserts with the edition's concurrency: 10-record upserts (not heavy, up to the
    edition's 20 at once) and 100-record upserts (heavy: the sub-concurrency pool of 10).
    Target: requests/s ≥ 0.95 × (concurrency ÷ latency), credits exactly 1 per 10 records.

(c) The same targets end to end through the executor (``zmigrate.executor.execute``): a
    Books step inserting contacts and a CRM REST upsert step, each a run of its own against
    a fresh sandbox; figures from the sandbox's own counters.

(a) and (b) drive ``zmigrate.client`` directly with as many workers as the quotas allow.

    python benchmarks/bench_run.py [--books-minutes 10] [--books-speed 60]
                                   [--crm-seconds 20] [--crm-speed 1] [--latency-ms 150]
                                   [--run-books 1000] [--run-crm 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import statistics
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiolimiter import AsyncLimiter

from zmigrate.auth import Credentials, TokenSource
from zmigrate.client import Limits, Zoho
from zmigrate.client.http import Attempt
from zmigrate.clock import Clock
from zmigrate.executor import execute
from zmigrate.progress import Progress
from zmigrate.quotas import MINUTE, PER_MINUTE_CAP, crm_edition, write_credits
from zmigrate.sandbox import Sandbox, SandboxConfig, start_sandbox


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


def credentials(sb: Sandbox) -> Credentials:
    c = sb.credentials
    return Credentials(
        c.client_id,
        c.client_secret,
        c.refresh_token,
        organization_id=c.organization_id,
        accounts_url=sb.urls["accounts"],
        content_url=sb.urls["content"],
    )


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
    clock = Clock(speed)
    config = SandboxConfig(clock_speed=speed, books_plan="premium", latency_ms=latency_ms, seed=1)
    run = Run(strategy)
    async with start_sandbox(config, clock) as sb, aiohttp.ClientSession() as http:
        tokens = TokenSource(http, credentials(sb), clock)
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
    clock = Clock(speed)
    edition = crm_edition("enterprise")
    config = SandboxConfig(clock_speed=speed, crm_edition="enterprise", latency_ms=latency_ms)
    run = Run(f"upsert {batch} records")
    async with (
        start_sandbox(config, clock) as sb,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http,
    ):
        tokens = TokenSource(http, credentials(sb), clock)
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


BOOKS_MANIFEST = """[target]
data_center = "com"
books_plan = "premium"

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
CRM_MANIFEST = """[target]
data_center = "com"
crm_edition = "enterprise"
crm_users = 10

[[steps]]
name = "leads"
source = { file = "rows.csv" }
target = "crm:Leads"
operation = "upsert"
key = ["Email"]
source_key = ["email"]
method = "rest"
[steps.fields]
Last_Name = "name"
Company = "name"
Email = "email"
"""


async def bench_executor(product: str, rows: int, speed: float, latency_ms: float) -> str:
    """One run of the executor against a fresh sandbox; a table row from the sandbox state."""
    clock = Clock(speed)
    edition = crm_edition("enterprise")
    config = SandboxConfig(
        clock_speed=speed, books_plan="premium", crm_edition=edition.name, latency_ms=latency_ms
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with (folder / "rows.csv").open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["name", "email"])
            writer.writerows([f"Record {i:06}", f"r{i}@bench.io"] for i in range(rows))
        manifest = folder / "run.toml"
        manifest.write_text(BOOKS_MANIFEST if product == "books" else CRM_MANIFEST)
        async with start_sandbox(config, clock) as sb:
            start = clock.now()
            report = await execute(
                manifest, folder / "run", credentials(sb), clock, progress=Progress(io.StringIO())
            )
            elapsed = clock.now() - start
            state = sb.state()
    requests = state["requests"].get(product, 0)
    refused = ", ".join(f"{c}: {n}" for c, n in state["errors"].get(product, {}).items())
    stored = state["counts"][product]["contacts" if product == "books" else "Leads"]
    if product == "books":
        per_min = requests / (elapsed / MINUTE)
        return (
            f"| Books insert | {rows} | {stored} | {report.outcome} | {elapsed:.0f} s "
            f"| {requests} | {per_min:.1f}/min | **{per_min / PER_MINUTE_CAP:.3f}** | - "
            f"| {refused or 'none'} |"
        )
    credits = state["products"]["crm"]["credits"]["total"]
    minimum = sum(write_credits(min(100, rows - i)) for i in range(0, rows, 100))
    ceiling = edition.sub_concurrency / (latency_ms / 1000)
    return (
        f"| CRM upsert (100 a call) | {rows} | {stored} | {report.outcome} | {elapsed:.1f} s "
        f"| {requests} | {requests / elapsed:.1f}/s | **{requests / elapsed / ceiling:.3f}** "
        f"| {credits} / {minimum} | {refused or 'none'} |"
    )


def books_row(run: Run, minutes: float) -> str:
    ratio = len(run.starts) / (PER_MINUTE_CAP * minutes)
    median = statistics.median(run.latencies) * 1000 if run.latencies else 0.0
    refused = ", ".join(f"{k}: {v}" for k, v in sorted(run.refused.items())) or "none"
    return (
        f"| {run.name} | {len(run.starts)} | {len(run.starts) / minutes:.1f} | **{ratio:.3f}** "
        f"| {peak_window(run.starts)} | {median:.0f} ms | {refused} |"
    )


def crm_row(run: Run, seconds: float, workers: int, latency_ms: float) -> str:
    rate = len(run.starts) / seconds
    mean = statistics.fmean(run.latencies)
    ceiling_median = workers / (latency_ms / 1000)
    ceiling_mean = workers / mean
    refused = ", ".join(f"{k}: {v}" for k, v in sorted(run.refused.items())) or "none"
    return (
        f"| {run.name} | {workers} | {rate:.1f} | {rate / ceiling_median:.3f} "
        f"| **{rate / ceiling_mean:.3f}** | {mean * 1000:.0f} ms | {run.records / seconds:.0f} "
        f"| {run.credits} / {run.credits_min} | {refused} |"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--books-minutes", type=float, default=10.0)
    parser.add_argument("--books-speed", type=float, default=60.0)
    parser.add_argument("--crm-seconds", type=float, default=20.0)
    parser.add_argument("--crm-speed", type=float, default=1.0)
    parser.add_argument("--latency-ms", type=float, default=150.0)
    parser.add_argument("--run-books", type=int, default=1_000)
    parser.add_argument("--run-crm", type=int, default=20_000)
    args = parser.parse_args()

    print(f"Books, {args.books_minutes:g} Zoho minutes each, clock x{args.books_speed:g}, "
          f"latency {args.latency_ms:g} ms median (log-normal)\n")  # fmt: skip
    print("| pacing | calls | calls/min | ÷ 100 | peak in any 60 s | median latency | refused |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for strategy in ("naive loop, 600 ms sleep", "AsyncLimiter(100, 60)", "WindowPacer (client)"):
        run = await bench_books(strategy, args.books_minutes, args.books_speed, args.latency_ms)
        print(books_row(run, args.books_minutes))

    edition = crm_edition("enterprise")
    print(f"\nCRM Enterprise (concurrency {edition.concurrency}, sub-concurrency "
          f"{edition.sub_concurrency}), {args.crm_seconds:g} Zoho s each, clock "
          f"x{args.crm_speed:g}, latency {args.latency_ms:g} ms median\n")  # fmt: skip
    print(
        "| upserts | in flight | calls/s | ÷ (C ÷ median) | ÷ (C ÷ mean) | mean latency "
        "| records/s | credits used / minimum | refused |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for batch in (10, 100):
        workers = edition.concurrency if batch <= 10 else edition.sub_concurrency
        run = await bench_crm(batch, args.crm_seconds, args.crm_speed, args.latency_ms)
        print(crm_row(run, args.crm_seconds, workers, args.latency_ms))

    print(f"\nThrough the executor (Books clock x{args.books_speed:g}, CRM clock "
          f"x{args.crm_speed:g}); CRM ceiling = sub-concurrency 10 ÷ median latency\n")  # fmt: skip
    print("| step | records | stored | outcome | Zoho time | requests | rate | ÷ target "
          "| credits / minimum | refused |")  # fmt: skip
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |")
    print(await bench_executor("books", args.run_books, args.books_speed, args.latency_ms))
    print(await bench_executor("crm", args.run_crm, args.crm_speed, args.latency_ms))


if __name__ == "__main__":
    asyncio.run(main())
