"""A resumed run holds its Books/Inventory pacers one window before its first call, however
its last process ended: one that paused on one product's quota went on sending on the others
until it exited, and their steps waiting on the paused product may start at once."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from fixed_time import T0

from zmigrate.checkpoint import RunStatus, RunStore
from zmigrate.clock import Clock
from zmigrate.progress import Progress
from zmigrate.quotas import MINUTE
from zmigrate.rehearsal import sandbox_credentials
from zmigrate.run import execute

MANIFEST = """
[[steps]]
name = "customers"
source = { file = "customers.csv" }
target = "books:contacts"
operation = "insert"
key = ["contact_name"]
[steps.fields]
contact_name = "name"
"""


@pytest.mark.parametrize("left_as", [RunStatus.PAUSED, RunStatus.INTERRUPTED])
async def test_a_resume_waits_one_window_before_its_first_books_call(
    tmp_path: Path, make_sandbox, left_as: RunStatus
) -> None:
    clock = Clock(30, start=T0)  # a window is 2 real seconds
    sb = await make_sandbox(clock=clock)
    rows = "\n".join(f"Customer {i}" for i in range(3))
    (tmp_path / "customers.csv").write_text("name\n" + rows + "\n")
    (tmp_path / "m.toml").write_text(MANIFEST)
    run_dir = tmp_path / "run"

    async def execute_once(resume: bool, interrupt: asyncio.Event | None = None) -> str:
        progress = Progress(io.StringIO(), tty=False)
        report = await execute(
            tmp_path / "m.toml",
            run_dir,
            sandbox_credentials(sb),
            clock,
            resume=resume,
            progress=progress,
            interrupt=interrupt,
        )
        return report.outcome

    stopped = asyncio.Event()
    stopped.set()  # Ctrl-C before the first batch: every record is left for the resume
    assert await execute_once(False, stopped) != "done"
    with RunStore.open(run_dir) as store:
        store.set_status(left_as)  # as the last process left it
    books = sb.products["books"].quota.orgs
    assert not any(q.minute for q in books.values())  # the first process sent nothing
    started = clock.now()
    assert await execute_once(True) == "done"
    calls = sorted(t for q in books.values() for t in q.minute)  # the resume's, one window
    assert len(calls) == 3
    assert calls[0] - started >= MINUTE
