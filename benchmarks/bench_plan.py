"""Benchmark: `zmigrate plan` on a 5-step manifest over one 1,000,000-row CSV.

    python benchmarks/bench_plan.py [--rows 1000000] [--dir DIR] [--runs 3]

Generates the source once (not timed), then runs `zmigrate plan --json` in a fresh process
``--runs`` times and reports the best wall time, rows/s and the child's peak RSS. The five
steps read the same file (one streaming pass for all of them) and check four distinct keys
for uniqueness. Target: under 10 s and under 150 MB peak RSS on a 2-core machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def run_once(manifest: Path) -> tuple[float, float, dict]:
    """One `zmigrate plan --json` in a fresh process: wall seconds, peak RSS MB, the plan."""
    exe = Path(sys.executable).with_name("zmigrate")
    start = time.perf_counter()
    proc = subprocess.run(
        [str(exe), "plan", "--json", str(manifest)],
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"zmigrate plan failed ({proc.returncode}): {proc.stderr}")
    # ru_maxrss of children is the largest child so far, in KiB on Linux.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return seconds, peak, json.loads(proc.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=None, help="keep the data here (reused)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.dir or Path(tmp)
        t0 = time.perf_counter()
        manifest = generate(folder, args.rows)
        size = (folder / "people.csv").stat().st_size / 1e6
        print(f"source: {args.rows:,} rows, {size:.0f} MB ({time.perf_counter() - t0:.1f} s)")
        best, peak = float("inf"), 0.0
        for _ in range(max(1, args.runs)):
            seconds, peak, plan = run_once(manifest)
            best = min(best, seconds)
        rows = sum(s["rows"] for s in plan["steps"])
        print(
            f"zmigrate plan: {best:.2f} s best of {args.runs} (process start included), "
            f"{args.rows / best:,.0f} source rows/s ({rows:,} step rows), "
            f"peak RSS {peak:.0f} MB"
        )
        print(f"cpu: {os.cpu_count()} cores; python {sys.version.split()[0]}")
        ok = best < 10 and peak < 150
        print("target (< 10 s, < 150 MB):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
