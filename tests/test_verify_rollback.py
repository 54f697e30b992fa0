"""`zmigrate verify` and `zmigrate rollback` after the sample migration, over loopback against
the rehearsal's own sandbox (restarted from RUN_DIR/sandbox, as `resume` does).

Before the run the sandbox already holds one account the sample upserts: the run updates it
(it did not create it), so rollback must leave it, and only it, in place.
"""

from __future__ import annotations

import csv
import json
import random
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from zmigrate.checkpoint import RunStore
from zmigrate.client import Zoho, open_zoho
from zmigrate.clock import Clock
from zmigrate.manifest import load_manifest
from zmigrate.rehearsal import SANDBOX_STATE, execute_in_sandbox, rehearsal_sandbox
from zmigrate.rollback import rollback
from zmigrate.run.control import hold_one_window
from zmigrate.sandbox import SandboxConfig, start_sandbox
from zmigrate.sandbox.process import ZMIGRATE
from zmigrate.verify import verify

PLANS = Path(__file__).resolve().parent.parent / "plans"
SPEED = 600.0
MODULES = [
    ("crm", "Accounts"),
    ("crm", "Contacts"),
    ("crm", "Deals"),
    ("inventory", "items"),
    ("books", "items"),
    ("books", "contacts"),
    ("books", "invoices"),
]


@asynccontextmanager
async def run_zoho(run_dir: Path) -> AsyncIterator[Zoho]:
    """The rehearsal's sandbox, restarted from its state, and a client on it that holds one
    window before its first Books/Inventory call, as the engine does: the run or rollback just
    ended may have filled the org's minute, and this client cannot know of those calls."""
    manifest = load_manifest(run_dir.parent / "sample.toml")
    clock = Clock(SPEED)
    async with (
        rehearsal_sandbox(manifest, run_dir, clock, latency_ms=0.0) as credentials,
        open_zoho(credentials, clock) as zoho,
    ):
        hold_one_window(zoho)
        yield zoho


async def counts(run_dir: Path) -> dict[str, int]:
    """Records per module in the rehearsal's sandbox."""
    clock = Clock(SPEED)
    config = SandboxConfig(clock_speed=SPEED, state_dir=str(run_dir / SANDBOX_STATE))
    async with start_sandbox(config, clock) as sb:
        state = sb.state()
    return {f"{p}/{m}": state["counts"].get(p, {}).get(m, 0) for p, m in MODULES}


async def sample_run(tmp: Path) -> Path:
    """The sample migration rehearsed in ``tmp/run``, over one account that was there."""
    shutil.copy(PLANS / "sample.toml", tmp / "sample.toml")
    shutil.copytree(PLANS / "data", tmp / "data")
    run_dir = tmp / "run"
    with open(tmp / "data" / "accounts.csv", newline="") as f:
        first = next(csv.DictReader(f))
    async with run_zoho(run_dir) as zoho:
        (made,) = await zoho.crm.insert("Accounts", [{"Account_Name": first["name"]}])
        assert made.ok
    report = await execute_in_sandbox(tmp / "sample.toml", run_dir, clock_speed=SPEED)
    assert report.exit_code == 0
    return run_dir


async def test_verify_matches_then_finds_exactly_a_changed_field_and_a_deleted_record(
    tmp_path: Path,
) -> None:
    run_dir = await sample_run(tmp_path)
    result = await verify(run_dir, clock_speed=SPEED)
    assert result.exit_code == 0, result.render()
    assert all(s.checked == s.landed == s.matched > 0 for s in result.steps), result.render()
    assert {s.step: s.landed for s in result.steps}["invoices"] == 60

    with RunStore.open(run_dir, readonly=True) as store:
        deal = store.landed("deals")[3]
        invoice = store.landed("invoices")[7]
    async with run_zoho(run_dir) as zoho:
        (changed,) = await zoho.crm.update("Deals", [{"id": deal.zoho_id, "Amount": 1.25}])
        assert changed.ok
        assert (await zoho.books.delete("invoices", invoice.zoho_id)).ok

    result = await verify(run_dir, clock_speed=SPEED)
    assert result.exit_code == 1
    by_step = {s.step: s for s in result.steps}
    assert (by_step["deals"].differing, by_step["deals"].missing) == (1, 0)
    assert (by_step["invoices"].differing, by_step["invoices"].missing) == (0, 1)
    assert sum(s.differing + s.missing for s in result.steps) == 2
    (diff,) = [json.loads(line) for line in (run_dir / "verify" / "diffs.jsonl").open()]
    assert (diff["step"], diff["record_id"], diff["field"]) == ("deals", deal.zoho_id, "Amount")
    assert (diff["line"], diff["found"]) == (deal.line, 1.25)


async def test_rollback_leaves_the_sandbox_as_before_and_a_second_sends_nothing(
    tmp_path: Path,
) -> None:
    run_dir = await sample_run(tmp_path)
    assert (await counts(run_dir))["crm/Accounts"] == 50  # one of them was there before
    result = await rollback(run_dir, clock_speed=SPEED)
    assert result.exit_code == 0, result.render()
    assert {s.step: s.left_in_place for s in result.steps}["accounts"] == 1
    after = await counts(run_dir)
    assert after == {**{k: 0 for k in after}, "crm/Accounts": 1}, after
    again = await rollback(run_dir, clock_speed=SPEED)
    assert again.spent == {}  # not one request: nothing left to delete
    assert [s.deleted for s in again.steps] == [s.deleted for s in result.steps]


async def test_rollback_killed_at_random_moments_deletes_everything_once(tmp_path: Path) -> None:
    run_dir = await sample_run(tmp_path)
    rng = random.Random(13)
    cmd = [*ZMIGRATE, "rollback", str(run_dir), "--yes", "--clock-speed", "20"]
    kills = 0
    for _ in range(4):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.8, 2.5))
        if proc.poll() is not None:
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        kills += 1
    assert kills >= 2, "the rollback finished before it could be killed twice"
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    after = await counts(run_dir)
    assert after == {**{k: 0 for k in after}, "crm/Accounts": 1}, after
    again = await rollback(run_dir, clock_speed=SPEED)
    assert again.spent == {}
    assert sum(s.deleted for s in again.steps) == 329  # 330 landed, 1 was there before


async def test_rollback_asks_refuses_without_a_terminal_and_dry_runs_send_nothing(
    tmp_path: Path,
) -> None:
    run_dir = await sample_run(tmp_path)
    before = await counts(run_dir)
    asked = subprocess.run(
        [*ZMIGRATE, "rollback", str(run_dir)], stdin=subprocess.DEVNULL, capture_output=True
    )
    assert asked.returncode == 2
    assert b"confirm with --yes" in asked.stderr and b"Traceback" not in asked.stderr
    for command in ("rollback", "verify"):
        dry = subprocess.run(
            [*ZMIGRATE, command, str(run_dir), "--dry-run", "--json"], capture_output=True
        )
        assert dry.returncode == 0, dry.stderr
        bill = json.loads(dry.stdout)["bill"]
        assert bill["totals"]["crm"]["credits"] == (3 if command == "rollback" else 4)
    assert await counts(run_dir) == before


async def test_rollback_lists_an_invoice_zoho_refuses_to_delete_with_its_reason(
    tmp_path: Path,
) -> None:
    """A payment recorded after the run (not the run's) keeps its invoice: Books refuses the
    delete, and rollback lists it with Zoho's code and message instead of failing the rest."""
    run_dir = await sample_run(tmp_path)
    with RunStore.open(run_dir, readonly=True) as store:
        invoice_id = store.landed("invoices")[0].zoho_id
    async with run_zoho(run_dir) as zoho:
        invoice = await zoho.books.get("invoices", invoice_id)
        assert invoice is not None
        payment = {
            "customer_id": invoice["customer_id"],
            "payment_mode": "cash",
            "amount": invoice["total"],
            "date": "2026-01-05",
            "reference_number": "PAID-AFTER-THE-RUN",
            "invoices": [{"invoice_id": invoice_id, "amount_applied": invoice["total"]}],
        }
        paid = await zoho.books.create("customerpayments", payment, unique="reference_number")
        assert paid.ok, paid
    result = await rollback(run_dir, clock_speed=SPEED)
    assert result.exit_code == 1, result.render()
    refused = {s.step: s.refused for s in result.steps}
    assert [z for z, _ in refused["invoices"]] == [invoice_id]
    assert "payment" in refused["invoices"][0][1].lower(), refused["invoices"]
    assert (await counts(run_dir))["books/invoices"] == 1
