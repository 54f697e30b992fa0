"""One clock for sandbox and engine, so tests move time instead of sleeping.

Time is counted in *Zoho seconds*. At ``speed`` X, X Zoho seconds pass per real second:
token lifetimes, minute windows, daily caps and latencies all shrink together, and an engine
that paces itself through the same clock keeps the same ratios it would have against real
Zoho. ``advance`` jumps forward (a test skipping to tomorrow) without sleeping.

A clock given no ``start`` begins now, or at ``$ZMIGRATE_CLOCK_START`` (epoch seconds) when
set: tests and rehearsals then see the same UTC time of day (daily caps reset at midnight)
whenever they run. Never set it against Zoho.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections.abc import Mapping

from zmigrate.errors import UsageError

START_ENV = "ZMIGRATE_CLOCK_START"
"""Environment variable: the fixed instant (epoch seconds) where unanchored clocks begin."""


def fixed_start(env: Mapping[str, str] = os.environ) -> float | None:
    """``$ZMIGRATE_CLOCK_START`` as epoch seconds, or None when unset."""
    raw = env.get(START_ENV, "").strip()
    if not raw:
        return None
    try:
        start = float(raw)
    except ValueError:
        start = math.nan
    if not math.isfinite(start):
        raise UsageError(
            f"{START_ENV}={raw!r} is not epoch seconds; set it to a number such as "
            "1767571500 (2026-01-05 00:05 UTC) or unset it"
        )
    return start


class Clock:
    """Zoho time: ``now()`` in epoch seconds, ``sleep()`` and ``real()`` scaled by ``speed``."""

    def __init__(self, speed: float = 1.0, start: float | None = None) -> None:
        if speed <= 0:
            raise ValueError(f"clock speed must be positive, got {speed}")
        self.speed = float(speed)
        self._real0 = time.monotonic()
        if start is None:
            start = fixed_start()
        self._epoch0 = time.time() if start is None else float(start)
        self._offset = 0.0

    def now(self) -> float:
        """Zoho time as epoch seconds."""
        return self._epoch0 + (time.monotonic() - self._real0) * self.speed + self._offset

    def advance(self, seconds: float) -> None:
        """Jump forward without waiting (tests, the sandbox admin API)."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds

    def real(self, seconds: float) -> float:
        """Real seconds that ``seconds`` of Zoho time take at this speed."""
        return seconds / self.speed

    async def sleep(self, seconds: float) -> None:
        """Sleep for ``seconds`` of Zoho time."""
        await asyncio.sleep(max(0.0, seconds) / self.speed)
