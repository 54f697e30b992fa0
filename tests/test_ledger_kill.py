"""SIGKILL `zmigrate run` / `resume` of the whole ledger while payments, credit notes, opening
balances and Inventory's packages, shipments and transfers are in flight, resume, and prove
through a separate sandbox process that every document, payment, credit and stock movement
landed once and every balance and stock level matches the source."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import time
from pathlib import Path

from ledger_helpers import write_ledger
from ledger_stock_helpers import add_stock, assert_stock
from test_ledger import assert_ledger

from zmigrate.checkpoint import RunStore
from zmigrate.errors import StoreError
from zmigrate.sandbox.process import ZMIGRATE, start_sandbox_process

SPEED = "60"
AIMS = (
    {"invoices", "bills"},
    {"credit_notes"},
    {"customer_payments"},
    {"packages", "shipments", "transfers", "opening_balances"},
)
"""What each kill waits to catch in flight, round after round (a group whose steps all
finished before its turn is skipped)."""


def in_flight(run_dir: Path) -> set[str]:
    """The steps with a batch in flight now (read without the run's lock)."""
    if not RunStore.exists(run_dir):
        return set()
    try:
        with RunStore.open(run_dir, readonly=True) as store:
            return {
                b.step
                for s in store.steps()
                for b in store.pending_batches(s.name)
                if b.state == "in_flight"
            }
    except StoreError:
        return set()


def unfinished(run_dir: Path) -> set[str]:
    """The steps with a batch not yet done (every aimed step before the run's store exists)."""
    if not RunStore.exists(run_dir):
        return set().union(*AIMS)
    try:
        with RunStore.open(run_dir, readonly=True) as store:
            return {s.name for s in store.steps() if store.pending_batches(s.name)}
    except StoreError:
        return set().union(*AIMS)


def kill_when_in_flight(
    proc: subprocess.Popen, run_dir: Path, aim: set[str], rng: random.Random
) -> set[str] | None:
    """SIGKILL once a step of ``aim`` has a batch in flight (or after 15 s: a resume first
    waits out a per-minute window, and some real seconds more); None if the run ended first."""
    deadline = time.monotonic() + 15.0
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return None
        flying = in_flight(run_dir) & aim
        if flying:
            time.sleep(rng.uniform(0, 0.05))
            proc.kill()
            proc.wait()
            return flying
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    return set()


def test_sigkill_mid_ledger_then_every_balance_matches(tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("ZMIGRATE_CRASH_SEED", "16")))
    data = add_stock(tmp_path, write_ledger(tmp_path, n=10))
    run_dir = tmp_path / "run"
    # calls of 3 Zoho seconds (50 ms real): a batch stays in flight long enough to be caught
    # by a poll every 10 ms even on a loaded machine (at 1 s, 10 payments in one batch were
    # in flight for 17 ms and a CI run missed them)
    options = ["--clock-speed", SPEED, "--latency-ms", "3000", "--fault-rate", "0.03"]
    options += ["--lost-response-rate", "0.1", "--schema", str(tmp_path / "ledger-org.json")]
    kills: list[set[str]] = []
    aims, skipped = list(AIMS), []
    with (
        open(tmp_path / "sandbox.log", "w") as log,
        start_sandbox_process(*options, stderr=log) as ready,
    ):
        env = ready.env(os.environ)
        for round_no in range(12):
            if RunStore.exists(run_dir):
                cmd = ["resume", str(run_dir), "--clock-speed", SPEED]
            else:
                cmd = ["run", str(tmp_path / "ledger.toml"), "--run-dir", str(run_dir)]
                cmd += ["--clock-speed", SPEED]
            out = tmp_path / f"round{round_no}.log"
            with open(out, "w") as f:
                proc = subprocess.Popen([*ZMIGRATE, *cmd], env=env, stdout=f, stderr=f)
            left = unfinished(run_dir)
            while aims and not aims[0] & left:  # steps run side by side: this group is done
                skipped.append(aims.pop(0))
            if not aims:
                assert proc.wait(timeout=120) == 0, out.read_text()
                break
            flying = kill_when_in_flight(proc, run_dir, aims.pop(0), rng)
            if flying is None:
                assert proc.returncode == 0, out.read_text()
                break
            kills.append(flying)
        print(kills, "done before their turn:", skipped)
        caught = set().union(*kills)
        assert len([k for k in kills if k]) >= 2, (kills, skipped)
        assert caught & {"invoices", "bills", "credit_notes", "customer_payments"}, kills
        assert sum(ready.admin("state")["faults"].values()) > 0
        asyncio.run(assert_ledger(ready, data))
        asyncio.run(assert_stock(ready, data))
