"""Benchmark: `zmigrate plan` on a 5-step manifest over one 1,000,000-row source.

    python benchmarks/bench_plan.py [--rows 1000000] [--dir DIR] [--runs 3]
                                    [--sources csv,xlsx,postgresql]

Generates the source once (not timed), then runs `zmigrate plan --json` in a fresh process
and reports the best wall time, rows/s and that process's peak RSS. The five steps read the
same source (one streaming pass for all of them) and check four distinct keys for uniqueness.
The source is a CSV (best of ``--runs``), the same rows as an Excel sheet (written with
openpyxl's write-only mode, kept in DIR or the temp dir for the next time; planned once) and
as a PostgreSQL table (a throwaway server, loaded with COPY; planned once), each followed by
the CSV planned again and the ratio of the two (the machine may be shared); the sheet's reader
is also timed by itself beside the CSV's (rows as the planner gets them, in this process).
Target for the CSV: under 10 s and under 150 MB peak RSS on a 2-core machine.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import plan_sources

HEADER = [
    "ref",
    "company",
    "first",
    "last",
    "email",
    "deal",
    "stage",
    "amount",
    "closing",
    "sku",
    "price",
]
STAGES = ("open", "won", "lost")

MANIFEST = """\
[target]
crm_edition = "enterprise"
crm_users = 50
books_plan = "premium"
inventory_plan = "premium"

[[steps]]
name = "accounts"
source = { file = "people.csv" }
target = "crm:Accounts"
key = ["Account_Name"]
source_key = ["ref"]
[steps.fields]
Account_Name = "company"

[[steps]]
name = "contacts"
source = { file = "people.csv" }
target = "crm:Contacts"
key = ["Email"]
[steps.fields]
First_Name = "first"
Last_Name = "last"
Email = "email"
[steps.lookups]
Account_Name = { step = "accounts", column = "ref" }

[[steps]]
name = "deals"
source = { file = "people.csv" }
target = "crm:Deals"
key = ["Deal_Name"]
[steps.fields]
Deal_Name = "deal"
Amount = { column = "amount", transform = "decimal" }
Closing_Date = { column = "closing", transform = "date", format = "%d/%m/%Y" }
[steps.fields.Stage]
column = "stage"
map = { open = "Qualification", won = "Closed Won", lost = "Closed Lost" }
[steps.lookups]
Account_Name = { step = "accounts", column = "ref" }

[[steps]]
name = "books_customers"
source = { file = "people.csv" }
target = "books:contacts"
key = ["contact_name"]
source_key = ["ref"]
[steps.fields]
contact_name = "company"

[[steps]]
name = "items"
source = { file = "people.csv" }
target = "inventory:items"
key = ["sku"]
[steps.fields]
sku = "sku"
name = "sku"
rate = { column = "price", transform = "decimal" }
"""


def generate(folder: Path, rows: int) -> Path:
    """Write the manifest and a ``rows``-row CSV with unique ref, email, deal and sku."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plan.toml").write_text(MANIFEST)
    source = folder / "people.csv"
    if source.exists() and sum(1 for _ in source.open("rb")) == rows + 1:
        return folder / "plan.toml"
    with source.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for i in range(rows):
            writer.writerow(
                [
                    f"R{i:07d}",
                    f"Company {i:07d}",
                    "Ana",
                    f"Last{i % 997}",
                    f"p{i}@example.com",
                    f"Deal {i:07d}",
                    STAGES[i % 3],
                    f"{(i * 37) % 100_000}.{i % 100:02d}",
                    f"{1 + i % 28:02d}/06/2025",
                    f"SKU-{i:07d}",
                    f"{1 + i % 500}.99",
                ]
            )
    return folder / "plan.toml"


def _rss_kib(pid: int) -> int:
    """VmRSS of a process and its children (a big sheet's matching worker), in KiB."""
    total = 0
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        total += sum(_rss_kib(int(child)) for child in children)
    return total


def _sample_rss(pid: int, done: threading.Event, peak: list[int]) -> None:
    while not done.wait(0.02):
        peak[0] = max(peak[0], _rss_kib(pid))


def run_once(manifest: Path, env: dict[str, str] | None = None) -> tuple[float, float, dict]:
    """One `zmigrate plan --json` in a fresh process: wall seconds, its peak RSS MB (the
    larger of the process's own peak and the sum with its children sampled every 20 ms), the
    plan."""
    exe = Path(sys.executable).with_name("zmigrate")
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [str(exe), "plan", "--json", str(manifest)], stdout=out, stderr=err, env=env
        )
        done, together = threading.Event(), [0]
        sampler = threading.Thread(target=_sample_rss, args=(proc.pid, done, together))
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"zmigrate plan failed ({proc.returncode}): {err.read().decode()}")
        # ru_maxrss: the larger of the child's and its waited-for children's, in KiB on Linux
        return seconds, max(usage.ru_maxrss, together[0]) / 1024, json.loads(out.read())


def report(label: str, rows: int, runs: list[tuple[float, float, dict]]) -> float:
    best = min(r[0] for r in runs)
    peak = max(r[1] for r in runs)
    step_rows = sum(s["rows"] for s in runs[-1][2]["steps"])
    print(
        f"{label}: zmigrate plan {best:.2f} s best of {len(runs)} (process start included), "
        f"{rows / best:,.0f} source rows/s ({step_rows:,} step rows), peak RSS {peak:.0f} MB, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    return best


def beside(label: str, seconds: float, manifest: Path, rows: int) -> None:
    """The CSV planned again right after another source: on a shared machine only the ratio
    of the two, measured at the same moment, says how the source compares."""
    csv_seconds = report("  csv, right after", rows, [run_once(manifest)])
    print(f"  {label} / csv = {seconds / csv_seconds:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=None, help="keep the data here (reused)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sources", default="csv,xlsx,postgresql")
    args = parser.parse_args()
    sources = set(args.sources.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.dir or Path(tmp)
        t0 = time.perf_counter()
        manifest = generate(folder, args.rows)
        size = (folder / "people.csv").stat().st_size / 1e6
        print(f"source: {args.rows:,} rows, {size:.0f} MB ({time.perf_counter() - t0:.1f} s)")
        print(f"cpu: {os.cpu_count()} cores; python {sys.version.split()[0]}")
        if "csv" in sources:
            runs = [run_once(manifest) for _ in range(max(1, args.runs))]
            report("csv", args.rows, runs)
            ok = min(r[0] for r in runs) < 10 and max(r[1] for r in runs) < 150
            print("csv target (< 10 s, < 150 MB):", "met" if ok else "NOT met")
        if "xlsx" in sources:
            cache = args.dir or Path(tempfile.gettempdir()) / "zmigrate-bench-plan"
            book = plan_sources.xlsx_manifest(MANIFEST, folder, cache, args.rows)
            beside("xlsx", report("xlsx", args.rows, [run_once(book)]), manifest, args.rows)
            ratio = plan_sources.reader_alone("xlsx", book) / plan_sources.reader_alone(
                "csv", manifest
            )
            print(f"  xlsx reader / csv reader = {ratio:.2f}")
        if "postgresql" in sources:
            with plan_sources.postgres_table(folder / "people.csv") as url:
                env = {**os.environ, "LEGACY_DB_URL": url}
                table = plan_sources.sql_manifest(MANIFEST, folder)
                seconds = report("postgresql", args.rows, [run_once(table, env)])
                beside("postgresql", seconds, manifest, args.rows)


if __name__ == "__main__":
    main()
