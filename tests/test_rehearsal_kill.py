"""A `zmigrate run --sandbox` rehearsal killed with SIGKILL resumes exactly once.

The embedded sandbox dies with the engine; `zmigrate resume RUN_DIR` restarts it from
``RUN_DIR/sandbox`` (every write it answered is there) and finishes the run. `status` and
`resume` agree on the next step.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from migration_helpers import assert_landed, write_migration

from zmigrate.clock import Clock
from zmigrate.sandbox import SandboxConfig, start_sandbox

ZMIGRATE = [str(Path(sys.executable).parent / "zmigrate")]
SPEED = 10.0
"""A Zoho minute in 6 real seconds: Books' 100 calls a minute make the run last."""
START = 1_767_225_600.0
"""2026-01-01 00:00 UTC: where the sandbox's clock is read from the state after the run."""


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ZOHO_")}


def kill_after(args: list[str], cwd: Path, marker: str, linger: float = 0.2) -> str:
    """Start ``zmigrate *args``, SIGKILL it ``linger`` real seconds after stderr shows
    ``marker``; its stderr."""
    proc = subprocess.Popen(
        [*ZMIGRATE, *args], cwd=cwd, env=_env(), stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    seen, deadline = "", time.monotonic() + 60
    while marker not in seen and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen += line
    assert marker in seen and proc.poll() is None, seen
    time.sleep(linger)  # into the next step's calls
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    return seen


def zmigrate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ZMIGRATE, *args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=180
    )


async def test_a_killed_rehearsal_resumes_on_its_restarted_sandbox_exactly_once(tmp_path):
    data = write_migration(tmp_path, scale=6)
    run_dir = tmp_path / "run"
    speed = ["--clock-speed", str(SPEED)]
    kill_after(
        ["run", "migration.toml", "--sandbox", *speed, "--run-dir", str(run_dir)],
        tmp_path,
        "accounts: finished",  # the Bulk Write of contacts comes next
    )
    status = zmigrate("status", str(run_dir), cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert f"next: zmigrate resume {run_dir}" in status.stdout, status.stdout
    # at once: the 60 invoices of the last step take a tenth of a real second
    kill_after(["resume", str(run_dir), *speed], tmp_path, "invoices: starting", linger=0.0)
    assert (
        f"next: zmigrate resume {run_dir}" in zmigrate("status", str(run_dir), cwd=tmp_path).stdout
    )
    done = zmigrate("resume", str(run_dir), *speed, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "every record landed" in done.stdout
    assert "next:" not in zmigrate("status", str(run_dir), cwd=tmp_path).stdout
    config = SandboxConfig(clock_speed=SPEED, state_dir=str(run_dir / "sandbox"))
    async with start_sandbox(config, Clock(SPEED, start=START)) as sb:
        await assert_landed(sb, data)
        assert not sb.state()["bugs"]
