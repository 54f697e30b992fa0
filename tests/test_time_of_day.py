"""No test depends on the hour it runs at: daily caps trip and resume at any UTC start time.

Books and Inventory daily caps reset at UTC midnight (Zoho time). A rehearsal started late in
the UTC day crosses midnight after a few minutes and must still pause at the cap, on the next
day; `$ZMIGRATE_CLOCK_START` pins where the CLI's clocks begin, so each start time is tested
whenever the suite runs.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fixed_time import T0, at

from zmigrate.clock import START_ENV, Clock
from zmigrate.quotas import DAY
from zmigrate.resume import anchored_clock
from zmigrate.sandbox.journal import Journal

ZMIGRATE = [sys.executable, "-c", "from zmigrate.cli import main; main()"]
ROWS = 1_800
"""More than a free Books day (1,000 calls) plus what fits in the minutes before midnight."""


def zmigrate(*args: str, cwd: Path, start: float | str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOHO_")}
    env[START_ENV] = str(start)
    return subprocess.run(
        [*ZMIGRATE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def free_books_customers(tmp: Path) -> Path:
    with open(tmp / "customers.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ref", "name"])
        w.writerows([f"C{i:05}", f"Customer {i:05}"] for i in range(ROWS))
    manifest = tmp / "customers.toml"
    manifest.write_text(
        '[target]\nbooks_plan = "free"\n\n[[steps]]\nname = "customers"\n'
        'source = { file = "customers.csv" }\ntarget = "books:contacts"\noperation = "insert"\n'
        'key = ["contact_name"]\nsource_key = ["ref"]\n'
        '[steps.fields]\ncontact_name = "name"\n'
    )
    return manifest


def contact_names(run_dir: Path) -> list[str]:
    """Books contacts in the rehearsal's sandbox state (its journal in ``RUN_DIR/sandbox``)."""
    journal = Journal(str(run_dir / "sandbox"))
    try:
        return sorted(c["contact_name"] for _, c in journal.rows("fin.row/contacts"))
    finally:
        journal.close()


@pytest.mark.parametrize(
    ("start", "reset_day"),
    [("00:05", 1), ("12:00", 1), ("19:30", 1), ("23:55", 2)],  # 23:55: the cap trips tomorrow
)
def test_daily_cap_pauses_and_resume_finishes_at_any_start_time(
    tmp_path: Path, start: str, reset_day: int
) -> None:
    begin = at(start)
    manifest = free_books_customers(tmp_path)
    run_dir = tmp_path / "run"
    rehearse = ["--sandbox", "--clock-speed", "600", "--run-dir", "run"]
    first = zmigrate("run", str(manifest), *rehearse, cwd=tmp_path, start=begin)
    assert first.returncode == 3, first.stdout + first.stderr
    status = zmigrate("status", "run", "--json", cwd=tmp_path, start=begin)
    paused_until = json.loads(status.stdout)["paused_until"]
    assert paused_until == pytest.approx(at("00:00", day=reset_day), abs=60)
    landed = len(contact_names(run_dir))
    assert 0 < landed < ROWS

    # before the reset (the sandbox's saved clock, not the start, is the time now) nothing moves
    again = zmigrate("resume", "run", cwd=tmp_path, start=begin)
    assert again.returncode == 3, again.stdout + again.stderr
    assert len(contact_names(run_dir)) == landed

    done = zmigrate("resume", "run", "--wait", cwd=tmp_path, start=begin)
    assert done.returncode == 0, done.stdout + done.stderr
    assert contact_names(run_dir) == [f"Customer {i:05}" for i in range(ROWS)]


def test_a_clock_without_a_start_begins_at_the_fixed_instant(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(START_ENV, str(at("23:55")))
    assert Clock(600).now() == pytest.approx(at("23:55"), abs=60)
    assert Clock(600, start=T0).now() == pytest.approx(T0, abs=60)  # an explicit start wins
    # every process of a run agrees: one started 10 real seconds after the run's creation
    created = 1_700_000_000.0
    later = anchored_clock(created, 600, real_now=created + 10)
    assert later.now() == pytest.approx(at("23:55") + 6_000, abs=60)
    assert (later.now() - at("00:00")) // DAY == 1  # past midnight: the next UTC day


def test_a_start_that_is_no_epoch_is_one_clear_line(tmp_path: Path) -> None:
    manifest = free_books_customers(tmp_path)
    done = zmigrate("run", str(manifest), "--sandbox", cwd=tmp_path, start="tomorrow")
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith(f"zmigrate run: {START_ENV}='tomorrow' is not epoch seconds")
    assert "Traceback" not in done.stderr and not (tmp_path / "runs").exists()
