"""Benchmark: what `zmigrate verify` spends per 10,000 records, against the least the quotas
allow, and the same measured on a rehearsal of the sample migration.

    python benchmarks/bench_verify.py [--skip-rehearsal]

Part 1 (no network) prices 10,000 records per product with verify's own bill (the way it
chooses, and the other way) beside the floor: CRM, a Bulk Read job (50 credits a job, the
fewest credits any read takes); Books and Inventory, list pages of 200 (the fewest
requests). A CRM module holding many more records than the run's makes its Bulk Read
dearer: verify counts the module first and takes COQL by ids when that is cheaper. A step
with line items is read by id (list entries leave them out). Part 2 rehearses
plans/sample.toml, verifies it, and prints the requests and credits it spent per 10,000
records, to show the bill is what a verify pays.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import sys
import tempfile
from pathlib import Path

from zmigrate import quotas
from zmigrate.manifest import load_manifest
from zmigrate.rehearsal import execute_in_sandbox
from zmigrate.verify import bill, verify
from zmigrate.verify.bill import bulk_read_floor, price_step

N = 10_000
PLANS = Path(__file__).resolve().parent.parent / "plans"


def priced() -> None:
    target = load_manifest(PLANS / "sample.toml").target
    print(f"per {N:,} records                 verify (requests / credits)     floor")
    floor = bulk_read_floor(N, target)
    rows = [
        ("crm, module of the run's", price_step("deals", "crm", "Deals", N, 4, target)),
        ("crm, module of 1,000,000", price_step("d", "crm", "Deals", N, 4, target, False, 10**6)),
    ]
    for label, s in rows:
        print(
            f"{label:<28} {s.method:<10} {s.requests:>6} / {s.credits:<6}   "
            f"{floor[0]:>4} / {floor[1]} (Bulk Read)   [{s.reason}]"
        )
    pages = math.ceil(N / quotas.BOOKS_PAGE_MAX)
    for product in ("books", "inventory"):
        for items in (False, True):
            s = price_step("x", product, "invoices", N, 4, target, items)
            label = f"{product}, {'line items' if items else 'no line items'}"
            print(
                f"{label:<28} {s.method:<10} {s.requests:>6} / {s.credits:<6}   "
                f"{pages:>4} / 0 (list pages)"
            )


async def measured() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        shutil.copy(PLANS / "sample.toml", folder / "sample.toml")
        shutil.copytree(PLANS / "data", folder / "data")
        run_dir = folder / "run"
        await execute_in_sandbox(folder / "sample.toml", run_dir, clock_speed=600.0)
        the_bill = bill(run_dir)
        result = await verify(run_dir, clock_speed=600.0)
        for product, spent in result.spent.items():
            records = sum(s.checked for s in result.steps if s.product == product)
            billed = the_bill.totals()[product]
            scale = N / records
            print(
                f"{product:<10} {records:>4} records: spent {spent['requests']} requests, "
                f"{spent['credits']} credits (billed {int(billed['requests'])}, "
                f"{int(billed['credits'])}); per {N:,}: {spent['requests'] * scale:,.0f} "
                f"requests, {spent['credits'] * scale:,.0f} credits"
            )
        print(f"verify exit code {result.exit_code}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-rehearsal", action="store_true")
    args = parser.parse_args()
    priced()
    if not args.skip_rehearsal:
        os.environ.setdefault("ZMIGRATE_CLOCK_START", "1767571500")
        print()
        asyncio.run(measured())
    sys.stdout.flush()


if __name__ == "__main__":
    main()
