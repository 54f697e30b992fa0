"""Fixed instants for test clocks, so no test depends on the hour it runs at.

Books and Inventory daily caps reset at UTC midnight (Zoho time): a fast clock started at the
real time would cross midnight during a run begun in the evening. Every test clock starts at
``T0`` (or ``at(...)``), and ``conftest`` sets ``$ZMIGRATE_CLOCK_START`` to ``T0`` for the
clocks tests do not build themselves (in-process sandboxes, the CLI's subprocesses).
"""

from __future__ import annotations

from zmigrate.quotas import DAY

DAY0 = 1_767_571_200.0
"""2026-01-05 00:00:00 UTC, a Monday."""


def at(hhmm: str, day: int = 0) -> float:
    """Epoch seconds of ``"HH:MM"`` UTC on ``DAY0`` plus ``day`` days."""
    hours, minutes = (int(part) for part in hhmm.split(":"))
    return DAY0 + day * DAY + hours * 3600 + minutes * 60


T0 = at("00:05")
"""Where test clocks start: 23 h 55 min (Zoho time) before the next daily-cap reset."""
