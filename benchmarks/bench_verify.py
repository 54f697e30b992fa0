"""Benchmark: what `zmigrate verify` spends per 10,000 records, against the least the quotas
allow, and the same measured on a rehearsal of the sample migration.

    python benchmarks/bench_verify.py [--skip-rehearsal]

Part 1 (no network) prices 10,000 records per product with verify's own bill and sets it
beside the floor: CRM, a Bulk Read job of the module (50 credits a job, the fewest credits
any read takes, but it reads every record of the module, not only the run's); Books and
Inventory, list pages of 200 (the fewest requests, but lists leave out fields a run writes,
such as line items). Part 2 rehearses plans/sample.toml, verifies it, and prints the
requests and credits it spent per 10,000 records, to show the bill is what a verify pays.
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
    print(f"per {N:,} records          verify (requests/credits)   floor (requests/credits)")
    crm = price_step("deals", "crm", "Deals", N, 4, target)
    floor = bulk_read_floor(N, target)
    print(
        f"crm (COQL by ids)          {crm.requests:>6} / {crm.credits:<6}             "
        f"{floor[0]:>6} / {floor[1]:<6} (Bulk Read of the module)"
    )
    for product in ("books", "inventory"):
        s = price_step("x", product, "contacts", N, 4, target)
        pages = math.ceil(N / quotas.BOOKS_PAGE_MAX)
        print(
            f"{product:<10} (GET by id)     {s.requests:>6} / {s.credits:<6}             "
            f"{pages:>6} / 0      (list pages of 200)"
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
