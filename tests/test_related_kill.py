"""A rehearsal with notes, activities and attachments killed with SIGKILL while they are
being sent resumes exactly once: batches caught in flight are checked on their parents
(related lists, COQL) before anything is sent again."""

from __future__ import annotations

from pathlib import Path

from related_helpers import assert_related_landed, write_related
from test_rehearsal_kill import kill_after, zmigrate

from zmigrate.clock import Clock
from zmigrate.sandbox import SandboxConfig, start_sandbox

SPEED = 10.0
"""150 Zoho ms of latency a call are 15 real ms: a batch of 10 uploads takes ~0.15 s."""
START = 1_767_225_600.0


async def test_a_rehearsal_killed_among_related_records_resumes_exactly_once(
    tmp_path: Path,
) -> None:
    rows = write_related(tmp_path, scale=6)
    run_dir = tmp_path / "run"
    speed = ["--clock-speed", str(SPEED)]
    kill_after(
        ["run", "migration.toml", "--sandbox", *speed, "--run-dir", str(run_dir)],
        tmp_path,
        "account_files: starting",
        linger=0.1,  # inside the first batches of uploads, notes and activities
    )
    done = zmigrate("resume", str(run_dir), *speed, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "every record landed" in done.stdout
    config = SandboxConfig(clock_speed=SPEED, state_dir=str(run_dir / "sandbox"))
    async with start_sandbox(config, Clock(SPEED, start=START)) as sb:
        await assert_related_landed(sb, tmp_path, rows)
        assert not sb.state()["bugs"]
