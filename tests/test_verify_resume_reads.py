"""A verify stopped during a CRM Bulk Read, then during Books list pages, goes on without
paying again: the resume polls the Bulk Read job it had made (no second job, no second
module count), and reads the list from the page after the last one it checkpointed.

The verify is stopped by cancelling it on the event loop's next turn after its checkpoint
shows the moment (its next request is then in flight), which stands for a kill: what a
killed verify leaves is what it had committed."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

from fixed_time import T0
from test_verify_cheapest import MANIFEST
from zoho_helpers import credentials_for

from zmigrate.client import open_zoho
from zmigrate.clock import Clock
from zmigrate.quotas import CREDITS_BULK_READ
from zmigrate.rehearsal import SANDBOX_STATE, execute_in_sandbox
from zmigrate.sandbox import SandboxConfig, start_sandbox
from zmigrate.verify import readers, verify
from zmigrate.verify.bill import ReadBy
from zmigrate.verify.ledger import Ledger

SPEED = 600.0
DEALS = 3_000
CUSTOMERS = 250
"""Two list pages of 200."""


def read_state(run_dir: Path, step: str) -> tuple[str | None, int, int] | None:
    """(Bulk Read job id, pages read, done) of ``step`` in verify's checkpoint, if there."""
    path = run_dir / "verify" / "verify.db"
    if not path.exists():
        return None
    conn = sqlite3.connect(path)
    try:
        row = conn.execute("SELECT job_id, spent, done FROM reads WHERE step = ?", (step,))
        found = row.fetchone()
    except sqlite3.OperationalError:  # no such table (yet)
        return None
    finally:
        conn.close()
    return None if found is None else (found[0], found[1], found[2])


async def stopped_when(run_dir: Path, step: str, moment: str) -> None:
    """Run a verify and cancel it on the loop's next turn once ``step`` reaches ``moment``:
    "job" (its Bulk Read job made) or "page" (one list page read, more to come)."""
    task = asyncio.create_task(verify(run_dir, clock_speed=SPEED))
    while not task.done():
        state = read_state(run_dir, step)
        if state and (state[0] if moment == "job" else state[1] >= 1 and not state[2]):
            task.cancel()
            break
        await asyncio.sleep(0)
    try:
        await task
    except asyncio.CancelledError:
        return
    raise AssertionError(f"the verify finished before {step} reached its {moment}")


async def bulk_read_credits(run_dir: Path) -> int:
    """Credits the sandbox ever charged for making Bulk Read jobs (its journal keeps them)."""
    config = SandboxConfig(clock_speed=SPEED, state_dir=str(run_dir / SANDBOX_STATE))
    async with start_sandbox(config, Clock(SPEED)) as sb:
        by_operation = sb.state()["products"]["crm"]["credits"]["by_operation"]
    return int(by_operation.get("bulk_read", 0))


async def test_a_stopped_verify_reuses_its_bulk_read_job_and_goes_on_from_the_next_page(
    tmp_path: Path,
) -> None:
    rows = [f"Deal {i:05d},{i}.50" for i in range(DEALS)]
    (tmp_path / "deals.csv").write_text("title,amount\n" + "\n".join(rows) + "\n")
    people = [f"Customer {i},c{i}@example.org" for i in range(CUSTOMERS)]
    (tmp_path / "customers.csv").write_text("name,email\n" + "\n".join(people) + "\n")
    manifest = MANIFEST.replace('operation = "upsert"', 'operation = "insert"')
    (tmp_path / "sample.toml").write_text(manifest)
    run_dir = tmp_path / "run"
    report = await execute_in_sandbox(tmp_path / "sample.toml", run_dir, clock_speed=SPEED)
    assert report.exit_code == 0, report.render()

    await stopped_when(run_dir, "deals", "job")  # while its Bulk Read job runs
    await stopped_when(run_dir, "customers", "page")  # deals done; page 2 in flight
    assert await bulk_read_credits(run_dir) == CREDITS_BULK_READ  # one job, paid once
    pages = read_state(run_dir, "customers")
    assert pages is not None and (pages[1], pages[2]) == (1, 0)

    result = await verify(run_dir, clock_speed=SPEED)
    assert result.exit_code == 0, result.render()
    by_step = {s.step: s for s in result.steps}
    assert (by_step["deals"].matched, by_step["customers"].matched) == (DEALS, CUSTOMERS)
    assert (by_step["deals"].read_by, by_step["customers"].read_by) == ("bulk_read", "list_pages")
    assert "crm" not in result.spent  # the deals were read back before the second stop
    assert result.spent["books"]["requests"] == 1  # page 2 only
    assert await bulk_read_credits(run_dir) == CREDITS_BULK_READ


async def test_a_bulk_read_job_zoho_no_longer_has_is_made_again_once(
    make_sandbox: Any, tmp_path: Path
) -> None:
    sb = await make_sandbox(clock=Clock(SPEED, start=T0))
    async with open_zoho(credentials_for(sb), sb.clock) as zoho:
        leads = [{"Last_Name": f"Lead {i}", "Company": "Co"} for i in range(5)]
        made = await zoho.crm.insert("Leads", leads)
        assert all(o.ok for o in made)
        ids = {str(o.id) for o in made[:3]}
        ledger = Ledger(tmp_path, None)
        ledger.start_read("leads", ReadBy.BULK_READ)
        ledger.job_started("leads", "4150868000000999999")  # made by a verify Zoho forgot
        before = sb.state()["products"]["crm"]["credits"]["by_operation"].get("bulk_read", 0)
        rows = await readers.bulk_read(zoho, "Leads", ["Last_Name"], ids, ledger, "leads")
        assert set(rows) == ids and {r["Last_Name"] for r in rows.values()} == {
            "Lead 0",
            "Lead 1",
            "Lead 2",
        }
        again = await readers.bulk_read(zoho, "Leads", ["Last_Name"], ids, ledger, "leads")
        ledger.close()
    assert again == rows  # read from the checkpoint: no request
    after = sb.state()["products"]["crm"]["credits"]["by_operation"]["bulk_read"]
    assert after - before == CREDITS_BULK_READ
