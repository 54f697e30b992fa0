"""``execute``: one process of a run, start to report; and the signal-aware event loop the
command line runs it on."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import random
import signal
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TypeVar

from zmigrate.auth import Credentials
from zmigrate.checkpoint import AsyncRunStore, RunStatus, RunStore
from zmigrate.client import open_zoho
from zmigrate.clock import Clock
from zmigrate.errors import StoreError
from zmigrate.manifest import load_manifest
from zmigrate.progress import Progress
from zmigrate.report import RunReport
from zmigrate.retry import RetryPolicy
from zmigrate.run.accounting import Spend, Tally, carry_over, spend_now
from zmigrate.run.control import hold_one_window
from zmigrate.run.exports import export_sources
from zmigrate.run.finish import finish
from zmigrate.run.gil import loop_first
from zmigrate.run.preflight import check_scopes, prepare
from zmigrate.run.preparation import check_organization, limits_for, open_store
from zmigrate.run.scheduler import Engine
from zmigrate.scrub import register

T = TypeVar("T")


async def execute(
    manifest_path: str | os.PathLike[str],
    run_dir: str | os.PathLike[str],
    credentials: Credentials,
    clock: Clock,
    *,
    resume: bool = False,
    progress: Progress | None = None,
    policy: RetryPolicy | None = None,
    interrupt: asyncio.Event | None = None,
    seed: int | None = None,
    latency: Mapping[str, float] | None = None,
) -> RunReport:
    """Run (or, with ``resume``, continue) a migration; returns the report it also writes.

    ``interrupt`` set (Ctrl-C) stops the run cleanly: nothing new starts, in-flight work is
    cancelled and verified on resume. ``latency``: seconds a call takes per product, for the
    plan the report compares against (a rehearsal's sandbox), else the typical. Raises
    UsageError/StoreError/ConfigError before any record is sent when the manifest, run
    directory or credentials are wrong.
    """
    real0, zoho0, cpu0 = time.monotonic(), clock.now(), time.process_time()
    register(credentials.client_secret, credentials.refresh_token)
    manifest = load_manifest(manifest_path)
    org = manifest.target.books_organization_id or manifest.target.inventory_organization_id
    if credentials.organization_id is None and org:
        credentials = dataclasses.replace(credentials, organization_id=org)
    check_organization(manifest, credentials)
    run_path = Path(run_dir)
    if not resume and RunStore.exists(run_path):
        raise StoreError(
            f"{run_path} already holds a run; use `zmigrate resume {run_path}` or a new --run-dir"
        )
    progress = progress or Progress()
    tallies = {s.name: Tally() for s in manifest.steps}
    if resume:
        carry_over(run_path, tallies)
    spend = Spend()
    rng = random.Random(seed)
    async with open_zoho(credentials, clock, limits_for(manifest), policy, rng=rng) as zoho:
        zoho.transport.observers.append(spend.observe)
        if resume:
            hold_one_window(zoho)
        try:
            await check_scopes(zoho, manifest)
            if not resume:  # a resumed run was checked, and its fields made, when it started
                await prepare(zoho, manifest, progress)
            local = await export_sources(manifest, zoho, run_path, tallies, progress)
            store, the_plan = open_store(manifest, local, run_path, resume=resume, latency=latency)
        except BaseException:
            progress.close()
            raise
        spend.attach(store)
        astore = AsyncRunStore(store)
        try:
            await astore.recover()
            await astore.set_status(RunStatus.RUNNING)
            collisions = {s.name: s.collisions for s in the_plan.steps}
            engine = Engine(local, astore, zoho, clock, progress, tallies, collisions)
            watcher = asyncio.create_task(_watch(interrupt, engine)) if interrupt else None
            try:
                with loop_first():
                    await engine.run()
            finally:
                if watcher is not None:
                    watcher.cancel()
            progress.quota(spend_now(zoho))
            return await finish(
                engine, astore, manifest, run_path, clock, zoho0, real0, spend.calls, cpu0
            )
        finally:
            progress.close()
            await astore.aclose()


async def _watch(interrupt: asyncio.Event, engine: Engine) -> None:
    await interrupt.wait()
    engine.interrupt()


def run_interruptible(start: Callable[[asyncio.Event], Awaitable[T]]) -> T:
    """Run ``start(interrupt)`` on a fresh event loop; SIGINT/SIGTERM set ``interrupt``."""

    async def main() -> T:
        interrupt = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, interrupt.set)
        try:
            return await start(interrupt)
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    return asyncio.run(main())
