"""Rehearsal wiring: a run against an embedded sandbox that shares the run's clock.

The only bridge between the run (``zmigrate.run``, which never imports the sandbox) and the
sandbox: it starts one on the manifest's plans and hands ``execute`` its URLs and credentials.
The sandbox serves from a thread of its own with its own event loop: its row-by-row bulk
processing and durable writes never stall the engine's loop, so a rehearsal's timing is the
engine's. Both read the one clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import threading
from collections.abc import AsyncIterator
from concurrent.futures import Future
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson

from zmigrate.auth import Credentials
from zmigrate.clock import Clock
from zmigrate.manifest import PRODUCTS, Manifest, load_manifest
from zmigrate.progress import Progress
from zmigrate.report import RunReport
from zmigrate.run import execute
from zmigrate.sandbox import Sandbox, SandboxConfig, start_sandbox
from zmigrate.sandbox.faults import LATENCY_SIGMA

REHEARSAL_SPEED = 60.0
"""Default clock speed of `zmigrate run --sandbox`: a Zoho minute in a real second."""
SANDBOX_LATENCY_MS = 150.0
_OPTIONS = "rehearsal-options.json"
"""Latency of the embedded sandbox (Zoho milliseconds): a rehearsal paces like real Zoho."""


def sandbox_latency(latency_ms: float = SANDBOX_LATENCY_MS) -> dict[str, float]:
    """Mean Zoho seconds a call to a sandbox of ``latency_ms`` takes, per product (the plan of
    a rehearsal is priced at it): its latency is log-normal around that median."""
    mean = latency_ms / 1000 * math.exp(LATENCY_SIGMA**2 / 2)
    return dict.fromkeys(PRODUCTS, mean)


SANDBOX_STATE = "sandbox"
"""Where a rehearsal keeps its sandbox's state, inside the run directory."""


def sandbox_credentials(sandbox: Sandbox) -> Credentials:
    """Credentials pointing at an embedded sandbox (its URLs override the data center's)."""
    c = sandbox.credentials
    return Credentials(
        client_id=c.client_id,
        client_secret=c.client_secret,
        refresh_token=c.refresh_token,
        dc=c.data_center,
        organization_id=c.organization_id,
        accounts_url=sandbox.urls["accounts"],
        api_url=sandbox.urls["api"],
        content_url=sandbox.urls["content"],
    )


@asynccontextmanager
async def sandbox_in_thread(config: SandboxConfig, clock: Clock) -> AsyncIterator[Sandbox]:
    """A sandbox served by its own thread and event loop for the ``async with`` block.

    It is started and stopped on that loop; an error starting or stopping it is raised here.
    """
    ready: Future[tuple[Sandbox, asyncio.AbstractEventLoop, asyncio.Event]] = Future()
    ended: Future[None] = Future()

    async def serve() -> None:
        stop = asyncio.Event()
        async with start_sandbox(config, clock) as sb:
            ready.set_result((sb, asyncio.get_running_loop(), stop))
            await stop.wait()

    def thread_main() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:  # handed to the engine's thread, which raises it
            (ready if not ready.done() else ended).set_exception(exc)
        else:
            ended.set_result(None)

    thread = threading.Thread(target=thread_main, name="zmigrate sandbox", daemon=True)
    thread.start()
    sandbox, loop, stop = await asyncio.wrap_future(ready)
    try:
        yield sandbox
    finally:
        loop.call_soon_threadsafe(stop.set)
        await asyncio.wrap_future(ended)


async def execute_in_sandbox(
    manifest_path: str | os.PathLike[str],
    run_dir: str | os.PathLike[str],
    *,
    clock_speed: float,
    clock_start: float | None = None,
    resume: bool = False,
    progress: Progress | None = None,
    interrupt: asyncio.Event | None = None,
    **sandbox_options: Any,
) -> RunReport:
    """Rehearse against an embedded sandbox on the manifest's plans, sharing one clock.

    The sandbox keeps its state in ``RUN_DIR/sandbox``, every write durable before it is
    answered, so a resumed rehearsal, even of a run killed with `kill -9`, continues against
    the same records, quotas and clock (moved up to its last committed time; ``clock_start``
    sets it later still: `resume --wait` jumps to a quota's reset).
    """
    manifest = load_manifest(manifest_path)
    clock = Clock(clock_speed, start=clock_start)
    sandbox_options = _kept_options(Path(run_dir), sandbox_options, resume=resume)
    async with rehearsal_sandbox(manifest, run_dir, clock, **sandbox_options) as credentials:
        return await execute(
            manifest_path,
            run_dir,
            credentials,
            clock,
            resume=resume,
            progress=progress,
            interrupt=interrupt,
            latency=sandbox_latency(sandbox_options.get("latency_ms", SANDBOX_LATENCY_MS)),
        )


def _kept_options(run_dir: Path, options: dict[str, Any], *, resume: bool) -> dict[str, Any]:
    """A rehearsal's own sandbox options (``--fault-rate``), kept beside its sandbox state so
    that a resumed rehearsal goes on in the same world: given ones win, the first run's fill
    in the rest."""
    path = run_dir / SANDBOX_STATE / _OPTIONS
    if resume:
        with contextlib.suppress(FileNotFoundError):
            options = {**orjson.loads(path.read_bytes()), **options}
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(orjson.dumps(options))
    return options


@asynccontextmanager
async def rehearsal_sandbox(
    manifest: Manifest, run_dir: str | os.PathLike[str], clock: Clock, **sandbox_options: Any
) -> AsyncIterator[Credentials]:
    """The embedded sandbox of a rehearsal's run directory on the manifest's plans, restarted
    from ``RUN_DIR/sandbox`` when it was run before (`resume`, `verify`, `rollback`)."""
    t = manifest.target
    options: dict[str, Any] = {
        "books_plan": t.books_plan,
        "inventory_plan": t.inventory_plan,
        "crm_edition": t.crm_edition,
        "crm_users": t.crm_users,
        "data_center": t.data_center,
        "schema": str(t.schema_file) if t.schema_file else None,
        "latency_ms": SANDBOX_LATENCY_MS,
        "state_dir": str(Path(run_dir) / SANDBOX_STATE),
        **sandbox_options,
    }
    config = SandboxConfig(clock_speed=clock.speed, **options)
    async with sandbox_in_thread(config, clock) as sb:
        yield sandbox_credentials(sb)
