"""`resume --wait` against Zoho (not a rehearsal): sleep until each reset, go on, stop looping
when a quota period brings no progress, and Ctrl-C while waiting sends nothing.

The run itself is replaced by a stand-in that settles one record a "day" in the real store
and pauses until a reset a little later, so the waiting rules are checked on their own.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import pytest

from zmigrate import resume as resuming
from zmigrate import run
from zmigrate.checkpoint import RunStore, hash_bytes
from zmigrate.manifest import load_manifest
from zmigrate.progress import Progress
from zmigrate.report import RunReport

SPEED = 600.0
RESET_AFTER = 60.0  # Zoho seconds: a tenth of a real second at SPEED
ENV = {"ZOHO_CLIENT_ID": "1000.X", "ZOHO_CLIENT_SECRET": "s", "ZOHO_REFRESH_TOKEN": "r"}


def quiet() -> Progress:
    return Progress(io.StringIO(), tty=False)


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    (tmp_path / "customers.csv").write_text("ref,name\nC1,One\nC2,Two\nC3,Three\n")
    manifest = tmp_path / "m.toml"
    manifest.write_text(
        """
[target]
books_plan = "free"

[[steps]]
name = "customers"
source = { file = "customers.csv" }
target = "books:contacts"
operation = "insert"
key = ["contact_name"]
source_key = ["ref"]
[steps.fields]
contact_name = "name"
"""
    )
    loaded = load_manifest(manifest)
    the_plan, steps = run.plan_for_run(loaded, tmp_path / "run")
    with RunStore.create(
        tmp_path / "run",
        manifest_path=str(manifest),
        manifest_hash=hash_bytes(manifest.read_bytes()),
        source_hashes=run.source_hashes(loaded),
        plan=the_plan.to_dict(),
        steps=steps,
    ) as store:
        assert [b.batch_no for b in store.pending_batches("customers")] == [0, 1, 2]
        clock = resuming.anchored_clock(store.meta().created, SPEED)
        store.pause(clock.now() + RESET_AFTER, "Books daily cap (code 45)")
    return tmp_path / "run"


class StandIn:
    """Plays `zmigrate.run.execute`: settles ``per_day`` batches, then pauses or finishes."""

    def __init__(self, per_day: int) -> None:
        self.per_day = per_day
        self.calls: list[tuple[float, float | None]] = []

    async def __call__(self, manifest_path, run_dir, credentials, clock, **kw: Any) -> RunReport:
        assert kw["resume"] is True
        with RunStore.open(run_dir) as store:
            self.calls.append((clock.now(), store.meta().paused_until))
            store.recover()
            for b in store.pending_batches("customers")[: self.per_day]:
                store.mark_done("customers", b.batch_no, [(f"C{b.batch_no + 1}", "z", 0)])
            if store.pending_batches("customers"):
                store.pause(clock.now() + RESET_AFTER, "Books daily cap (code 45)")
                outcome = "paused"
            else:
                store.set_status("done")
                outcome = "done"
        return RunReport(str(run_dir), str(manifest_path), outcome, outcome, ())


async def test_wait_sleeps_until_each_reset_and_goes_on_until_done(
    run_dir: Path, monkeypatch
) -> None:
    stand_in = StandIn(per_day=1)
    monkeypatch.setattr(run, "execute", stand_in)
    report = await resuming.resume(
        run_dir, wait=True, clock_speed=SPEED, env=ENV, progress_factory=quiet
    )
    assert report.outcome == "done"
    assert len(stand_in.calls) == 3  # three "days", one record each
    for started, paused_until in stand_in.calls:
        assert paused_until is not None and started >= paused_until


async def test_without_wait_a_paused_run_is_tried_once(run_dir: Path, monkeypatch) -> None:
    stand_in = StandIn(per_day=1)
    monkeypatch.setattr(run, "execute", stand_in)
    report = await resuming.resume(run_dir, clock_speed=SPEED, env=ENV, progress_factory=quiet)
    assert report.outcome == "paused" and len(stand_in.calls) == 1
    started, paused_until = stand_in.calls[0]
    assert paused_until is not None and started < paused_until  # Zoho decides, not our guess


async def test_wait_stops_when_a_quota_period_brings_no_progress(
    run_dir: Path, monkeypatch
) -> None:
    stand_in = StandIn(per_day=0)
    monkeypatch.setattr(run, "execute", stand_in)
    report = await resuming.resume(
        run_dir, wait=True, clock_speed=SPEED, env=ENV, progress_factory=quiet
    )
    assert report.outcome == "paused" and len(stand_in.calls) == 1


async def test_ctrl_c_while_waiting_sends_nothing(run_dir: Path, monkeypatch) -> None:
    with RunStore.open(run_dir) as store:
        store.pause(4_000_000_000.0, "credits spent")  # far away
    stand_in = StandIn(per_day=1)
    monkeypatch.setattr(run, "execute", stand_in)
    interrupt = asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, interrupt.set)
    with pytest.raises(resuming.Interrupted) as err:
        await resuming.resume(
            run_dir,
            wait=True,
            clock_speed=SPEED,
            env=ENV,
            interrupt=interrupt,
            progress_factory=quiet,
        )
    assert err.value.exit_code == 130 and stand_in.calls == []
