"""`zmigrate resume`: daily-cap pauses over three Zoho days, changed inputs, --force, the lock.

Runs are rehearsals (`zmigrate run --sandbox`), whose sandbox state lives in the run
directory, so a resume continues against the same records, quotas and clock; each command is
a real subprocess, as a user would run it.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from zmigrate.checkpoint import RunStore
from zmigrate.clock import START_ENV
from zmigrate.resume import anchored_clock
from zmigrate.sandbox.journal import Journal

ZMIGRATE = [sys.executable, "-c", "from zmigrate.cli import main; main()"]
SPEED = "600"


def zmigrate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ZMIGRATE, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def books_customers(tmp: Path, rows: int, plan: str = "free", first: int = 0) -> Path:
    with open(tmp / "customers.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ref", "name", "email"])
        for i in range(first, first + rows):
            w.writerow([f"C{i:05}", f"Customer {i:05}", f"c{i}@example.com"])
    manifest = tmp / "customers.toml"
    manifest.write_text(
        f"""
[target]
books_plan = "{plan}"

[[steps]]
name = "customers"
source = {{ file = "customers.csv" }}
target = "books:contacts"
operation = "insert"
key = ["contact_name"]
source_key = ["ref"]
[steps.fields]
contact_name = "name"
email = "email"
contact_type = {{ const = "customer" }}
"""
    )
    return manifest


def sandbox_rows(run_dir: Path, kind: str) -> list:
    """Rows of the rehearsal's sandbox state (its journal in ``RUN_DIR/sandbox``)."""
    journal = Journal(str(run_dir / "sandbox"))
    try:
        return [value for _, value in journal.rows(kind)]
    finally:
        journal.close()


def books_contacts(run_dir: Path) -> list[dict]:
    return sandbox_rows(run_dir, "fin.row/contacts")


def books_day(run_dir: Path) -> int:
    [quota] = sandbox_rows(run_dir, "quota/books")
    return quota["day"]


def status_json(run_dir: Path) -> dict:
    proc = zmigrate("status", str(run_dir), "--json", cwd=run_dir.parent)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_daily_cap_pauses_and_resume_wait_finishes_over_three_days_exactly_once(
    tmp_path: Path,
) -> None:
    manifest = books_customers(tmp_path, 2_500)
    run_dir = tmp_path / "run"
    first = zmigrate(
        "run", str(manifest), "--sandbox", "--clock-speed", SPEED, "--run-dir", "run", cwd=tmp_path
    )
    assert first.returncode == 3, first.stdout + first.stderr
    assert "zmigrate resume run" in first.stdout
    assert re.search(r"until \d{4}-\d\d-\d\d 00:00:\d\d UTC", first.stdout)  # the reset
    day1 = books_day(run_dir)
    status = status_json(run_dir)
    assert status["paused"] and status["paused_until"] > 0
    assert status["paused_until"] % 86_400 < 60  # Books resets at UTC midnight (Zoho time)
    [step] = status["steps"]
    assert 990 <= step["done"] <= 1_000 and step["left"] == 2_500 - step["done"]

    # before the reset, a plain resume pauses again at once and creates nothing
    again = zmigrate("resume", "run", cwd=tmp_path)
    assert again.returncode == 3, again.stdout + again.stderr
    assert len(books_contacts(run_dir)) == step["done"]

    done = zmigrate("resume", "run", "--wait", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    contacts = books_contacts(run_dir)
    assert sorted(c["contact_name"] for c in contacts) == [f"Customer {i:05}" for i in range(2_500)]
    assert all(c["email"] == f"c{int(c['contact_name'][-5:])}@example.com" for c in contacts)
    assert books_day(run_dir) == day1 + 2  # three Zoho days: the first, and two resets
    final = status_json(run_dir)
    assert final["status"] == "done" and not final["paused"]
    assert final["steps"][0]["done"] == 2_500 and final["steps"][0]["left"] == 0
    with RunStore.open(run_dir, readonly=True) as store:
        assert len(store.lookup_many("customers", [f"C{i:05}" for i in range(2_500)])) == 2_500


def test_changed_source_is_refused_and_force_replans_only_what_is_left(tmp_path: Path) -> None:
    manifest = books_customers(tmp_path, 40, plan="standard")
    run_dir = tmp_path / "run"
    first = zmigrate(
        "run", str(manifest), "--sandbox", "--clock-speed", SPEED, "--run-dir", "run", cwd=tmp_path
    )
    assert first.returncode == 0, first.stdout + first.stderr
    books_customers(tmp_path, 60, plan="standard")  # 20 more rows in the same file

    refused = zmigrate("resume", "run", cwd=tmp_path)
    assert refused.returncode == 2
    assert "Traceback" not in refused.stderr
    assert f"source {tmp_path / 'customers.csv'} changed" in refused.stderr
    assert "--force" in refused.stderr
    assert len(books_contacts(run_dir)) == 40

    forced = zmigrate("resume", "run", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert "re-planned what is left" in forced.stderr
    names = sorted(c["contact_name"] for c in books_contacts(run_dir))
    assert names == [f"Customer {i:05}" for i in range(60)]
    books = status_json(run_dir)["quota"]["books"]
    assert books["requests"] <= 40 + 20 + 2  # the 40 already there were never sent again


def test_a_busy_finished_or_damaged_run_dir(tmp_path: Path) -> None:
    manifest = books_customers(tmp_path, 5, plan="standard")
    first = zmigrate(
        "run", str(manifest), "--sandbox", "--clock-speed", SPEED, "--run-dir", "run", cwd=tmp_path
    )
    assert first.returncode == 0, first.stderr
    with RunStore.open(tmp_path / "run"):
        busy = zmigrate("resume", "run", cwd=tmp_path)
    assert busy.returncode == 2
    assert "in use by another zmigrate process" in busy.stderr
    assert "Traceback" not in busy.stderr
    spent = status_json(tmp_path / "run")["quota"]["books"]["requests"]
    again = zmigrate("resume", "run", cwd=tmp_path)  # a finished run: nothing left to send
    assert again.returncode == 0, again.stderr
    assert status_json(tmp_path / "run")["quota"]["books"]["requests"] == spent
    assert len(books_contacts(tmp_path / "run")) == 5
    db = tmp_path / "run" / "run.db"
    db.write_bytes(db.read_bytes()[:3000])
    damaged = zmigrate("resume", "run", cwd=tmp_path)
    assert damaged.returncode == 2 and "Traceback" not in damaged.stderr
    assert "is damaged" in damaged.stderr


def test_a_rehearsal_whose_sandbox_state_is_gone_says_so(tmp_path: Path) -> None:
    manifest = books_customers(tmp_path, 5, plan="standard")
    first = zmigrate(
        "run", str(manifest), "--sandbox", "--clock-speed", SPEED, "--run-dir", "run", cwd=tmp_path
    )
    assert first.returncode == 0, first.stderr
    with RunStore.open(tmp_path / "run") as store:  # as if killed: a commit after the sandbox's
        store.record_error("killed")  # last one, which takes nothing from the sandbox's state
    again = zmigrate("resume", "run", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(books_contacts(tmp_path / "run")) == 5
    shutil.rmtree(tmp_path / "run" / "sandbox")  # removed by hand
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOHO_")}
    lost = subprocess.run(
        [*ZMIGRATE, "resume", "run"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert lost.returncode == 2 and "was a rehearsal" in lost.stderr, lost.stderr


@pytest.mark.parametrize("target", ["nowhere", "empty"])
def test_resume_of_something_that_is_no_run_says_so(tmp_path: Path, target: str) -> None:
    (tmp_path / "empty").mkdir()
    proc = zmigrate("resume", target, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("zmigrate resume: ") and "not a zmigrate run directory" in (
        proc.stderr
    )


def test_every_process_of_a_run_agrees_on_zoho_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(START_ENV)  # anchored at the run's creation, as against Zoho
    created = 1_700_000_000.0
    early = anchored_clock(created, 600, real_now=created + 10)
    late = anchored_clock(created, 600, real_now=created + 250)
    # a process started 240 real seconds later reads the Zoho time the first one reads then
    assert late.now() - early.now() == pytest.approx(240 * 600, abs=60)
    assert anchored_clock(time.time() - 100, 1.0).now() == pytest.approx(time.time(), abs=1)


def test_a_resumed_rehearsal_keeps_its_fault_rate(tmp_path: Path) -> None:
    """`--fault-rate` is part of the rehearsal's world: the resume fails as often."""
    manifest = books_customers(tmp_path, 1_100)
    first = zmigrate(
        "run", str(manifest), "--sandbox", "--clock-speed", SPEED, "--fault-rate", "0.2",
        "--run-dir", "run", cwd=tmp_path,
    )  # fmt: skip
    assert first.returncode == 3, first.stdout + first.stderr
    left = status_json(tmp_path / "run")["steps"][0]["left"]
    done = zmigrate("resume", "run", "--wait", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    [books] = json.loads((tmp_path / "run" / "report.json").read_text())["products"]
    assert books["calls"] > 1.15 * left  # a call in five fails and is sent again
    assert len(books_contacts(tmp_path / "run")) == 1_100
