"""`zmigrate resume RUN_DIR`: continue a stopped run exactly where it stopped.

The run directory says everything: the manifest (its path and hash), the sources' hashes,
which batches landed, which were in flight (verified before anything is resent, see
``zmigrate.checkpoint``), and whether the run paused on a quota and until when. The run
itself is ``zmigrate.run.execute`` with ``resume=True``; this module decides
what to hand it:

* inputs changed since the run began → refused, naming what changed; ``--force`` re-plans
  what is left against the new inputs (ids already in Zoho are kept and never sent again);
* paused with ``--wait`` → sleep until the reset, go on, and again after each later pause
  while every day makes progress. A rehearsal (a run with ``--sandbox``, whose sandbox
  state lives in ``RUN_DIR/sandbox``) jumps its shared clock to the reset instead;
* a rehearsal, however it stopped (even by `kill -9`), goes on against its embedded sandbox
  restarted from ``RUN_DIR/sandbox``, which holds every write it answered;
* time: a run against Zoho uses real time. A process of a run against a sandbox with a fast
  clock (``--clock-speed``) anchors Zoho time at the run's creation, so every process of
  the run agrees on when a pause ends.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from zmigrate import run
from zmigrate.auth import Credentials
from zmigrate.checkpoint import RunStatus, RunStore, hash_bytes
from zmigrate.clock import Clock, fixed_start
from zmigrate.errors import ConfigError, StoreError, UsageError, ZmigrateError
from zmigrate.manifest import load_manifest
from zmigrate.progress import Progress
from zmigrate.rehearsal import REHEARSAL_SPEED, SANDBOX_STATE, execute_in_sandbox
from zmigrate.report import REPORT_FILE, RunReport


class Interrupted(ZmigrateError):
    """Ctrl-C while waiting for a quota to reset: nothing was sent, resume again later."""

    exit_code = 130


@dataclass(frozen=True)
class RunInfo:
    """What a resume needs to know about a run directory before taking its lock."""

    run_dir: Path
    manifest_path: Path
    created: float
    status: RunStatus
    paused_until: float | None
    settled: int
    """Records landed or dead-lettered so far (a later pause without progress ends --wait)."""
    rehearsal: bool
    """Run with ``--sandbox``: the sandbox's records, quotas and clock are in the run dir."""
    clock_speed: float | None
    """The speed the last process of the run used (from its report), if it wrote one."""
    updated: float
    """Wall time of the store's last commit."""


def inspect(run_dir: str | os.PathLike[str]) -> RunInfo:
    """Read the run directory without its lock (the resume takes it when it opens the store)."""
    path = Path(run_dir)
    with RunStore.open(path, readonly=True) as store:
        summary = store.summary()
    if not summary.manifest:
        raise StoreError(f"run store in {path} names no manifest; it cannot be resumed")
    return RunInfo(
        run_dir=path,
        manifest_path=Path(summary.manifest),
        created=summary.created,
        status=summary.status,
        paused_until=summary.paused_until,
        settled=summary.settled,
        rehearsal=(path / SANDBOX_STATE).is_dir(),
        clock_speed=_report_speed(path),
        updated=summary.updated or 0.0,
    )


def _report_speed(run_dir: Path) -> float | None:
    try:
        speed = orjson.loads((run_dir / REPORT_FILE).read_bytes()).get("clock_speed")
    except (OSError, orjson.JSONDecodeError, AttributeError):
        return None
    return float(speed) if isinstance(speed, int | float) and speed > 0 else None


def anchored_clock(created: float, speed: float, real_now: float | None = None) -> Clock:
    """Zoho time ``origin + (real - created) * speed``: the same in every process of a run.

    ``origin`` is ``created``, or ``$ZMIGRATE_CLOCK_START`` where the run's first clock began.
    """
    real = time.time() if real_now is None else real_now
    origin = fixed_start()
    return Clock(speed, start=(created if origin is None else origin) + (real - created) * speed)


def changed_inputs(info: RunInfo) -> list[str]:
    """What changed in the manifest and its sources since the run began (empty: nothing)."""
    manifest = load_manifest(info.manifest_path)
    hashes = run.source_hashes(manifest)
    with RunStore.open(info.run_dir, readonly=True) as store:
        return store.changed_inputs(hash_bytes(info.manifest_path.read_bytes()), hashes)


def force_replan(run_dir: Path, manifest_path: Path) -> list[str]:
    """``--force``: re-cut what is left against the current manifest and sources.

    Returns the changes it found (empty: nothing changed, nothing done). Takes the run's lock.
    """
    manifest = load_manifest(manifest_path)
    manifest_hash = hash_bytes(manifest_path.read_bytes())
    hashes = run.source_hashes(manifest)
    with RunStore.open(run_dir) as store:
        changes = store.changed_inputs(manifest_hash, hashes)
        if changes:
            the_plan, steps = run.plan_for_run(manifest, run_dir)
            store.replan(
                manifest_hash=manifest_hash,
                source_hashes=hashes,
                plan=the_plan.to_dict(),
                steps=steps,
            )
    return changes


async def _sleep_until(clock: Clock, until: float, interrupt: asyncio.Event | None) -> None:
    """Sleep (Zoho time) until ``until``; Ctrl-C ends the wait with :class:`Interrupted`."""
    left = until - clock.now()
    if left <= 0:
        return
    sleeper = asyncio.ensure_future(clock.sleep(left))
    waiter = asyncio.ensure_future(interrupt.wait()) if interrupt else None
    try:
        await asyncio.wait([t for t in (sleeper, waiter) if t], return_when="FIRST_COMPLETED")
    finally:
        for t in (sleeper, waiter):
            if t:
                t.cancel()
    if interrupt is not None and interrupt.is_set():
        raise Interrupted("interrupted while waiting for the quota to reset; nothing was sent")


async def _rehearse(
    info: RunInfo, speed: float, wait: bool, interrupt: asyncio.Event | None, progress: Progress
) -> RunReport:
    """Resume a ``--sandbox`` run on its embedded sandbox, restored from the run directory."""
    start = info.paused_until if wait and info.paused_until else None
    if start is not None:
        at = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(start))
        progress.note(f"paused: the rehearsal's clock jumps to the reset, {at} (Zoho time)")
    return await execute_in_sandbox(
        info.manifest_path,
        info.run_dir,
        clock_speed=speed,
        clock_start=start,
        resume=True,
        progress=progress,
        interrupt=interrupt,
    )


async def _against_zoho(
    info: RunInfo,
    speed: float,
    wait: bool,
    env: Mapping[str, str],
    interrupt: asyncio.Event | None,
    progress: Progress,
) -> RunReport:
    try:
        credentials = Credentials.from_env(env)
    except ConfigError as e:
        raise ConfigError(
            f"{e}. If {info.run_dir} was a rehearsal (`zmigrate run --sandbox`), its sandbox "
            f"state {info.run_dir / SANDBOX_STATE} is gone: start the rehearsal again"
        ) from None
    clock = anchored_clock(info.created, speed)
    if wait and info.paused_until and info.paused_until > clock.now():
        at = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(info.paused_until))
        progress.note(f"paused: waiting until {at} (Zoho time) for the quota to reset")
        await _sleep_until(clock, info.paused_until, interrupt)
    return await run.execute(
        info.manifest_path,
        info.run_dir,
        credentials,
        clock,
        resume=True,
        progress=progress,
        interrupt=interrupt,
    )


async def resume(
    run_dir: str | os.PathLike[str],
    *,
    wait: bool = False,
    force: bool = False,
    clock_speed: float | None = None,
    env: Mapping[str, str] | None = None,
    interrupt: asyncio.Event | None = None,
    progress_factory: Any = Progress,
) -> RunReport:
    """Continue the run in ``run_dir``; with ``wait``, through every quota pause until done."""
    if clock_speed is not None and clock_speed <= 0:
        raise UsageError(f"--clock-speed must be positive, got {clock_speed}")
    info = inspect(run_dir)
    if not info.manifest_path.is_file():
        raise UsageError(
            f"the run's manifest {info.manifest_path} is gone; put it back to resume {run_dir}"
        )
    note = ""
    if not force:
        changes = changed_inputs(info)
        if changes:
            raise StoreError(
                f"the inputs of the run in {info.run_dir} changed since it began: "
                + "; ".join(changes)
                + ". Put them back as they were, or resume with --force to re-plan what is "
                "left against them (records already in Zoho are kept and not sent again)"
            )
    else:
        changes = force_replan(info.run_dir, info.manifest_path)
        info = inspect(run_dir)
        note = "re-planned what is left: " + "; ".join(changes) if changes else ""
    default = REHEARSAL_SPEED if info.rehearsal else 1.0
    speed = clock_speed or info.clock_speed or default
    env = os.environ if env is None else env
    while True:
        progress = progress_factory()
        if note:
            progress.note(note)
            note = ""
        if info.rehearsal:
            report = await _rehearse(info, speed, wait, interrupt, progress)
        else:
            report = await _against_zoho(info, speed, wait, env, interrupt, progress)
        if report.outcome != "paused" or not wait:
            return report
        before, info = info.settled, inspect(run_dir)
        if info.settled == before:
            return report  # a whole quota period went by without a record: waiting won't help
