"""``zmigrate sandbox``: serve until SIGINT/SIGTERM, announcing itself in one JSON line."""

from __future__ import annotations

import asyncio
import signal
import sys
from dataclasses import asdict
from typing import Any, TextIO

import orjson

from zmigrate.sandbox.app import Sandbox, SandboxConfig, start_sandbox


def ready_line(sandbox: Sandbox) -> dict[str, Any]:
    """What a client needs to reach this sandbox (``ZOHO_*_URL`` and credentials)."""
    creds = asdict(sandbox.credentials)
    creds["organization_ids"] = list(creds["organization_ids"])
    return {
        "event": "ready",
        "urls": dict(sandbox.urls),
        "admin": sandbox.urls["api"] + "/__sandbox__/state",
        "credentials": creds,
        "clock_speed": sandbox.clock.speed,
        "data_center": sandbox.config.data_center,
    }


async def serve(config: SandboxConfig, out: TextIO = sys.stdout) -> None:
    """Run until a signal asks to stop; state is saved on the way out (``state_dir``)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with start_sandbox(config) as sandbox:
        out.write(orjson.dumps(ready_line(sandbox)).decode() + "\n")
        out.flush()
        await stop.wait()
