"""`zmigrate run` as a user runs it: a real process, its exit code, its files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
from fixed_time import T0
from migration_helpers import assert_landed, write_migration

from zmigrate.clock import Clock
from zmigrate.progress import Progress
from zmigrate.rehearsal import execute_in_sandbox
from zmigrate.sandbox import SandboxConfig, start_sandbox

ROOT = Path(__file__).resolve().parent.parent
ZMIGRATE = [str(Path(sys.executable).parent / "zmigrate")]


def _env() -> dict[str, str]:
    """The environment without any Zoho credentials (tests never use real ones)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("ZOHO_")}


def zmigrate(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ZMIGRATE, *args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=60
    )


def test_readme_first_command_lands_the_sample(tmp_path):
    run_dir = tmp_path / "run"
    done = zmigrate("run", "plans/sample.toml", "--sandbox", "--run-dir", str(run_dir))
    assert done.returncode == 0, done.stderr + done.stdout
    assert "done: every record landed" in done.stdout
    report = orjson.loads((run_dir / "report.json").read_bytes())
    assert report["outcome"] == "done" and report["failed"] == 0
    assert {s["name"] for s in report["steps"]} >= {"accounts", "invoices"}
    assert all(s["pending"] == 0 for s in report["steps"])
    again = zmigrate("run", "plans/sample.toml", "--sandbox", "--run-dir", str(run_dir))
    assert again.returncode == 2 and "zmigrate resume" in again.stderr


def test_dry_run_prints_the_plan_and_sends_nothing(tmp_path):
    done = zmigrate("run", "plans/sample.toml", "--dry-run", "--run-dir", str(tmp_path / "r"))
    assert done.returncode == 0, done.stderr
    assert "invoices" in done.stdout and "crm" in done.stdout
    assert not (tmp_path / "r").exists()


def test_without_credentials_it_says_so_and_suggests_the_sandbox(tmp_path):
    done = zmigrate("run", "plans/sample.toml", "--run-dir", str(tmp_path / "r"))
    assert done.returncode == 2
    assert "ZOHO_CLIENT_ID" in done.stderr and "--sandbox" in done.stderr


def test_bad_manifest_is_exit_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[steps]]\nname = "x"\ntarget = "crm:Acounts"\nsource = { file = "a.csv" }\n')
    done = zmigrate("run", str(bad), "--sandbox", "--run-dir", str(tmp_path / "r"))
    assert done.returncode == 2
    assert "bad.toml" in done.stderr


async def test_ctrl_c_stops_with_130_and_the_run_resumes_exactly_once(tmp_path):
    data = write_migration(tmp_path, scale=6)  # 120 Books calls: the 101st waits a minute
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(
        [*ZMIGRATE, "run", "migration.toml", "--sandbox", "--clock-speed", "2"]
        + ["--run-dir", str(run_dir)],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    seen = ""
    while "customers: finished" not in seen and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen += line
    assert "customers: finished" in seen, seen
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, seen + err + out
    report = orjson.loads((run_dir / "report.json").read_bytes())
    assert report["outcome"] == "interrupted"
    assert any(s["pending"] for s in report["steps"])

    resumed = await execute_in_sandbox(
        tmp_path / "migration.toml",
        run_dir,
        clock_speed=600,
        resume=True,
        progress=Progress(tty=False),
    )
    assert resumed.outcome == "done", resumed.render()
    config = SandboxConfig(clock_speed=600, state_dir=str(run_dir / "sandbox"))
    async with start_sandbox(config, Clock(600, start=T0)) as sb:
        await assert_landed(sb, data)


def test_daily_cap_exits_3_and_says_when_it_resets(tmp_path):
    rows = "\n".join(f"K{i},Customer {i}" for i in range(1_010))
    (tmp_path / "customers.csv").write_text("ref,name\n" + rows + "\n")
    (tmp_path / "m.toml").write_text(
        '[target]\nbooks_plan = "free"\n\n[[steps]]\nname = "customers"\n'
        'source = { file = "customers.csv" }\ntarget = "books:contacts"\n'
        'key = ["contact_name"]\nsource_key = ["ref"]\n'
        '[steps.fields]\ncontact_name = "name"\n'
    )
    run_dir = tmp_path / "run"
    done = zmigrate(
        "run",
        str(tmp_path / "m.toml"),
        "--sandbox",
        "--clock-speed",
        "600",
        "--run-dir",
        str(run_dir),
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert "books quota spent until 20" in done.stdout and "zmigrate resume" in done.stdout
    report = orjson.loads((run_dir / "report.json").read_bytes())
    assert report["steps"][0]["landed"] == 1_000 and report["steps"][0]["pending"] == 10
    assert report["resets_at_utc"].endswith("UTC")
