"""A rollback that both deletes and restores from before-images, SIGKILLed at seeded random
moments and run again until it completes: nothing is left, the records there before the
run hold their old values again, and a further rollback sends Zoho nothing (counted in the
sandbox's own quota state, which its journal keeps across restarts)."""

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
from zmigrate.sandbox import SandboxConfig, start_sandbox
from zmigrate.sandbox.process import ZMIGRATE

DONE = ("deleted", "gone", "restored")
UPDATED = 6
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


def settled(run_dir: Path) -> int:
    """Records the rollback's checkpoint says are deleted, gone or restored."""
    path = run_dir / "rollback" / "rollback.db"
    if not path.exists():
        return 0
    conn = sqlite3.connect(path)
    try:
        return sum(
            conn.execute(f"SELECT COUNT(*) FROM {t} WHERE state IN (?, ?, ?)", DONE).fetchone()[0]
            for t in ("targets", "restores")
        )
    except sqlite3.OperationalError:  # not made yet
        return 0
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
    before = await counts(run_dir)
    report = await execute_in_sandbox(manifest, run_dir, clock_speed=SPEED)
    assert report.exit_code == 0, report.render()

    rng = random.Random(1313)
    cmd = [*ZMIGRATE, "rollback", str(run_dir), "--yes", "--clock-speed", "120"]
    kills, seen = 0, 0
    for _ in range(4):  # each attempt is killed a seeded moment after it settles something
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        while proc.poll() is None and settled(run_dir) <= seen:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.4))
        if proc.poll() is not None:
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        kills += 1
        seen = settled(run_dir)
    assert kills >= 3, "the rollback finished before it could be killed three times"
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr

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
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert await spent(run_dir) == charged  # not one call reached the sandbox
