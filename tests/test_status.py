"""`zmigrate status RUN_DIR [--json]` on stores filled directly."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from zmigrate.checkpoint import DeadLetter, RunStore, StepSpec
from zmigrate.cli import main

STEPS = [
    StepSpec("accounts", "crm", "Accounts", "upsert", 1_200, 100, "Account_Name", 12, 120),
    StepSpec("customers", "books", "contacts", "create", 2_500, 100, "contact_name", 2_500, 0),
]
ZMIGRATE = [sys.executable, "-c", "from zmigrate.cli import main; main()"]
PAUSE = 1_764_115_200.0  # 2025-11-26 00:00:00 UTC


def filled(run_dir: Path) -> Path:
    with RunStore.create(
        run_dir,
        manifest_path="plans/books.toml",
        manifest_hash="sha256:m",
        source_hashes={"customers.csv": "sha256:c"},
        plan={},
        steps=STEPS,
    ) as store:
        for n in range(12):
            store.mark_in_flight("accounts", n)
            store.mark_done(
                "accounts", n, xref=[(f"A{i}", f"z{i}", i) for i in range(n * 100, n * 100 + 100)]
            )
        store.spend("crm", 12, 120)
        store.mark_in_flight("customers", 0)
        store.mark_done(
            "customers",
            0,
            xref=[(f"C{i}", f"b{i}", i) for i in range(99)],
            dead=[DeadLetter("customers", 99, "C99", {"contact_name": "C99"}, "1001", "exists")],
        )
        store.spend("books", 1_000)
        store.pause(PAUSE, "Books daily limit reached (code 45)")
    return run_dir


def test_status_table_shows_steps_quota_pause_and_next_step(tmp_path: Path) -> None:
    run_dir = filled(tmp_path / "run")
    result = CliRunner().invoke(main, ["status", str(run_dir)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "paused until 2025-11-26 00:00:00 UTC: Books daily limit reached (code 45)" in out
    lines = out.splitlines()
    acc = next(line for line in lines if line.startswith("accounts"))
    cus = next(line for line in lines if line.startswith("customers"))
    assert acc.split()[-5:] == ["1,200", "0", "0", "0", "1,200"]
    assert cus.split()[-5:] == ["99", "0", "1", "2,400", "2,500"]
    assert "crm        12 req / 120 credits of 12 req / 120 credits planned" in out
    assert "books      1,000 req of 2,500 req planned" in out
    assert f"next: zmigrate resume {run_dir}" in out and "--wait" in out


def test_status_json_is_machine_readable(tmp_path: Path) -> None:
    run_dir = filled(tmp_path / "run")
    result = CliRunner().invoke(main, ["status", str(run_dir), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert list(data) == [
        "run_dir",
        "manifest",
        "status",
        "active_pid",
        "paused",
        "paused_until",
        "pause_reason",
        "last_error",
        "created",
        "updated",
        "steps",
        "quota",
        "paused_until_utc",
        "updated_utc",
    ]
    assert [list(s) for s in data["steps"]] == [
        [
            "step",
            "product",
            "module",
            "method",
            "total",
            "done",
            "merged",
            "failed",
            "left",
            "batches",
        ]
    ] * 2
    assert data["steps"][0]["batches"] == {"pending": 0, "in_flight": 0, "done": 12, "failed": 0}
    assert data["status"] == "paused"
    assert data["paused"] is True
    assert data["paused_until"] == PAUSE
    assert data["paused_until_utc"] == "2025-11-26 00:00:00 UTC"
    assert data["active_pid"] is None
    by_step = {s["step"]: s for s in data["steps"]}
    assert (by_step["customers"]["done"], by_step["customers"]["failed"]) == (99, 1)
    assert by_step["customers"]["left"] == 2_400
    assert data["quota"]["books"] == {
        "requests": 1_000,
        "credits": 0,
        "planned_requests": 2_500,
        "planned_credits": 0,
    }
    assert data["last_error"] == "Books daily limit reached (code 45)"


def test_status_of_a_run_whose_process_died_says_so(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    RunStore.create(
        run_dir, manifest_path="m", manifest_hash="h", source_hashes={}, plan={}, steps=STEPS
    ).close()
    for pid in ("999999999", str(os.getpid())):  # no such process; a live one, not holding it
        (run_dir / "lock").write_text(pid)  # what a killed run leaves in its lock file
        out = CliRunner().invoke(main, ["status", str(run_dir)]).output
        assert "stopped (the run's process is gone)" in out
    assert f"next: zmigrate resume {run_dir}   (3,700 records left)" in out


def test_status_works_while_the_run_holds_its_lock(tmp_path: Path) -> None:
    run_dir = filled(tmp_path / "run")
    with RunStore.open(run_dir) as store:
        store.set_status("running")
        data = json.loads(CliRunner().invoke(main, ["status", str(run_dir), "--json"]).output)
        assert data["active_pid"] == os.getpid()
        assert data["paused"] is False
    for p in run_dir.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p


def test_status_of_a_damaged_or_missing_store_is_a_plain_message(tmp_path: Path) -> None:
    run_dir = filled(tmp_path / "run")
    (run_dir / "run.db").write_bytes(b"\x00garbage" * 500)
    for target in (run_dir, tmp_path / "nowhere"):
        proc = subprocess.run(
            [*ZMIGRATE, "status", str(target)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 2
        assert "Traceback" not in proc.stderr
        assert proc.stderr.startswith("zmigrate status: ")
    assert (
        "damaged"
        in subprocess.run(
            [*ZMIGRATE, "status", str(run_dir)],
            capture_output=True,
            text=True,
            timeout=60,
        ).stderr
    )
