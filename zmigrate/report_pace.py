"""How close to its ceiling a run went, in figures that cannot exceed the ceiling they judge.

Per product: Books/Inventory calls per full 60 s window while the product had ready work (a
step of it running), as a fraction of the 100 a window allows, and the time from its first
call to its last answer against the plan's. Per step, as its method is limited: a
Books/Inventory step's calls per window it touched (at most 100, whatever other steps did in
those windows), a CRM REST step's calls in flight on average (at most the edition's places),
a Bulk step's jobs and rows per second. A product that ran well over its plan is judged
paced by the machine when this process's own work, in Zoho time, accounts for the overrun:
a rehearsal at clock x60 turns each CPU second of the engine (and of its sandbox) into a
Zoho minute that real Zoho's pace does not have. Pure.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from zmigrate.manifest import Product
from zmigrate.quotas import MINUTE, PER_MINUTE_CAP

FINANCE = (Product.BOOKS, Product.INVENTORY)
BULK_METHODS = ("bulk", "bulk_read")


class PaceKind(StrEnum):
    """What a step's pace figure counts."""

    WINDOWS = "calls_per_window"
    IN_FLIGHT = "calls_in_flight"
    BULK = "rows_per_second"


@dataclass(frozen=True)
class StepPace:
    """One step's pace: ``value`` out of ``limit`` (the cap it cannot exceed; None for bulk)."""

    kind: PaceKind
    value: float
    limit: float | None
    jobs: int = 0

    def text(self) -> str:
        if self.kind is PaceKind.BULK:
            return f"{self.jobs} job{'s' if self.jobs != 1 else ''}, {self.value:,.0f} rows/s"
        if self.kind is PaceKind.WINDOWS:
            return f"{self.value:.0f}/window"
        return f"{self.value:.1f} of {self.limit:g} in flight"


def step_pace(
    product: str,
    method: str,
    requests: int,
    seconds: float,
    busy_seconds: float,
    concurrency: int,
    records: int,
    jobs: int,
) -> StepPace | None:
    """The figure a step is judged by; None when it made no call."""
    if requests <= 0:
        return None
    if method in BULK_METHODS:
        return StepPace(PaceKind.BULK, records / seconds if seconds > 0 else 0.0, None, jobs)
    if product in FINANCE:
        # its calls over the windows its time touched: no window holds more than the cap
        windows = max(1, math.ceil(seconds / MINUTE - 1e-9))
        return StepPace(PaceKind.WINDOWS, requests / windows, PER_MINUTE_CAP)
    if seconds <= 0 or concurrency <= 0:
        return None
    return StepPace(PaceKind.IN_FLIGHT, busy_seconds / seconds, concurrency)


def merge_spans(spans: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Overlapping or touching (start, end) spans joined, in order."""
    merged: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def full_windows(
    sends: Sequence[float], ready: Sequence[tuple[float, float]], period: float = MINUTE
) -> tuple[int, int]:
    """(calls, windows) over the ``period``-long windows from the first call that end by the
    last call and lie wholly inside the time the product had ready work (``ready`` spans)."""
    if not sends:
        return 0, 0
    times = sorted(sends)
    first, last = times[0], times[-1]
    spans = merge_spans(ready)
    calls = windows = 0
    for k in range(int((last - first) // period)):
        start, end = first + k * period, first + (k + 1) * period
        if any(a <= start and end <= b for a, b in spans):
            windows += 1
            calls += bisect.bisect_left(times, end) - bisect.bisect_left(times, start)
    return calls, windows


@dataclass(frozen=True)
class ProductPace:
    """One product in this process: its calls, their time, and its full windows' fill."""

    product: str
    calls: int
    seconds: float
    """Zoho seconds from the product's first call to its last answer."""
    planned_seconds: float | None = None
    window_calls: int = 0
    windows: int = 0

    @property
    def fill(self) -> float | None:
        """Calls per full window while the product had ready work ÷ the cap (Books/Inventory)."""
        if self.windows <= 0:
            return None
        return self.window_calls / (self.windows * PER_MINUTE_CAP)

    @property
    def estimate_ratio(self) -> float | None:
        """The plan's time ÷ the time taken (1.0: the plan was exact)."""
        if self.planned_seconds is None or self.seconds <= 0:
            return None
        return self.planned_seconds / self.seconds


OVERRUN = 1.05
"""A product that took longer than its plan by more than this factor is explained."""
MACHINE_SHARE = 2.0
"""CPU seconds understate the machine's part (a process waits for a core on a busy machine,
and for its disk): an overrun up to this many times the CPU's Zoho seconds is the machine's."""


def machine_seconds(cpu_seconds: float, clock_speed: float) -> float:
    """Zoho seconds this process's own work took: its CPU seconds at the clock's speed."""
    return cpu_seconds * clock_speed


def paced_by_machine(planned: float | None, seconds: float, machine: float) -> bool:
    """Whether a product's time was set by the machine rather than by Zoho: it ran over its
    plan by more than 5 %, and by no more than ``MACHINE_SHARE`` × the machine's Zoho seconds."""
    if planned is None or seconds <= planned * OVERRUN:
        return False
    return seconds - planned <= MACHINE_SHARE * machine
