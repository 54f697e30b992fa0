"""A rollback that both deletes and restores from before-images, SIGKILLed at seeded random
moments (once while deleting, once while restoring) and run again to the end: nothing is
left, nothing the run did not create is gone, the records there before the run hold their
old values again, and a further rollback sends Zoho nothing (counted in the sandbox's own
quota state, which its journal keeps across restarts)."""

from __future__ import annotations

import csv
import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

from test_rollback_before_images import imaged_manifest
from test_verify_rollback import SPEED, counts, run_zoho

from zmigrate.clock import Clock
from zmigrate.rehearsal import SANDBOX_STATE, execute_in_sandbox
from zmigrate.rollback import rollback
from zmigrate.sandbox import SandboxConfig, start_sandbox
from zmigrate.sandbox.process import ZMIGRATE

UPDATED = 20
"""Accounts and customers there before the run: the run updates them, rollback restores."""


def first_names(path: Path) -> list[str]:
    with open(path, newline="") as f:
        return [row["name"] for _, row in zip(range(UPDATED), csv.DictReader(f), strict=False)]


async def spent(run_dir: Path) -> dict[str, Any]:
    """What the sandbox has charged so far: CRM credits ever, Books/Inventory calls today."""
    config = SandboxConfig(clock_speed=SPEED, state_dir=str(run_dir / SANDBOX_STATE))
    async with start_sandbox(config, Clock(SPEED)) as sb:
        state = sb.state()["products"]
    return {
        "crm": state["crm"]["credits"]["total"],
        **{
            p: {o: q["used_today"] for o, q in state[p]["orgs"].items()}
            for p in ("books", "inventory")
        },
    }


def started(run_dir: Path, table: str) -> bool:
    """Whether the rollback's checkpoint has settled something of ``table`` (targets:
    deletes, restores: before-images written back)."""
    path = run_dir / "rollback" / "rollback.db"
    if not path.exists():
        return False
    conn = sqlite3.connect(path)
    try:
        query = f"SELECT 1 FROM {table} WHERE state IN ('deleted', 'gone', 'restored') LIMIT 1"
        return conn.execute(query).fetchone() is not None
    except sqlite3.OperationalError:  # not made yet
        return False
    finally:
        conn.close()


async def test_rollback_killed_while_deleting_and_restoring_ends_as_before(tmp_path: Path) -> None:
    manifest = imaged_manifest(tmp_path)
    run_dir = tmp_path / "run"
    accounts = first_names(tmp_path / "data" / "accounts.csv")
    customers = first_names(tmp_path / "data" / "customers.csv")
    async with run_zoho(run_dir) as zoho:
        made = await zoho.crm.insert(
            "Accounts", [{"Account_Name": n, "Billing_City": f"Old {n}"} for n in accounts]
        )
        old_accounts = {o.id: f"Old {n}" for o, n in zip(made, accounts, strict=True)}
        old_customers = {}
        for n in customers:
            got = await zoho.books.create(
                "contacts", {"contact_name": n, "email": "old@example.org"}
            )
            old_customers[got.id] = n
    # those calls were the org's too: the run starts a window later, or its first 100 Books
    # calls and these 20 fall in one window (code 44: a new run cannot know of them)
    await Clock(SPEED).sleep(61)
    before = await counts(run_dir)
    report = await execute_in_sandbox(manifest, run_dir, clock_speed=SPEED)
    assert report.exit_code == 0, report.render()

    rng = random.Random(1313)
    cmd = [*ZMIGRATE, "rollback", str(run_dir), "--yes", "--clock-speed", "120"]
    # killed a seeded moment after it deleted something, then after it began restoring
    for phase, delay in (("targets", 0.3), ("restores", 0.02)):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        while proc.poll() is None and not started(run_dir, phase):
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, delay))
        assert proc.poll() is None, f"the rollback finished before it was killed ({phase})"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    done = await rollback(run_dir, clock_speed=SPEED)  # goes on from the last checkpoint
    assert done.exit_code == 0, done.render()
    assert await counts(run_dir) == before  # nothing the run created is left, nothing else gone
    ledger = sqlite3.connect(run_dir / "rollback" / "rollback.db")
    states = dict(ledger.execute("SELECT state, COUNT(*) FROM targets GROUP BY state"))
    restored = dict(ledger.execute("SELECT state, COUNT(*) FROM restores GROUP BY state"))
    ledger.close()
    assert set(states) <= {"deleted", "gone"} and sum(states.values()) == 330 - 2 * UPDATED, states
    assert restored == {"restored": 2 * UPDATED}, restored
    async with run_zoho(run_dir) as zoho:
        ids = ", ".join(old_accounts)
        query = f"select Billing_City, Industry from Accounts where id in ({ids})"
        rows = (await zoho.crm.coql(query)).records
        books = [await zoho.books.get("contacts", z) for z in old_customers]
    assert {str(r["id"]): r["Billing_City"] for r in rows} == old_accounts
    assert all(r["Industry"] is None for r in rows)
    assert all(b is not None and b["email"] == "old@example.org" for b in books)
    assert {b["contact_id"]: b["contact_name"] for b in books if b} == old_customers

    charged = await spent(run_dir)
    again = await rollback(run_dir, clock_speed=SPEED)
    assert again.exit_code == 0 and again.spent == {}
    assert await spent(run_dir) == charged  # not one call reached the sandbox
