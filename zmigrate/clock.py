"""One clock for sandbox and engine, so tests move time instead of sleeping.

Time is counted in *Zoho seconds*. At ``speed`` X, X Zoho seconds pass per real second:
token lifetimes, minute windows, daily caps and latencies all shrink together, and an engine
that paces itself through the same clock keeps the same ratios it would have against real
Zoho. ``advance`` jumps forward (a test skipping to tomorrow) without sleeping.
"""

from __future__ import annotations

import asyncio
import time


class Clock:
    """Zoho time: ``now()`` in epoch seconds, ``sleep()`` and ``real()`` scaled by ``speed``."""

    def __init__(self, speed: float = 1.0, start: float | None = None) -> None:
        if speed <= 0:
            raise ValueError(f"clock speed must be positive, got {speed}")
        self.speed = float(speed)
        self._real0 = time.monotonic()
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
